package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestMFAStoreSuiteOnMemory checks the MFA conformance suite itself against
// the in-memory reference implementation, until a real backend runs it.
func TestMFAStoreSuiteOnMemory(t *testing.T) {
	RunMFAStoreTests(t, func(t *testing.T) store.MFAStore { return NewMemoryMFAStore() })
}

// TestMFADeleteUserSuite checks RunMFADeleteUserTests itself against a
// composite that purges the memory store on DeleteUser (with purge false
// the suite fails, as it must for a backend that forgets the cleanup).
func TestMFADeleteUserSuite(t *testing.T) {
	RunMFADeleteUserTests(t, func(t *testing.T) MFAUserStore {
		return &suiteCheckUsers{MemoryMFAStore: NewMemoryMFAStore(), users: map[string]store.User{}, purge: true}
	})
}

// suiteCheckUsers adds the few user operations RunMFADeleteUserTests calls
// to a MemoryMFAStore; it exists only to check the suite.
type suiteCheckUsers struct {
	store.UserStore // nil: the suite calls only CreateUser and DeleteUser
	*MemoryMFAStore
	users map[string]store.User
	purge bool
}

func (s *suiteCheckUsers) CreateUser(_ context.Context, u store.User) error {
	s.users[u.ID] = u
	return nil
}

func (s *suiteCheckUsers) DeleteUser(_ context.Context, id string) error {
	delete(s.users, id)
	if !s.purge {
		return nil
	}
	m := s.MemoryMFAStore
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.totp, id)
	delete(m.codes, id)
	m.passkeys = slices.DeleteFunc(m.passkeys, func(c store.PasskeyCredential) bool { return c.UserID == id })
	return nil
}
