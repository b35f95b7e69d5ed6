package revocation

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/verifier"
)

// The server's set is the verifier's (verifier.RevocationSet), fed with
// the log's events through feedEvents: these tests check that the
// server-side events mean there what they mean to the server.

func TestSetRevoked(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := verifier.NewRevocationSet(0)
	s.Add(t0, 0, feedEvents([]store.Revocation{
		{SessionID: "sid-1", At: t0, Expires: t0.Add(6 * time.Minute)},
		{TokenID: "jti-1", At: t0, Expires: t0.Add(3 * time.Minute)},
		{UserID: "user-1", At: t0, Expires: t0.Add(6 * time.Minute)},
	})...)
	tests := []struct {
		name          string
		sid, jti, sub string
		iat           time.Time
		want          bool
	}{
		{"revoked session", "sid-1", "x", "user-2", t0.Add(-time.Minute), true},
		{"other session", "sid-2", "x", "user-2", t0.Add(-time.Minute), false},
		{"revoked token", "sid-2", "jti-1", "user-2", t0, true},
		{"user token issued before", "sid-2", "x", "user-1", t0.Add(-time.Second), true},
		{"user token issued in the same second, no sid", "", "x", "user-1", t0, true},
		{"user token with a sid issued in the same second (its session's event covers it)", "sid-2", "x", "user-1", t0, false},
		{"user token without sid issued after", "", "x", "user-1", t0.Add(time.Second), false},
		{"user token issued after", "sid-2", "x", "user-1", t0.Add(time.Second), false},
		{"empty values match nothing", "", "", "", t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Revoked(tt.sid, tt.jti, tt.sub, tt.iat); got != tt.want {
				t.Errorf("Revoked(%q, %q, %q, %v) = %v, want %v", tt.sid, tt.jti, tt.sub, tt.iat, got, tt.want)
			}
		})
	}
	if n := s.Prune(t0.Add(4 * time.Minute)); n != 1 {
		t.Errorf("Prune after the token's expiry removed %d events, want 1", n)
	}
	if s.Revoked("", "jti-1", "", t0) {
		t.Error("token event still present after its expiry")
	}
	if !s.Revoked("sid-1", "", "", t0) {
		t.Error("session event pruned before its expiry")
	}
	if n := s.Prune(t0.Add(7 * time.Minute)); n != 2 || s.Len() != 0 {
		t.Errorf("final Prune removed %d, left %d; want 2 and 0", n, s.Len())
	}
}

func TestSetUserEventKeepsLatest(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := verifier.NewRevocationSet(0)
	s.Add(t0, 0, feedEvents([]store.Revocation{{UserID: "u", At: t0.Add(time.Minute), Expires: t0.Add(10 * time.Minute)}})...)
	s.Add(t0, 0, feedEvents([]store.Revocation{{UserID: "u", At: t0, Expires: t0.Add(5 * time.Minute)}})...) // older event arrives late
	if !s.Revoked("", "", "u", t0.Add(30*time.Second)) {
		t.Error("a late, older event replaced the newer revocation time")
	}
	s.Prune(t0.Add(6 * time.Minute))
	if !s.Revoked("", "", "u", t0) {
		t.Error("the older event's expiry pruned the newer event")
	}
}
