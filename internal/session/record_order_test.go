package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// recordBackends are the session stores the revocation-order tests run on.
var recordBackends = []struct {
	name string
	open func(t *testing.T) store.SessionStore
}{
	{"SQLite", func(t *testing.T) store.SessionStore {
		st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "sessions.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"PostgreSQL", func(t *testing.T) store.SessionStore {
		st, err := sqlstore.OpenPostgres(t.Context(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// recorder is a Record hook that remembers what it recorded and fails
// while failing is set; before is called with each batch first.
type recorder struct {
	failing  bool
	recorded map[string]bool
	before   func(batch []store.Session)
}

var errLogDown = errors.New("revocation log down")

func (r *recorder) record(_ context.Context, ss []store.Session, _ []audit.Event) error {
	if r.before != nil {
		r.before(ss)
	}
	if r.failing {
		return errLogDown
	}
	for _, s := range ss {
		r.recorded[s.ID] = true
	}
	return nil
}

// checkNoneForgotten fails t if a record of ids is gone from st without
// its revocation recorded, and returns how many are gone.
func checkNoneForgotten(t *testing.T, st store.SessionStore, r *recorder, ids []string) (gone int) {
	t.Helper()
	for _, id := range ids {
		_, err := st.GetSession(t.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			gone++
			if !r.recorded[id] {
				t.Errorf("record %s was deleted without its revocation being recorded", id)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return gone
}

// TestRevokeClientRecordsBeforeDeleting: when the revocation log fails,
// RevokeClient returns its error and deletes no grant whose revocation
// is not recorded, so a retry after the log recovers revokes them all.
// (It used to delete the grants first and record after: a failure left
// them deleted with no event, and a retry found nothing to record.)
func TestRevokeClientRecordsBeforeDeleting(t *testing.T) {
	for _, b := range recordBackends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			r := &recorder{recorded: map[string]bool{}}
			m := session.NewManager(st, session.Config{Record: r.record}, nil, nil)
			var ids []string
			for _, u := range []string{"alice", "bob", "carol"} {
				g, err := m.CreateGrant(t.Context(), session.GrantSpec{UserID: u, ClientID: "client-a", Scope: "openid"})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, g.ID)
			}
			r.failing = true
			if _, err := m.RevokeClient(t.Context(), "client-a", "revoked"); !errors.Is(err, errLogDown) {
				t.Fatalf("RevokeClient = %v, want the log's error", err)
			}
			if gone := checkNoneForgotten(t, st, r, ids); gone != 0 {
				t.Errorf("%d grants deleted although their revocation failed", gone)
			}
			r.failing = false
			n, err := m.RevokeClient(t.Context(), "client-a", "revoked")
			if err != nil || n != len(ids) {
				t.Fatalf("retried RevokeClient = %d, %v; want %d, nil", n, err, len(ids))
			}
			if gone := checkNoneForgotten(t, st, r, ids); gone != len(ids) {
				t.Errorf("%d of %d grants deleted by the retry", gone, len(ids))
			}
		})
	}
}

// TestRevokeUserRecordsLateRecords: a record created while RevokeUser
// runs (after it listed the user's records) is deleted only once its
// revocation is recorded; if that fails, it is left in place and a retry
// revokes it. (RevokeUser used to delete it with the others and record it
// after the fact: a failure there left it deleted with no event.)
func TestRevokeUserRecordsLateRecords(t *testing.T) {
	for _, b := range recordBackends {
		t.Run(b.name, func(t *testing.T) {
			for _, except := range []bool{false, true} {
				st := b.open(t)
				r := &recorder{recorded: map[string]bool{}}
				m := session.NewManager(st, session.Config{
					Record:       r.record,
					OnRevokeUser: func(context.Context, string) error { return nil },
				}, nil, nil)
				var ids []string
				for range 3 {
					ids = append(ids, create(t, m, "u").Session.ID)
				}
				exceptID := ""
				if except {
					exceptID = ids[0]
				}
				// A login lands between the list and the deletion; the
				// log fails from then on.
				r.before = func([]store.Session) {
					if len(ids) == 3 {
						ids = append(ids, create(t, m, "u").Session.ID)
						return
					}
					r.failing = true
				}
				if _, err := m.RevokeUser(t.Context(), "u", exceptID, "revoked"); !errors.Is(err, errLogDown) {
					t.Fatalf("RevokeUser(except %q) = %v, want the log's error", exceptID, err)
				}
				checkNoneForgotten(t, st, r, ids)
				if _, err := st.GetSession(t.Context(), ids[3]); err != nil {
					t.Errorf("the late record: %v, want it left in place for the retry", err)
				}
				r.failing, r.before = false, nil
				if _, err := m.RevokeUser(t.Context(), "u", exceptID, "revoked"); err != nil {
					t.Fatalf("retried RevokeUser = %v", err)
				}
				want := ids
				if except {
					want = ids[1:]
					if _, err := st.GetSession(t.Context(), exceptID); err != nil {
						t.Errorf("the excepted record: %v", err)
					}
				}
				if gone := checkNoneForgotten(t, st, r, want); gone != len(want) {
					t.Errorf("except %v: %d of %d records deleted after the retry", except, gone, len(want))
				}
			}
		})
	}
}
