package storetest

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// FullStore is a backend that keeps every kind of record, as the SQL
// store does: each store interface, the bulk inserts and the cascading
// deletes.
type FullStore interface {
	BulkStore
	CascadeStore
	store.KeyStore
	store.RevocationStore
	store.LeaseStore
	store.MFAStore
	store.OneTimeTokenMailStore
	HooksStore
	store.EventStore
	store.UserEventStore
	store.SessionEventStore
	store.RevocationEventStore
}

// RunAll runs every conformance suite of this package against the
// stores newStore returns. newStore must return a fresh, empty store on
// every call and register its own cleanup with t.Cleanup.
func RunAll(t *testing.T, newStore func(t *testing.T) FullStore) {
	t.Run("UserStore", func(t *testing.T) {
		RunUserStoreTests(t, func(t *testing.T) store.UserStore { return newStore(t) })
	})
	t.Run("SessionStore", func(t *testing.T) {
		RunSessionStoreTests(t, func(t *testing.T) store.SessionStore { return newStore(t) })
	})
	t.Run("KeyStore", func(t *testing.T) {
		RunKeyStoreTests(t, func(t *testing.T) store.KeyStore { return newStore(t) })
	})
	t.Run("RefreshTokenStore", func(t *testing.T) {
		RunRefreshTokenStoreTests(t, func(t *testing.T) store.RefreshTokenStore { return newStore(t) })
	})
	t.Run("RevocationStore", func(t *testing.T) {
		RunRevocationStoreTests(t, func(t *testing.T) store.RevocationStore { return newStore(t) })
	})
	t.Run("ClientStore", func(t *testing.T) {
		RunClientStoreTests(t, func(t *testing.T) store.ClientStore { return newStore(t) })
	})
	t.Run("AuthCodeStore", func(t *testing.T) {
		RunAuthCodeStoreTests(t, func(t *testing.T) store.AuthCodeStore { return newStore(t) })
	})
	t.Run("ConsentStore", func(t *testing.T) {
		RunConsentStoreTests(t, func(t *testing.T) store.ConsentStore { return newStore(t) })
	})
	t.Run("DeleteCascade", func(t *testing.T) {
		RunDeleteCascadeTests(t, func(t *testing.T) CascadeStore { return newStore(t) })
	})
	t.Run("BulkStore", func(t *testing.T) {
		RunBulkStoreTests(t, func(t *testing.T) BulkStore { return newStore(t) })
	})
	t.Run("LeaseStore", func(t *testing.T) {
		RunLeaseStoreTests(t, func(t *testing.T) store.LeaseStore { return newStore(t) })
	})
	t.Run("MailOutbox", func(t *testing.T) {
		RunMailOutboxTests(t, func(t *testing.T) store.MailOutbox { return newStore(t) })
	})
	t.Run("MFAStore", func(t *testing.T) {
		RunMFAStoreTests(t, func(t *testing.T) store.MFAStore { return newStore(t) })
	})
	t.Run("MFADeleteUser", func(t *testing.T) {
		RunMFADeleteUserTests(t, func(t *testing.T) MFAUserStore { return newStore(t) })
	})
	t.Run("OneTimeTokenStore", func(t *testing.T) {
		RunOneTimeTokenStoreTests(t, func(t *testing.T) store.OneTimeTokenStore { return newStore(t) })
	})
	t.Run("OneTimeTokenMailStore", func(t *testing.T) {
		RunOneTimeTokenMailStoreTests(t, func(t *testing.T) store.OneTimeTokenMailStore { return newStore(t) })
	})
	t.Run("HooksStore", func(t *testing.T) {
		RunHooksStoreTests(t, func(t *testing.T) HooksStore { return newStore(t) })
	})
	t.Run("EventStore", func(t *testing.T) {
		RunEventStoreTests(t, func(t *testing.T) store.EventStore { return newStore(t) })
	})
	t.Run("EventTx", func(t *testing.T) {
		RunEventTxStoreTests(t, func(t *testing.T) EventTxStore { return newStore(t) })
	})
}
