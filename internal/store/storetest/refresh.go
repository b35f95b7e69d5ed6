package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunRefreshTokenStoreTests runs the RefreshTokenStore conformance suite.
// newStore must return a fresh, empty store on every call and register its
// own cleanup with t.Cleanup.
func RunRefreshTokenStoreTests(t *testing.T, newStore func(t *testing.T) store.RefreshTokenStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.RefreshTokenStore)
	}{
		{"CreateThenGet", testCreateGetRefreshToken},
		{"GetNotFound", testGetRefreshTokenNotFound},
		{"HashComparedExactly", testRefreshTokenHashExact},
		{"CreateDuplicateHash", testCreateRefreshTokenDuplicate},
		{"TimestampsMillisecondUTC", testRefreshTokenTimestamps},
		{"Rotate", testRotateRefreshToken},
		{"RotateChain", testRotateRefreshTokenChain},
		{"RotateNotFoundWritesNothing", testRotateRefreshTokenNotFound},
		{"RotateAgainConflictWritesNothing", testRotateRefreshTokenAgain},
		{"RotateSuccessorHashTakenWritesNothing", testRotateRefreshTokenSuccessorTaken},
		{"RotateConcurrentOneWins", testRotateRefreshTokenConcurrent},
		{"DeleteSessionTokens", testDeleteSessionRefreshTokens},
		{"DeleteSessionTokensNone", testDeleteSessionRefreshTokensNone},
		{"DeleteExpired", testDeleteExpiredRefreshTokens},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// testRefreshLifetime is the lifetime of the suite's refresh tokens.
const testRefreshLifetime = 30 * 24 * time.Hour

// newRefreshToken returns a current token of the grant sessionID, issued at
// createdAt, with a random hash.
func newRefreshToken(t *testing.T, sessionID string, createdAt time.Time) store.RefreshToken {
	t.Helper()
	return store.RefreshToken{
		Hash:      randomHash(t),
		SessionID: sessionID,
		CreatedAt: createdAt,
		ExpiresAt: createdAt.Add(testRefreshLifetime),
	}
}

// newSealed returns random bytes standing for a sealed token response.
func newSealed(t *testing.T) []byte {
	t.Helper()
	return append([]byte{0x00, 0xff, 0x80}, randomHash(t)...)
}

// rotatedTo returns rt as RotateRefreshToken leaves it when it rotates rt
// to successor with sealed.
func rotatedTo(rt store.RefreshToken, successor store.RefreshToken, sealed []byte) store.RefreshToken {
	rt.RotatedAt = successor.CreatedAt
	rt.SealedSuccessor = sealed
	return rt
}

// mustCreateRefreshToken creates rt and fails the test on error.
func mustCreateRefreshToken(t *testing.T, st store.RefreshTokenStore, rt store.RefreshToken) {
	t.Helper()
	noErr(t, "CreateRefreshToken", st.CreateRefreshToken(t.Context(), rt))
}

// checkStoredRefreshToken reports a mismatch unless the token with want's
// hash is want.
func checkStoredRefreshToken(t *testing.T, st store.RefreshTokenStore, want store.RefreshToken) {
	t.Helper()
	got, err := st.GetRefreshToken(t.Context(), want.Hash)
	noErr(t, "GetRefreshToken", err)
	checkRefreshToken(t, got, want)
}

// wantRefreshTokenGone fails the test unless the token with the given hash
// is ErrNotFound.
func wantRefreshTokenGone(t *testing.T, st store.RefreshTokenStore, hash []byte) {
	t.Helper()
	_, err := st.GetRefreshToken(t.Context(), hash)
	wantErr(t, "GetRefreshToken of a token that must not exist", err, store.ErrNotFound)
}

func testCreateGetRefreshToken(t *testing.T, st store.RefreshTokenStore) {
	rt := newRefreshToken(t, randomID(t, "s-"), baseTime())
	other := newRefreshToken(t, rt.SessionID, baseTime().Add(time.Minute))
	mustCreateRefreshToken(t, st, rt)
	mustCreateRefreshToken(t, st, other)
	// A new token is current: RotatedAt zero, SealedSuccessor empty.
	checkStoredRefreshToken(t, st, rt)
	checkStoredRefreshToken(t, st, other)
}

func testGetRefreshTokenNotFound(t *testing.T, st store.RefreshTokenStore) {
	mustCreateRefreshToken(t, st, newRefreshToken(t, randomID(t, "s-"), baseTime()))
	wantRefreshTokenGone(t, st, randomHash(t))
}

// testRefreshTokenHashExact checks that hashes are compared as bytes: a
// prefix, an extension or a change of case of the hash finds nothing.
func testRefreshTokenHashExact(t *testing.T, st store.RefreshTokenStore) {
	rt := newRefreshToken(t, randomID(t, "s-"), baseTime())
	rt.Hash = append([]byte{0x00, 'a', 0xff}, rt.Hash[3:]...)
	rt.Hash[len(rt.Hash)-1] = 0x00
	mustCreateRefreshToken(t, st, rt)
	checkStoredRefreshToken(t, st, rt)

	upper := slices.Clone(rt.Hash)
	upper[1] = 'A'
	for name, hash := range map[string][]byte{
		"prefix":    rt.Hash[:len(rt.Hash)-1],
		"extension": append(slices.Clone(rt.Hash), 0x00),
		"case":      upper,
	} {
		_, err := st.GetRefreshToken(t.Context(), hash)
		wantErr(t, "GetRefreshToken of the hash's "+name, err, store.ErrNotFound)
	}
}

func testCreateRefreshTokenDuplicate(t *testing.T, st store.RefreshTokenStore) {
	rt := newRefreshToken(t, randomID(t, "s-"), baseTime())
	mustCreateRefreshToken(t, st, rt)
	dup := newRefreshToken(t, randomID(t, "s-"), baseTime().Add(time.Hour))
	dup.Hash = rt.Hash
	wantErr(t, "CreateRefreshToken with a taken hash", st.CreateRefreshToken(t.Context(), dup), store.ErrConflict)
	checkStoredRefreshToken(t, st, rt)
}

func testRefreshTokenTimestamps(t *testing.T, st store.RefreshTokenStore) {
	zone := time.FixedZone("UTC-7", -7*3600)
	rt := newRefreshToken(t, randomID(t, "s-"), time.Date(2099, time.August, 9, 10, 11, 12, 345678901, zone))
	rt.ExpiresAt = rt.CreatedAt.Add(time.Hour + 999999*time.Nanosecond)
	mustCreateRefreshToken(t, st, rt)
	checkStoredRefreshToken(t, st, rt)

	succ := newRefreshToken(t, rt.SessionID, rt.CreatedAt.Add(1500*time.Microsecond))
	sealed := newSealed(t)
	noErr(t, "RotateRefreshToken", st.RotateRefreshToken(t.Context(), rt.Hash, sealed, succ))
	checkStoredRefreshToken(t, st, rotatedTo(rt, succ, sealed))
	checkStoredRefreshToken(t, st, succ)
}

func testRotateRefreshToken(t *testing.T, st store.RefreshTokenStore) {
	old := newRefreshToken(t, randomID(t, "s-"), baseTime())
	other := newRefreshToken(t, old.SessionID, baseTime())
	mustCreateRefreshToken(t, st, old)
	mustCreateRefreshToken(t, st, other)

	succ := newRefreshToken(t, old.SessionID, baseTime().Add(time.Hour))
	sealed := make([]byte, 0, 1024)
	for i := range 1024 {
		sealed = append(sealed, byte(i)) // every byte value, NULs included
	}
	noErr(t, "RotateRefreshToken", st.RotateRefreshToken(t.Context(), old.Hash, sealed, succ))
	checkStoredRefreshToken(t, st, rotatedTo(old, succ, sealed))
	checkStoredRefreshToken(t, st, succ)
	checkStoredRefreshToken(t, st, other)
}

func testRotateRefreshTokenChain(t *testing.T, st store.RefreshTokenStore) {
	sid := randomID(t, "s-")
	chain := []store.RefreshToken{newRefreshToken(t, sid, baseTime())}
	mustCreateRefreshToken(t, st, chain[0])
	var sealed [][]byte
	for i := 1; i <= 3; i++ {
		succ := newRefreshToken(t, sid, baseTime().Add(time.Duration(i)*time.Hour))
		s := newSealed(t)
		noErr(t, fmt.Sprintf("RotateRefreshToken #%d", i), st.RotateRefreshToken(t.Context(), chain[i-1].Hash, s, succ))
		chain = append(chain, succ)
		sealed = append(sealed, s)
	}
	for i, rt := range chain[:len(chain)-1] {
		checkStoredRefreshToken(t, st, rotatedTo(rt, chain[i+1], sealed[i]))
	}
	checkStoredRefreshToken(t, st, chain[len(chain)-1])
}

func testRotateRefreshTokenNotFound(t *testing.T, st store.RefreshTokenStore) {
	succ := newRefreshToken(t, randomID(t, "s-"), baseTime())
	err := st.RotateRefreshToken(t.Context(), randomHash(t), newSealed(t), succ)
	wantErr(t, "RotateRefreshToken of an unknown hash", err, store.ErrNotFound)
	wantRefreshTokenGone(t, st, succ.Hash)
}

// testRotateRefreshTokenAgain rotates the same token twice: the second call
// conflicts, and neither its successor nor its sealed copy is stored.
func testRotateRefreshTokenAgain(t *testing.T, st store.RefreshTokenStore) {
	old := newRefreshToken(t, randomID(t, "s-"), baseTime())
	mustCreateRefreshToken(t, st, old)
	first := newRefreshToken(t, old.SessionID, baseTime().Add(time.Hour))
	firstSealed := newSealed(t)
	noErr(t, "RotateRefreshToken", st.RotateRefreshToken(t.Context(), old.Hash, firstSealed, first))

	second := newRefreshToken(t, old.SessionID, baseTime().Add(2*time.Hour))
	err := st.RotateRefreshToken(t.Context(), old.Hash, newSealed(t), second)
	wantErr(t, "second RotateRefreshToken of the same token", err, store.ErrConflict)

	checkStoredRefreshToken(t, st, rotatedTo(old, first, firstSealed))
	checkStoredRefreshToken(t, st, first)
	wantRefreshTokenGone(t, st, second.Hash)
}

// testRotateRefreshTokenSuccessorTaken rotates to a successor whose hash is
// taken: the call conflicts and the old token stays current.
func testRotateRefreshTokenSuccessorTaken(t *testing.T, st store.RefreshTokenStore) {
	old := newRefreshToken(t, randomID(t, "s-"), baseTime())
	taken := newRefreshToken(t, randomID(t, "s-"), baseTime())
	mustCreateRefreshToken(t, st, old)
	mustCreateRefreshToken(t, st, taken)
	succ := newRefreshToken(t, old.SessionID, baseTime().Add(time.Hour))
	succ.Hash = taken.Hash
	err := st.RotateRefreshToken(t.Context(), old.Hash, newSealed(t), succ)
	wantErr(t, "RotateRefreshToken to a taken hash", err, store.ErrConflict)
	checkStoredRefreshToken(t, st, old)
	checkStoredRefreshToken(t, st, taken)
}

// testRotateRefreshTokenConcurrent races several rotations of one token,
// as a client retrying a refresh would: exactly one wins, and only its
// successor is stored.
func testRotateRefreshTokenConcurrent(t *testing.T, st store.RefreshTokenStore) {
	const workers = 8
	old := newRefreshToken(t, randomID(t, "s-"), baseTime())
	mustCreateRefreshToken(t, st, old)
	succs := make([]store.RefreshToken, workers)
	sealed := make([][]byte, workers)
	errs := make([]error, workers)
	for i := range workers {
		succs[i] = newRefreshToken(t, old.SessionID, baseTime().Add(time.Duration(i+1)*time.Minute))
		sealed[i] = newSealed(t)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			<-start
			errs[i] = st.RotateRefreshToken(t.Context(), old.Hash, sealed[i], succs[i])
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("rotations %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, fmt.Sprintf("losing rotation %d", i), err, store.ErrConflict)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}
	checkStoredRefreshToken(t, st, rotatedTo(old, succs[winner], sealed[winner]))
	for i, succ := range succs {
		if i == winner {
			checkStoredRefreshToken(t, st, succ)
		} else {
			wantRefreshTokenGone(t, st, succ.Hash)
		}
	}
}

// grantTokens creates a rotated chain of three tokens of a new grant,
// oldest first, and returns them as stored.
func grantTokens(t *testing.T, st store.RefreshTokenStore) []store.RefreshToken {
	t.Helper()
	sid := randomID(t, "s-")
	first := newRefreshToken(t, sid, baseTime())
	mustCreateRefreshToken(t, st, first)
	out := []store.RefreshToken{first}
	for i := 1; i <= 2; i++ {
		succ := newRefreshToken(t, sid, baseTime().Add(time.Duration(i)*time.Hour))
		sealed := newSealed(t)
		noErr(t, "RotateRefreshToken", st.RotateRefreshToken(t.Context(), out[i-1].Hash, sealed, succ))
		out[i-1] = rotatedTo(out[i-1], succ, sealed)
		out = append(out, succ)
	}
	return out
}

func testDeleteSessionRefreshTokens(t *testing.T, st store.RefreshTokenStore) {
	mine := grantTokens(t, st)
	theirs := grantTokens(t, st)
	noErr(t, "DeleteSessionRefreshTokens", st.DeleteSessionRefreshTokens(t.Context(), mine[0].SessionID))
	for _, rt := range mine {
		wantRefreshTokenGone(t, st, rt.Hash)
	}
	for _, rt := range theirs {
		checkStoredRefreshToken(t, st, rt)
	}
	noErr(t, "second DeleteSessionRefreshTokens", st.DeleteSessionRefreshTokens(t.Context(), mine[0].SessionID))
}

func testDeleteSessionRefreshTokensNone(t *testing.T, st store.RefreshTokenStore) {
	theirs := grantTokens(t, st)
	noErr(t, "DeleteSessionRefreshTokens of a grant with no tokens",
		st.DeleteSessionRefreshTokens(t.Context(), randomID(t, "s-")))
	for _, rt := range theirs {
		checkStoredRefreshToken(t, st, rt)
	}
}

func testDeleteExpiredRefreshTokens(t *testing.T, st store.RefreshTokenStore) {
	now := baseTime().Add(time.Hour)
	// Sweep first so that only our tokens count, even in a shared database.
	_, err := st.DeleteExpiredRefreshTokens(t.Context(), now)
	noErr(t, "DeleteExpiredRefreshTokens", err)

	sid := randomID(t, "s-")
	expiring := func(expires time.Time) store.RefreshToken {
		rt := newRefreshToken(t, sid, baseTime())
		rt.ExpiresAt = expires
		mustCreateRefreshToken(t, st, rt)
		return rt
	}
	// rotated rotates a new token expiring at expires to a successor that
	// lives on, and returns the rotated token and the successor.
	rotated := func(expires time.Time) (store.RefreshToken, store.RefreshToken) {
		rt := expiring(expires)
		succ := newRefreshToken(t, sid, baseTime().Add(time.Minute))
		succ.ExpiresAt = now.Add(time.Hour)
		sealed := newSealed(t)
		noErr(t, "RotateRefreshToken", st.RotateRefreshToken(t.Context(), rt.Hash, sealed, succ))
		return rotatedTo(rt, succ, sealed), succ
	}
	rotatedLive, succ1 := rotated(now.Add(time.Millisecond))
	rotatedExpired, succ2 := rotated(now)
	live := []store.RefreshToken{
		expiring(now.Add(time.Millisecond)),
		expiring(now.Add(time.Hour)),
		rotatedLive, succ1, succ2,
	}
	expired := []store.RefreshToken{
		expiring(now.Add(-time.Minute)),
		expiring(now.Add(-time.Millisecond)),
		expiring(now), // ExpiresAt is now: dead
		rotatedExpired,
	}

	n, err := st.DeleteExpiredRefreshTokens(t.Context(), now)
	noErr(t, "DeleteExpiredRefreshTokens", err)
	if n != len(expired) {
		t.Errorf("DeleteExpiredRefreshTokens removed %d, want %d", n, len(expired))
	}
	for _, rt := range expired {
		wantRefreshTokenGone(t, st, rt.Hash)
	}
	for _, rt := range live {
		checkStoredRefreshToken(t, st, rt)
	}
	n, err = st.DeleteExpiredRefreshTokens(t.Context(), now)
	noErr(t, "second DeleteExpiredRefreshTokens", err)
	if n != 0 {
		t.Errorf("second DeleteExpiredRefreshTokens removed %d, want 0", n)
	}
}
