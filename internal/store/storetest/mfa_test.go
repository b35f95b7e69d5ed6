package storetest

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestMFAStoreSuiteOnMemory checks the MFA conformance suite itself against
// the in-memory reference implementation, until a real backend runs it.
func TestMFAStoreSuiteOnMemory(t *testing.T) {
	RunMFAStoreTests(t, func(t *testing.T) store.MFAStore { return NewMemoryMFAStore() })
}
