package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestRevocationNotRecordedRevokesNothing: when the Record hook (the
// revocation log) fails, Revoke and RevokeUser return its error and leave
// every record in place, so the caller answers with an error and a retry
// revokes for real. (They used to delete the records and report success
// whether or not the revocation was stored.)
func TestRevocationNotRecordedRevokesNothing(t *testing.T) {
	errDown := errors.New("log down")
	var failing bool
	var recorded []string
	st := newStore(t)
	clk := clocktest.New(start)
	m := session.NewManager(st, session.Config{
		Record: func(_ context.Context, ss []store.Session, _ []audit.Event) error {
			if failing {
				return errDown
			}
			for _, s := range ss {
				recorded = append(recorded, s.ID)
			}
			return nil
		},
		OnRevokeUser: func(context.Context, string) error {
			if failing {
				return errDown
			}
			return nil
		},
	}, nil, clk.Now)
	a, b := create(t, m, "u"), create(t, m, "u")
	failing = true
	if err := m.Revoke(t.Context(), "u", a.Session.ID, "revoked"); !errors.Is(err, errDown) {
		t.Errorf("Revoke = %v, want the log's error", err)
	}
	for _, except := range []string{a.Session.ID, ""} {
		if _, err := m.RevokeUser(t.Context(), "u", except, "revoked"); !errors.Is(err, errDown) {
			t.Errorf("RevokeUser(except %q) = %v, want the log's error", except, err)
		}
	}
	for _, s := range []session.Created{a, b} {
		if !alive(t, m, s.Secret) {
			t.Errorf("session %s was revoked although its revocation was not recorded", s.Session.ID)
		}
	}
	failing = false
	if err := m.Revoke(t.Context(), "u", a.Session.ID, "revoked"); err != nil {
		t.Fatal(err)
	}
	if alive(t, m, a.Secret) {
		t.Error("the retried revocation did not end the session")
	}
	if len(recorded) != 1 || recorded[0] != a.Session.ID {
		t.Errorf("recorded %v, want [%s]", recorded, a.Session.ID)
	}
}
