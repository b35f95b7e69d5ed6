package storetest

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// CascadeStore is a backend that keeps users, clients, consents and
// authorization codes together (the SQL stores).
type CascadeStore interface {
	store.UserStore
	store.ClientStore
	store.ConsentStore
	store.AuthCodeStore
}

// RunDeleteCascadeTests checks that deleting a user or a client removes
// the rows that refer to it (consents, authorization codes) and nothing
// of anyone else, and that deleting an unknown id removes nothing.
// newStore must return a fresh store on every call and register its own
// cleanup with t.Cleanup.
func RunDeleteCascadeTests(t *testing.T, newStore func(t *testing.T) CascadeStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, st CascadeStore)
	}{
		{"DeleteUserRemovesConsentsAndCodes", testDeleteUserCascade},
		{"DeleteClientRemovesConsentsAndCodes", testDeleteClientCascade},
		{"DeleteUnknownRemovesNothing", testDeleteUnknownCascade},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// cascadeFixture is two users and two clients, each user having consented
// to each client and holding a code of each.
type cascadeFixture struct {
	users   [2]store.User
	clients [2]store.Client
	codes   map[[2]int]store.AuthCode
}

func newCascadeFixture(t *testing.T, st CascadeStore) cascadeFixture {
	t.Helper()
	f := cascadeFixture{codes: map[[2]int]store.AuthCode{}}
	for i := range f.users {
		f.users[i] = newUser(t)
		mustCreateUser(t, st, f.users[i])
		f.clients[i] = newClient(t, baseTime())
		mustCreateClient(t, st, f.clients[i])
	}
	for u := range f.users {
		for c := range f.clients {
			consent := newConsent(t, f.users[u].ID, baseTime())
			consent.ClientID = f.clients[c].ID
			noErr(t, "PutConsent", st.PutConsent(t.Context(), consent))
			code := newAuthCode(t, baseTime())
			code.UserID, code.ClientID = f.users[u].ID, f.clients[c].ID
			mustCreateAuthCode(t, st, code)
			f.codes[[2]int{u, c}] = code
		}
	}
	return f
}

// check checks that exactly the consents and codes of the pairs that keep
// reports true are still there.
func (f cascadeFixture) check(t *testing.T, st CascadeStore, keep func(u, c int) bool) {
	t.Helper()
	for u := range f.users {
		for c := range f.clients {
			_, cerr := st.GetConsent(t.Context(), f.users[u].ID, f.clients[c].ID)
			_, aerr := st.GetAuthCode(t.Context(), f.codes[[2]int{u, c}].Hash)
			if keep(u, c) {
				noErr(t, "GetConsent of a pair not deleted", cerr)
				noErr(t, "GetAuthCode of a pair not deleted", aerr)
			} else {
				wantErr(t, "GetConsent after the delete", cerr, store.ErrNotFound)
				wantErr(t, "GetAuthCode after the delete", aerr, store.ErrNotFound)
			}
		}
	}
}

func testDeleteUserCascade(t *testing.T, st CascadeStore) {
	f := newCascadeFixture(t, st)
	noErr(t, "DeleteUser", st.DeleteUser(t.Context(), f.users[0].ID))
	f.check(t, st, func(u, _ int) bool { return u != 0 })
	list, err := st.ListUserConsents(t.Context(), f.users[0].ID)
	noErr(t, "ListUserConsents", err)
	if len(list) != 0 {
		t.Errorf("deleted user still has %d consents", len(list))
	}
	mustGetUser(t, st, f.users[1].ID)
}

func testDeleteClientCascade(t *testing.T, st CascadeStore) {
	f := newCascadeFixture(t, st)
	noErr(t, "DeleteClient", st.DeleteClient(t.Context(), f.clients[1].ID))
	f.check(t, st, func(_, c int) bool { return c != 1 })
	mustGetClient(t, st, f.clients[0].ID)
}

func testDeleteUnknownCascade(t *testing.T, st CascadeStore) {
	f := newCascadeFixture(t, st)
	wantErr(t, "DeleteUser of an unknown id", st.DeleteUser(t.Context(), randomID(t, "u-")), store.ErrNotFound)
	wantErr(t, "DeleteClient of an unknown id", st.DeleteClient(t.Context(), randomID(t, "client-")), store.ErrNotFound)
	f.check(t, st, func(int, int) bool { return true })
}
