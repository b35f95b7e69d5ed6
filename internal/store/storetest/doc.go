// Package storetest holds the conformance suites that every backend of
// package store must pass: RunUserStoreTests, RunSessionStoreTests,
// RunKeyStoreTests, RunRefreshTokenStoreTests, RunRevocationStoreTests,
// RunClientStoreTests, RunAuthCodeStoreTests, RunConsentStoreTests,
// RunMailOutboxTests, RunOneTimeTokenStoreTests and
// RunOneTimeTokenMailStoreTests;
// the SQL backends also pass RunBulkStoreTests, for their all-or-none
// bulk inserts (CreateSessions, CreateRefreshTokens).
//
// A backend's test file calls each suite with a constructor that returns a
// fresh, empty, migrated store and registers its own cleanup:
//
//	func TestUserStore(t *testing.T) {
//		storetest.RunUserStoreTests(t, func(t *testing.T) store.UserStore {
//			return newTestStore(t)
//		})
//	}
//
// Every contract line written in the interfaces' doc comments is a named
// subtest here; a backend that passes the suites is done, and a bug found
// once in any backend becomes a new case here rather than a backend-only
// test.
//
// The suites make these choices, which every backend must meet:
//
//   - Not found is errors.Is(err, store.ErrNotFound) and a taken unique key
//     is errors.Is(err, store.ErrConflict); a backend may wrap either.
//   - Claims and session data round-trip through JSON. Claims come back as
//     encoding/json decodes them into a map[string]any, so numbers are
//     float64 (an int written comes back as a float64 of the same value);
//     session data is compared semantically (as decoded JSON), so a backend
//     may reformat it (PostgreSQL's jsonb reorders keys and drops spaces).
//   - Timestamps come back in UTC and within a millisecond of what was
//     written: a backend may truncate or round to milliseconds. A time that
//     is zero until something happens (a key's RetiredAt, a refresh
//     token's RotatedAt) comes back zero until then.
//   - Byte fields (hashes, sealed keys and successors, JWKs) come back byte
//     for byte, NULs and invalid UTF-8 included; nil and empty are the
//     same.
//   - Expiry is the same everywhere: a record whose expiry time equals now
//     has expired, as in store.Session.Expired. Every expiry case (the
//     DeleteExpired* sweeps, CountSessions, ListRevocations) puts records
//     a millisecond either side of now and exactly at it.
//
// The suites never sleep: every time is fixed. The times lie in 2099, so a
// backend that expires records natively by the wall clock (Redis TTLs)
// keeps them for the length of the test. Ids and emails are random
// (crypto/rand), and the expiry and counting cases measure differences
// rather than totals, so the suites can also run against a shared database
// that other tests have written to: a sweep case sweeps once before
// creating its records, ListKeys cases look only at their own keys, and
// revocation cases read the log from just before their first event. The
// sweeps, CountSessions, RotateKey (which retires every current key of an
// algorithm, the suite's earlier ones included) and the revocation
// cursors see the whole store, though, so two suites must not run against
// the same database at the same time; within a suite, subtests run one
// after another; only the concurrency cases (UpdateSessionData,
// RotateRefreshToken, concurrent AppendRevocations against a polling
// reader) run goroutines, against the one store of their subtest.
package storetest
