package session_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

func TestRevokeClient(t *testing.T) {
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var revoked []string
	m := session.NewManager(st, session.Config{
		OnRevoke: func(_ context.Context, ss []store.Session) {
			for _, s := range ss {
				revoked = append(revoked, s.ID)
			}
		},
	}, nil, nil)
	grant := func(user, client string) store.Session {
		t.Helper()
		g, err := m.CreateGrant(t.Context(), session.GrantSpec{UserID: user, ClientID: client, Scope: "openid"})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a1, a2 := grant("alice", "client-a"), grant("bob", "client-a")
	b := grant("alice", "client-b")
	firstParty := grant("alice", "")
	cookie, err := m.CreateCookie(t.Context(), "alice", session.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}

	if n, err := m.RevokeClient(t.Context(), "", "revoked"); err != nil || n != 0 {
		t.Fatalf(`RevokeClient("") = %d, %v; want 0, nil`, n, err)
	}
	n, err := m.RevokeClient(t.Context(), "client-a", "revoked")
	if err != nil || n != 2 {
		t.Fatalf("RevokeClient = %d, %v; want 2, nil", n, err)
	}
	slices.Sort(revoked)
	want := []string{a1.ID, a2.ID}
	slices.Sort(want)
	if !slices.Equal(revoked, want) {
		t.Errorf("OnRevoke got %v, want the client's grants %v", revoked, want)
	}
	for _, id := range want {
		if _, err := m.Get(t.Context(), id); err == nil {
			t.Errorf("grant %s is still live", id)
		}
	}
	for _, id := range []string{b.ID, firstParty.ID} {
		if _, err := m.Get(t.Context(), id); err != nil {
			t.Errorf("grant %s of another client or first party: %v", id, err)
		}
	}
	if _, err := m.AuthenticateCookie(t.Context(), cookie.Secret); err != nil {
		t.Errorf("cookie session: %v", err)
	}
}
