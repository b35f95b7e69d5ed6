package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunKeyStoreTests runs the KeyStore conformance suite. newStore must
// return a fresh, empty store on every call and register its own cleanup
// with t.Cleanup.
func RunKeyStoreTests(t *testing.T, newStore func(t *testing.T) store.KeyStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.KeyStore)
	}{
		{"CreateThenListOldestFirst", testCreateListKeys},
		{"CreateRetiredKey", testCreateRetiredKey},
		{"BytesRoundTripExactly", testKeyBytes},
		{"TimestampsMillisecondUTC", testKeyTimestamps},
		{"CreateDuplicateID", testCreateKeyDuplicateID},
		{"RotateRetiresSameAlgorithmOnly", testRotateKey},
		{"RotateFirstKey", testRotateFirstKey},
		{"RotateTwice", testRotateKeyTwice},
		{"RotateDuplicateIDRetiresNothing", testRotateKeyDuplicateID},
		{"DeleteExpired", testDeleteExpiredKeys},
		{"DeleteExpiredAfterRotate", testDeleteExpiredKeysAfterRotate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// testRetireAfter is the retireAfter the suite rotates with.
const testRetireAfter = 25 * time.Hour

// newKey returns a current key of the algorithm alg, created at createdAt,
// with a random id and random sealed bytes.
func newKey(t *testing.T, alg string, createdAt time.Time) store.SigningKey {
	t.Helper()
	id := randomID(t, alg+"-")
	return store.SigningKey{
		ID:        id,
		Algorithm: alg,
		// A sealed key is binary: a nonce and ciphertext.
		SealedPrivateKey: append([]byte{0x00, 0xff, 0x80}, randomHash(t)...),
		PublicJWK:        fmt.Appendf(nil, `{"kty":"OKP","crv":"Ed25519","kid":%q,"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, id),
		CreatedAt:        createdAt,
	}
}

// retired returns k retired at at, expiring retireAfter later, as RotateKey
// leaves it.
func retired(k store.SigningKey, at time.Time, retireAfter time.Duration) store.SigningKey {
	k.RetiredAt = at
	k.ExpiresAt = at.Add(retireAfter)
	return k
}

// mustCreateKey creates k and fails the test on error.
func mustCreateKey(t *testing.T, st store.KeyStore, k store.SigningKey) {
	t.Helper()
	noErr(t, "CreateKey", st.CreateKey(t.Context(), k))
}

// mustRotateKey rotates to next with testRetireAfter and fails the test on
// error.
func mustRotateKey(t *testing.T, st store.KeyStore, next store.SigningKey) {
	t.Helper()
	noErr(t, "RotateKey", st.RotateKey(t.Context(), next, testRetireAfter))
}

// listKeys returns the stored keys, failing the test on error or if they
// are not oldest first. The store may hold keys other than the test's.
func listKeys(t *testing.T, st store.KeyStore) []store.SigningKey {
	t.Helper()
	ks, err := st.ListKeys(t.Context())
	noErr(t, "ListKeys", err)
	for i := 1; i < len(ks); i++ {
		if ks[i].CreatedAt.Before(ks[i-1].CreatedAt) {
			t.Fatalf("ListKeys: key %q (created %v) listed after %q (created %v), want oldest first",
				ks[i].ID, ks[i].CreatedAt, ks[i-1].ID, ks[i-1].CreatedAt)
		}
	}
	return ks
}

// ourKeys returns the keys of ks whose ids are in want, in the order of ks.
func ourKeys(ks, want []store.SigningKey) []store.SigningKey {
	var out []store.SigningKey
	for _, k := range ks {
		if slices.ContainsFunc(want, func(w store.SigningKey) bool { return w.ID == k.ID }) {
			out = append(out, k)
		}
	}
	return out
}

// checkStoredKeys lists the keys and reports a mismatch unless those with
// the ids of want are exactly want, in the same order (oldest first). Keys
// with other ids are ignored.
func checkStoredKeys(t *testing.T, st store.KeyStore, want ...store.SigningKey) {
	t.Helper()
	got := ourKeys(listKeys(t, st), want)
	if len(got) != len(want) {
		ids := make([]string, len(got))
		for i, k := range got {
			ids[i] = k.ID
		}
		t.Fatalf("ListKeys holds %d of the test's keys %v, want %d", len(got), ids, len(want))
	}
	for i := range want {
		t.Run(fmt.Sprintf("key%d", i), func(t *testing.T) {
			checkKey(t, got[i], want[i])
		})
	}
}

// wantKeysGone fails the test if ListKeys holds a key with the id of one of
// gone.
func wantKeysGone(t *testing.T, st store.KeyStore, gone ...store.SigningKey) {
	t.Helper()
	for _, k := range ourKeys(listKeys(t, st), gone) {
		t.Errorf("key %q (expires %v) is still listed, want it removed", k.ID, k.ExpiresAt)
	}
}

func testCreateListKeys(t *testing.T, st store.KeyStore) {
	oldest := newKey(t, "EdDSA", baseTime())
	middle := newKey(t, "RS256", baseTime().Add(time.Minute))
	newest := newKey(t, "ES256", baseTime().Add(2*time.Minute))
	// Created out of order.
	mustCreateKey(t, st, newest)
	mustCreateKey(t, st, oldest)
	mustCreateKey(t, st, middle)
	checkStoredKeys(t, st, oldest, middle, newest)
}

// testCreateRetiredKey checks that CreateKey stores a key as given, retired
// or not.
func testCreateRetiredKey(t *testing.T, st store.KeyStore) {
	k := retired(newKey(t, "RS256", baseTime()), baseTime().Add(time.Hour), testRetireAfter)
	mustCreateKey(t, st, k)
	checkStoredKeys(t, st, k)
}

func testKeyBytes(t *testing.T, st store.KeyStore) {
	k := newKey(t, "EdDSA", baseTime())
	k.SealedPrivateKey = make([]byte, 0, 512)
	for i := range 512 {
		k.SealedPrivateKey = append(k.SealedPrivateKey, byte(i)) // every byte value, NULs included
	}
	k.PublicJWK = []byte(` {"kty":"OKP", "kid":"ü\u00e9", "x":"a"} ` + "\n")
	mustCreateKey(t, st, k)
	checkStoredKeys(t, st, k)
}

func testKeyTimestamps(t *testing.T, st store.KeyStore) {
	zone := time.FixedZone("UTC+9", 9*3600)
	k := newKey(t, "ES256", time.Date(2099, time.July, 8, 9, 10, 11, 123456789, zone))
	k.RetiredAt = k.CreatedAt.Add(1500 * time.Microsecond)
	k.ExpiresAt = k.CreatedAt.Add(time.Hour + 999999*time.Nanosecond)
	mustCreateKey(t, st, k)
	checkStoredKeys(t, st, k)
}

func testCreateKeyDuplicateID(t *testing.T, st store.KeyStore) {
	k := newKey(t, "EdDSA", baseTime())
	mustCreateKey(t, st, k)
	dup := newKey(t, "RS256", baseTime().Add(time.Minute))
	dup.ID = k.ID
	wantErr(t, "CreateKey with a taken id", st.CreateKey(t.Context(), dup), store.ErrConflict)
	checkStoredKeys(t, st, k)
}

// testRotateKey rotates EdDSA over two current EdDSA keys, a retired EdDSA
// key and current keys of the other algorithms: only the current EdDSA
// keys are retired.
func testRotateKey(t *testing.T, st store.KeyStore) {
	old := retired(newKey(t, "EdDSA", baseTime()), baseTime().Add(time.Hour), time.Hour)
	cur1 := newKey(t, "EdDSA", baseTime().Add(time.Hour))
	cur2 := newKey(t, "EdDSA", baseTime().Add(2*time.Hour))
	rsa := newKey(t, "RS256", baseTime().Add(3*time.Hour))
	ec := newKey(t, "ES256", baseTime().Add(4*time.Hour))
	for _, k := range []store.SigningKey{old, cur1, cur2, rsa, ec} {
		mustCreateKey(t, st, k)
	}
	next := newKey(t, "EdDSA", baseTime().Add(5*time.Hour))
	mustRotateKey(t, st, next)

	checkStoredKeys(t, st,
		old, // already retired: untouched
		retired(cur1, next.CreatedAt, testRetireAfter),
		retired(cur2, next.CreatedAt, testRetireAfter),
		rsa, ec, // other algorithms: still current
		next)
}

func testRotateFirstKey(t *testing.T, st store.KeyStore) {
	next := newKey(t, "ES256", baseTime())
	mustRotateKey(t, st, next)
	checkStoredKeys(t, st, next)
}

func testRotateKeyTwice(t *testing.T, st store.KeyStore) {
	first := newKey(t, "RS256", baseTime())
	second := newKey(t, "RS256", baseTime().Add(time.Hour))
	third := newKey(t, "RS256", baseTime().Add(2*time.Hour))
	mustCreateKey(t, st, first)
	mustRotateKey(t, st, second)
	noErr(t, "RotateKey", st.RotateKey(t.Context(), third, time.Minute))
	checkStoredKeys(t, st,
		retired(first, second.CreatedAt, testRetireAfter),
		retired(second, third.CreatedAt, time.Minute),
		third)
}

func testRotateKeyDuplicateID(t *testing.T, st store.KeyStore) {
	cur := newKey(t, "ES256", baseTime())
	other := newKey(t, "RS256", baseTime().Add(time.Minute))
	mustCreateKey(t, st, cur)
	mustCreateKey(t, st, other)
	next := newKey(t, "ES256", baseTime().Add(time.Hour))
	next.ID = other.ID
	wantErr(t, "RotateKey to a taken id", st.RotateKey(t.Context(), next, testRetireAfter), store.ErrConflict)
	checkStoredKeys(t, st, cur, other)
}

func testDeleteExpiredKeys(t *testing.T, st store.KeyStore) {
	now := baseTime().Add(48 * time.Hour)
	// Sweep first so that only our keys count, even in a shared database.
	_, err := st.DeleteExpiredKeys(t.Context(), now)
	noErr(t, "DeleteExpiredKeys", err)

	created := baseTime()
	retiredUntil := func(alg string, expires time.Time) store.SigningKey {
		created = created.Add(time.Second) // distinct, so the list order is known
		k := newKey(t, alg, created)
		k.RetiredAt, k.ExpiresAt = created.Add(time.Hour), expires
		return k
	}
	live := []store.SigningKey{
		newKey(t, "EdDSA", baseTime().Add(-time.Hour)), // current, created long ago
		retiredUntil("RS256", now.Add(time.Millisecond)),
		retiredUntil("ES256", now.Add(time.Hour)),
	}
	expired := []store.SigningKey{
		retiredUntil("EdDSA", now.Add(-time.Minute)),
		retiredUntil("RS256", now.Add(-time.Millisecond)),
		retiredUntil("ES256", now), // ExpiresAt is now: passed
	}
	for _, k := range append(slices.Clone(live), expired...) {
		mustCreateKey(t, st, k)
	}
	n, err := st.DeleteExpiredKeys(t.Context(), now)
	noErr(t, "DeleteExpiredKeys", err)
	if n != len(expired) {
		t.Errorf("DeleteExpiredKeys removed %d, want %d", n, len(expired))
	}
	wantKeysGone(t, st, expired...)
	checkStoredKeys(t, st, live...)

	n, err = st.DeleteExpiredKeys(t.Context(), now)
	noErr(t, "second DeleteExpiredKeys", err)
	if n != 0 {
		t.Errorf("second DeleteExpiredKeys removed %d, want 0", n)
	}
}

// testDeleteExpiredKeysAfterRotate checks that a key retired by RotateKey
// is kept until the instant retireAfter has passed, and that the key that
// replaced it is kept after.
func testDeleteExpiredKeysAfterRotate(t *testing.T, st store.KeyStore) {
	old := newKey(t, "RS256", baseTime())
	next := newKey(t, "RS256", baseTime().Add(time.Hour))
	mustCreateKey(t, st, old)
	mustRotateKey(t, st, next)
	expires := next.CreatedAt.Add(testRetireAfter)

	_, err := st.DeleteExpiredKeys(t.Context(), expires.Add(-time.Millisecond))
	noErr(t, "DeleteExpiredKeys before the retired key expires", err)
	checkStoredKeys(t, st, retired(old, next.CreatedAt, testRetireAfter), next)

	_, err = st.DeleteExpiredKeys(t.Context(), expires)
	noErr(t, "DeleteExpiredKeys when the retired key expires", err)
	wantKeysGone(t, st, old)
	checkStoredKeys(t, st, next)
}
