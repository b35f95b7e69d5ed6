package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunAuthCodeStoreTests runs the AuthCodeStore conformance suite.
// newStore must return a fresh, empty store on every call and register its
// own cleanup with t.Cleanup.
func RunAuthCodeStoreTests(t *testing.T, newStore func(t *testing.T) store.AuthCodeStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.AuthCodeStore)
	}{
		{"CreateThenGet", testCreateGetAuthCode},
		{"EmptyFieldsComeBackEmpty", testAuthCodeEmptyFields},
		{"GetNotFound", testGetAuthCodeNotFound},
		{"CreateDuplicateHash", testCreateAuthCodeDuplicate},
		{"Redeem", testRedeemAuthCode},
		{"RedeemTwiceConflicts", testRedeemAuthCodeTwice},
		{"RedeemNotFound", testRedeemAuthCodeNotFound},
		{"RedeemConcurrentExactlyOne", testRedeemAuthCodeConcurrent},
		{"DeleteExpired", testDeleteExpiredAuthCodes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// newAuthCode returns an unused code created at createdAt, living 60
// seconds, with every field set.
func newAuthCode(t *testing.T, createdAt time.Time) store.AuthCode {
	t.Helper()
	return store.AuthCode{
		Hash:                randomHash(t),
		ClientID:            randomID(t, "client-"),
		UserID:              randomID(t, "u-"),
		SessionID:           randomID(t, "s-"),
		RedirectURI:         "https://app.example.com/callback?x=1",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Scope:               "openid profile offline_access",
		Audience:            []string{"https://api.example.com", "urn:example:billing"},
		Nonce:               "n-0S6_WzA2Mj",
		AuthTime:            createdAt.Add(-time.Minute),
		AuthMethods:         []string{"pwd", "otp"},
		CreatedAt:           createdAt,
		ExpiresAt:           createdAt.Add(time.Minute),
	}
}

// checkAuthCode reports every field of got that differs from want.
func checkAuthCode(t *testing.T, got, want store.AuthCode) {
	t.Helper()
	checkBytes(t, "Hash", got.Hash, want.Hash)
	for _, f := range []struct{ name, got, want string }{
		{"ClientID", got.ClientID, want.ClientID},
		{"UserID", got.UserID, want.UserID},
		{"SessionID", got.SessionID, want.SessionID},
		{"RedirectURI", got.RedirectURI, want.RedirectURI},
		{"CodeChallenge", got.CodeChallenge, want.CodeChallenge},
		{"CodeChallengeMethod", got.CodeChallengeMethod, want.CodeChallengeMethod},
		{"Scope", got.Scope, want.Scope},
		{"Nonce", got.Nonce, want.Nonce},
		{"GrantID", got.GrantID, want.GrantID},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	checkStrings(t, "Audience", got.Audience, want.Audience)
	checkTime(t, "AuthTime", got.AuthTime, want.AuthTime)
	checkStrings(t, "AuthMethods", got.AuthMethods, want.AuthMethods)
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkOptionalTime(t, "UsedAt", got.UsedAt, want.UsedAt)
}

func mustCreateAuthCode(t *testing.T, st store.AuthCodeStore, c store.AuthCode) {
	t.Helper()
	noErr(t, "CreateAuthCode", st.CreateAuthCode(t.Context(), c))
}

func mustGetAuthCode(t *testing.T, st store.AuthCodeStore, hash []byte) store.AuthCode {
	t.Helper()
	c, err := st.GetAuthCode(t.Context(), hash)
	noErr(t, "GetAuthCode", err)
	return c
}

func testCreateGetAuthCode(t *testing.T, st store.AuthCodeStore) {
	c := newAuthCode(t, baseTime())
	mustCreateAuthCode(t, st, c)
	checkAuthCode(t, mustGetAuthCode(t, st, c.Hash), c)
}

func testAuthCodeEmptyFields(t *testing.T, st store.AuthCodeStore) {
	c := newAuthCode(t, baseTime())
	c.SessionID, c.CodeChallenge, c.CodeChallengeMethod, c.Scope, c.Nonce, c.Audience = "", "", "", "", "", nil
	mustCreateAuthCode(t, st, c)
	checkAuthCode(t, mustGetAuthCode(t, st, c.Hash), c)
}

func testGetAuthCodeNotFound(t *testing.T, st store.AuthCodeStore) {
	_, err := st.GetAuthCode(t.Context(), randomHash(t))
	wantErr(t, "GetAuthCode of an unknown hash", err, store.ErrNotFound)
}

func testCreateAuthCodeDuplicate(t *testing.T, st store.AuthCodeStore) {
	c := newAuthCode(t, baseTime())
	mustCreateAuthCode(t, st, c)
	other := newAuthCode(t, baseTime())
	other.Hash = c.Hash
	wantErr(t, "CreateAuthCode with a taken hash", st.CreateAuthCode(t.Context(), other), store.ErrConflict)
	checkAuthCode(t, mustGetAuthCode(t, st, c.Hash), c)
}

func testRedeemAuthCode(t *testing.T, st store.AuthCodeStore) {
	c := newAuthCode(t, baseTime())
	mustCreateAuthCode(t, st, c)
	at := baseTime().Add(5 * time.Second)
	noErr(t, "RedeemAuthCode", st.RedeemAuthCode(t.Context(), c.Hash, at, "grant-1"))
	c.UsedAt, c.GrantID = at, "grant-1"
	checkAuthCode(t, mustGetAuthCode(t, st, c.Hash), c)
}

func testRedeemAuthCodeTwice(t *testing.T, st store.AuthCodeStore) {
	c := newAuthCode(t, baseTime())
	mustCreateAuthCode(t, st, c)
	at := baseTime().Add(5 * time.Second)
	noErr(t, "RedeemAuthCode", st.RedeemAuthCode(t.Context(), c.Hash, at, "grant-1"))
	err := st.RedeemAuthCode(t.Context(), c.Hash, at.Add(time.Second), "grant-2")
	wantErr(t, "second RedeemAuthCode", err, store.ErrConflict)
	c.UsedAt, c.GrantID = at, "grant-1"
	checkAuthCode(t, mustGetAuthCode(t, st, c.Hash), c)
}

func testRedeemAuthCodeNotFound(t *testing.T, st store.AuthCodeStore) {
	err := st.RedeemAuthCode(t.Context(), randomHash(t), baseTime(), "grant-1")
	wantErr(t, "RedeemAuthCode of an unknown hash", err, store.ErrNotFound)
}

func testRedeemAuthCodeConcurrent(t *testing.T, st store.AuthCodeStore) {
	c := newAuthCode(t, baseTime())
	mustCreateAuthCode(t, st, c)
	const workers = 8
	var (
		wg        sync.WaitGroup
		ok, confl atomic.Int32
	)
	for i := range workers {
		wg.Go(func() {
			err := st.RedeemAuthCode(t.Context(), c.Hash, baseTime().Add(time.Second), randomID(t, "grant-"))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrConflict):
				confl.Add(1)
			default:
				t.Errorf("RedeemAuthCode #%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || confl.Load() != workers-1 {
		t.Errorf("%d redemptions succeeded and %d conflicted, want 1 and %d", ok.Load(), confl.Load(), workers-1)
	}
}

func testDeleteExpiredAuthCodes(t *testing.T, st store.AuthCodeStore) {
	old := newAuthCode(t, baseTime())
	used := newAuthCode(t, baseTime())
	live := newAuthCode(t, baseTime().Add(time.Hour))
	for _, c := range []store.AuthCode{old, used, live} {
		mustCreateAuthCode(t, st, c)
	}
	noErr(t, "RedeemAuthCode", st.RedeemAuthCode(t.Context(), used.Hash, baseTime(), "grant-1"))
	n, err := st.DeleteExpiredAuthCodes(t.Context(), old.ExpiresAt)
	noErr(t, "DeleteExpiredAuthCodes", err)
	if n != 2 {
		t.Errorf("DeleteExpiredAuthCodes removed %d, want 2", n)
	}
	for _, h := range [][]byte{old.Hash, used.Hash} {
		_, err := st.GetAuthCode(t.Context(), h)
		wantErr(t, "GetAuthCode of an expired code", err, store.ErrNotFound)
	}
	checkAuthCode(t, mustGetAuthCode(t, st, live.Hash), live)
}
