package verifier

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/jose"
)

func TestRevokedBeforeStart(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	exp := t0.Add(6 * time.Minute)
	f.revoke("sid", "sid-revoked", t0, exp)
	f.revoke("jti", "jti-revoked", t0, exp)
	f.revoke("user", "user-revoked", t0, exp)
	for _, mode := range []RevocationMode{RevocationStream, RevocationPoll} {
		t.Run(string(mode), func(t *testing.T) {
			v := newTestVerifier(t, f, c, func(cfg *Config) { cfg.Revocations.Mode = mode })
			checkRevocations(t, f, v, c.Now())
		})
	}
}

// checkRevocations checks the three kinds of revocation against the
// events revoke() made for sid-revoked, jti-revoked and user-revoked at
// t0.
func checkRevocations(t *testing.T, f *fakeIssuer, v *Verifier, now time.Time) {
	t.Helper()
	tests := []struct {
		name    string
		edit    func(map[string]any)
		revoked bool
	}{
		{"revoked sid", func(m map[string]any) { m["sid"] = "sid-revoked" }, true},
		{"revoked jti", func(m map[string]any) { m["jti"] = "jti-revoked" }, true},
		{"revoked user, token issued before", func(m map[string]any) {
			m["sub"], m["iat"] = "user-revoked", t0.Add(-time.Second).Unix()
		}, true},
		{"revoked user, token without sid issued at the same second", func(m map[string]any) {
			m["sub"], m["iat"] = "user-revoked", t0.Unix()
			delete(m, "sid")
		}, true},
		{"revoked user, token with a sid issued at the same second (its session's event covers it)", func(m map[string]any) {
			m["sub"], m["iat"] = "user-revoked", t0.Unix()
		}, false},
		{"revoked user, token issued after", func(m map[string]any) {
			m["sub"], m["iat"] = "user-revoked", t0.Add(time.Second).Unix()
		}, false},
		{"other session", func(m map[string]any) { m["sid"] = "sid-other" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := f.claims(now)
			tt.edit(cl)
			_, err := v.Verify(context.Background(), f.mint(cl))
			if tt.revoked {
				if !errors.Is(err, ErrRevoked) || !errors.Is(err, ErrInvalidToken) {
					t.Errorf("error %v, want ErrRevoked", err)
				}
			} else if err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// TestRevokedWhileRunning revokes after the verifier started and waits,
// a few milliseconds at a time, for each mode's documented bound.
func TestRevokedWhileRunning(t *testing.T) {
	tests := []struct {
		mode  RevocationMode
		bound time.Duration
	}{
		// Stream: pushed at once; allow generously for a loaded CI
		// machine, but far below the poll interval of 2s set below.
		{RevocationStream, time.Second},
		// Poll: one interval (20ms here) plus a request.
		{RevocationPoll, time.Second},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			f := newFakeIssuer(t, jose.EdDSA)
			c := clocktest.New(t0)
			v := newTestVerifier(t, f, c, func(cfg *Config) {
				cfg.Revocations.Mode = tt.mode
				if tt.mode == RevocationStream {
					// Polling is then too slow to explain a pass.
					cfg.Revocations.PollInterval = 2 * time.Second
				}
			})
			if tt.mode == RevocationStream {
				eventually(t, 5*time.Second, "stream open", func() bool { return v.sub.streaming.Load() })
			}
			exp := t0.Add(6 * time.Minute)
			f.revoke("sid", "sid-revoked", t0, exp)
			f.revoke("jti", "jti-revoked", t0, exp)
			f.revoke("user", "user-revoked", t0, exp)
			tok := f.mint(f.claims(c.Now()))
			cl := f.claims(c.Now())
			cl["sid"] = "sid-revoked"
			revoked := f.mint(cl)
			took := eventually(t, tt.bound, "revocation seen", func() bool {
				_, err := v.Verify(context.Background(), revoked)
				return errors.Is(err, ErrRevoked)
			})
			t.Logf("%s: revocation took effect after %s", tt.mode, took)
			eventually(t, tt.bound, "all three events", func() bool { return v.revs.Len() == 3 })
			checkRevocations(t, f, v, c.Now())
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Errorf("unrevoked token: %v", err)
			}
		})
	}
}

func TestStreamFallsBackToPolling(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	f.noStream = true
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, nil)
	polls := f.feedPolls.Load()
	f.revoke("sid", "sid-revoked", t0, t0.Add(time.Hour))
	cl := f.claims(c.Now())
	cl["sid"] = "sid-revoked"
	tok := f.mint(cl)
	eventually(t, 2*time.Second, "revocation seen by polling", func() bool {
		_, err := v.Verify(context.Background(), tok)
		return errors.Is(err, ErrRevoked)
	})
	if f.feedPolls.Load() == polls {
		t.Error("no poll after the stream was refused")
	}
	if n := f.streams.Load(); n != 1 {
		t.Errorf("stream tried %d times after a 404, want 1", n)
	}
}

func TestStreamReconnectsWithLastEventID(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	f.dropStream = true // every stream ends after its backlog
	f.revoke("sid", "sid-a", t0, t0.Add(time.Hour))
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, nil)
	eventually(t, 2*time.Second, "two stream connections", func() bool { return f.streams.Load() >= 2 })
	f.revoke("sid", "sid-b", t0, t0.Add(time.Hour))
	eventually(t, 2*time.Second, "second event", func() bool { return v.revs.Revoked("sid-b", "", "", t0) })
	f.mu.Lock()
	ids := append([]string(nil), f.lastEventIDs...)
	f.mu.Unlock()
	// The initial poll read event 1, so every connection resumes after
	// it at least.
	for i, id := range ids {
		if id == "" || id == "0" {
			t.Errorf("connection %d sent Last-Event-ID %q, want the cursor", i, id)
		}
	}
}

func TestRevocationSetPrunes(t *testing.T) {
	s := NewRevocationSet(30 * time.Second)
	s.Add(t0, 0,
		RevocationEvent{Cursor: 1, SID: "s", At: t0, Expires: t0.Add(time.Minute)},
		RevocationEvent{Cursor: 2, JTI: "j", At: t0, Expires: t0.Add(2 * time.Minute)},
		RevocationEvent{Cursor: 5, User: "u", At: t0, Expires: t0.Add(3 * time.Minute)},
		RevocationEvent{Cursor: 3, User: "u", At: t0.Add(-time.Hour), Expires: t0.Add(time.Second)}, // older, late
	)
	if s.Cursor() != 5 || s.Len() != 3 {
		t.Fatalf("position %d, len %d; want 5, 3", s.Cursor(), s.Len())
	}
	if !s.Revoked("", "", "u", t0.Add(-time.Minute)) {
		t.Error("a late older user event replaced the newer one")
	}
	// Kept for the grace past expiry: a token accepted with leeway past
	// exp is still known to be revoked.
	s.Prune(t0.Add(time.Minute + 29*time.Second))
	if !s.Revoked("s", "", "", t0) {
		t.Error("session event dropped within the grace")
	}
	s.Prune(t0.Add(time.Minute + 30*time.Second))
	if s.Revoked("s", "", "", t0) || s.Len() != 2 {
		t.Errorf("session event kept after expiry plus grace (len %d)", s.Len())
	}
	s.Prune(t0.Add(time.Hour))
	if s.Len() != 0 {
		t.Errorf("len %d after everything expired", s.Len())
	}
}

func TestFailClosedAfter(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, func(cfg *Config) {
		cfg.Revocations.Mode = RevocationPoll
		cfg.Revocations.PollInterval = time.Hour // no poll during the test
		cfg.Revocations.FailClosedAfter = time.Minute
	})
	tok := f.mint(f.claims(c.Now()))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	c.Advance(61 * time.Second)
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("error %v, want ErrUnavailable only", err)
	}
}

func TestCloseStopsSubscriber(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	v, err := New(context.Background(), testConfig(f, clocktest.New(t0), nil))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "stream open", func() bool { return v.sub.streaming.Load() })
	done := make(chan struct{})
	go func() { v.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	v.Close() // idempotent
}

func TestNewReadsTheWholeFeed(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	f.pageSize = 10
	const n = 10*maxPagesPerPoll + 7
	for i := range n {
		f.revoke("jti", "jti-"+itoa(int64(i)), t0, t0.Add(time.Hour))
	}
	v := newTestVerifier(t, f, clocktest.New(t0), func(cfg *Config) { cfg.Revocations.Mode = RevocationPoll })
	if got := v.revs.Len(); got != n {
		t.Fatalf("after New the set holds %d events, want all %d", got, n)
	}
	if got := v.revs.Cursor(); got != n {
		t.Errorf("cursor %d, want %d", got, n)
	}
}

// TestStreamGapReadsFeed: the stream leaves out an event (as Gatehouse's
// did when a burst overflowed its buffer); the verifier notices the gap in
// cursors and reads the feed instead of moving its cursor past the event.
// The old verifier moved to the highest cursor it saw and accepted the
// missed session's tokens until they expired.
func TestStreamGapReadsFeed(t *testing.T) {
	for _, withPrev := range []bool{true, false} {
		name := "consecutive cursors"
		if withPrev {
			name = "prev cursor"
		}
		t.Run(name, func(t *testing.T) {
			f := newFakeIssuer(t, jose.EdDSA)
			f.streamDrop = map[int]bool{2: true}
			f.streamPrev = withPrev
			c := clocktest.New(t0)
			v := newTestVerifier(t, f, c, func(cfg *Config) {
				cfg.Revocations.PollInterval = time.Hour // only the gap can explain a pass
			})
			eventually(t, 5*time.Second, "stream open", func() bool { return v.sub.streaming.Load() })
			exp := t0.Add(6 * time.Minute)
			f.revoke("sid", "sid-1", t0, exp)
			f.revoke("sid", "sid-2", t0, exp) // the stream loses this one
			f.revoke("sid", "sid-3", t0, exp)
			token := func(sid string) string {
				cl := f.claims(c.Now())
				cl["sid"] = sid
				return f.mint(cl)
			}
			eventually(t, 5*time.Second, "third event", func() bool {
				_, err := v.Verify(context.Background(), token("sid-3"))
				return errors.Is(err, ErrRevoked)
			})
			for _, sid := range []string{"sid-1", "sid-2"} {
				if _, err := v.Verify(context.Background(), token(sid)); !errors.Is(err, ErrRevoked) {
					t.Errorf("%s: %v, want ErrRevoked", sid, err)
				}
			}
			if v.sub.gaps.Load() != 1 {
				t.Errorf("%d gaps noticed, want 1", v.sub.gaps.Load())
			}
			if pos := v.revs.Cursor(); pos != 3 {
				t.Errorf("cursor %d, want 3", pos)
			}
		})
	}
}
