package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunOneTimeTokenStoreTests runs the OneTimeTokenStore conformance
// suite. newStore must return a fresh, empty store on every call and
// register its own cleanup with t.Cleanup.
func RunOneTimeTokenStoreTests(t *testing.T, newStore func(t *testing.T) store.OneTimeTokenStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.OneTimeTokenStore)
	}{
		{"CreateThenConsume", testConsumeOneTimeToken},
		{"ConsumeTwice", testConsumeOneTimeTokenTwice},
		{"ConsumeUnknown", testConsumeOneTimeTokenUnknown},
		{"ConsumeOtherPurpose", testConsumeOneTimeTokenOtherPurpose},
		{"ConsumeExpiry", testConsumeOneTimeTokenExpiry},
		{"NewerSupersedesOlder", testOneTimeTokenSuperseded},
		{"SupersedeKeepsOtherUsersAndPurposes", testOneTimeTokenSupersedeScope},
		{"CreateDuplicateHash", testCreateOneTimeTokenDuplicate},
		{"ConcurrentConsumeOnce", testConsumeOneTimeTokenConcurrent},
		{"DeleteExpired", testDeleteExpiredOneTimeTokens},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// newOneTimeToken returns an unused token of purpose for a random user,
// expiring an hour after baseTime.
func newOneTimeToken(t *testing.T, purpose store.TokenPurpose) store.OneTimeToken {
	t.Helper()
	id := randomID(t, "u-")
	return store.OneTimeToken{
		Hash: randomHash(t), Purpose: purpose, UserID: id, Email: id + "@example.test",
		CreatedAt: baseTime(), ExpiresAt: baseTime().Add(time.Hour),
	}
}

func mustCreateOneTimeToken(t *testing.T, s store.OneTimeTokenStore, tok store.OneTimeToken) {
	t.Helper()
	noErr(t, "CreateOneTimeToken", s.CreateOneTimeToken(t.Context(), tok))
}

func testConsumeOneTimeToken(t *testing.T, s store.OneTimeTokenStore) {
	tok := newOneTimeToken(t, store.PurposeVerifyEmail)
	mustCreateOneTimeToken(t, s, tok)
	now := baseTime().Add(time.Minute)
	got, err := s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, now)
	noErr(t, "ConsumeOneTimeToken", err)
	checkBytes(t, "Hash", got.Hash, tok.Hash)
	if got.Purpose != tok.Purpose || got.UserID != tok.UserID || got.Email != tok.Email {
		t.Errorf("consumed %+v, want %+v", got, tok)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, tok.CreatedAt)
	checkTime(t, "ExpiresAt", got.ExpiresAt, tok.ExpiresAt)
	checkTime(t, "UsedAt", got.UsedAt, now)
}

func testConsumeOneTimeTokenTwice(t *testing.T, s store.OneTimeTokenStore) {
	tok := newOneTimeToken(t, store.PurposeRecover)
	mustCreateOneTimeToken(t, s, tok)
	_, err := s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, baseTime())
	noErr(t, "first ConsumeOneTimeToken", err)
	_, err = s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, baseTime())
	wantErr(t, "second ConsumeOneTimeToken", err, store.ErrNotFound)
}

func testConsumeOneTimeTokenUnknown(t *testing.T, s store.OneTimeTokenStore) {
	_, err := s.ConsumeOneTimeToken(t.Context(), randomHash(t), store.PurposeRecover, baseTime())
	wantErr(t, "ConsumeOneTimeToken of an unknown hash", err, store.ErrNotFound)
}

func testConsumeOneTimeTokenOtherPurpose(t *testing.T, s store.OneTimeTokenStore) {
	tok := newOneTimeToken(t, store.PurposeVerifyEmail)
	mustCreateOneTimeToken(t, s, tok)
	_, err := s.ConsumeOneTimeToken(t.Context(), tok.Hash, store.PurposeRecover, baseTime())
	wantErr(t, "ConsumeOneTimeToken for another purpose", err, store.ErrNotFound)
	// The refusal used nothing up.
	_, err = s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, baseTime())
	noErr(t, "ConsumeOneTimeToken for its purpose", err)
}

func testConsumeOneTimeTokenExpiry(t *testing.T, s store.OneTimeTokenStore) {
	for _, tc := range []struct {
		name string
		at   time.Duration // relative to ExpiresAt
		ok   bool
	}{
		{"MillisecondBefore", -time.Millisecond, true},
		{"AtExpiry", 0, false},
		{"MillisecondAfter", time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := newOneTimeToken(t, store.PurposeRecover)
			mustCreateOneTimeToken(t, s, tok)
			_, err := s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, tok.ExpiresAt.Add(tc.at))
			if tc.ok {
				noErr(t, "ConsumeOneTimeToken", err)
			} else {
				wantErr(t, "ConsumeOneTimeToken", err, store.ErrNotFound)
			}
		})
	}
}

func testOneTimeTokenSuperseded(t *testing.T, s store.OneTimeTokenStore) {
	old := newOneTimeToken(t, store.PurposeRecover)
	mustCreateOneTimeToken(t, s, old)
	newer := old
	newer.Hash = randomHash(t)
	newer.CreatedAt = old.CreatedAt.Add(time.Second)
	mustCreateOneTimeToken(t, s, newer)
	_, err := s.ConsumeOneTimeToken(t.Context(), old.Hash, old.Purpose, baseTime())
	wantErr(t, "ConsumeOneTimeToken of the superseded token", err, store.ErrNotFound)
	_, err = s.ConsumeOneTimeToken(t.Context(), newer.Hash, newer.Purpose, baseTime())
	noErr(t, "ConsumeOneTimeToken of the newer token", err)
}

func testOneTimeTokenSupersedeScope(t *testing.T, s store.OneTimeTokenStore) {
	verify := newOneTimeToken(t, store.PurposeVerifyEmail)
	mustCreateOneTimeToken(t, s, verify)
	other := newOneTimeToken(t, store.PurposeRecover) // another user
	mustCreateOneTimeToken(t, s, other)
	recover := verify
	recover.Hash, recover.Purpose = randomHash(t), store.PurposeRecover
	mustCreateOneTimeToken(t, s, recover)
	for _, tok := range []store.OneTimeToken{verify, other, recover} {
		_, err := s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, baseTime())
		noErr(t, "ConsumeOneTimeToken of "+string(tok.Purpose)+" token of "+tok.UserID, err)
	}
}

func testCreateOneTimeTokenDuplicate(t *testing.T, s store.OneTimeTokenStore) {
	tok := newOneTimeToken(t, store.PurposeRecover)
	mustCreateOneTimeToken(t, s, tok)
	dup := newOneTimeToken(t, store.PurposeVerifyEmail)
	dup.Hash = tok.Hash
	wantErr(t, "CreateOneTimeToken of a taken hash", s.CreateOneTimeToken(t.Context(), dup), store.ErrConflict)
}

func testConsumeOneTimeTokenConcurrent(t *testing.T, s store.OneTimeTokenStore) {
	tok := newOneTimeToken(t, store.PurposeRecover)
	mustCreateOneTimeToken(t, s, tok)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, baseTime())
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantErr(t, "concurrent ConsumeOneTimeToken", err, store.ErrNotFound)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent consumptions succeeded, want exactly 1", ok, n)
	}
}

func testDeleteExpiredOneTimeTokens(t *testing.T, s store.OneTimeTokenStore) {
	now := baseTime().Add(time.Hour)
	_, err := s.DeleteExpiredOneTimeTokens(t.Context(), now)
	noErr(t, "first sweep", err)
	var toks []store.OneTimeToken
	for _, d := range []time.Duration{-time.Millisecond, 0, time.Millisecond} {
		tok := newOneTimeToken(t, store.PurposeRecover)
		tok.ExpiresAt = now.Add(d)
		mustCreateOneTimeToken(t, s, tok)
		toks = append(toks, tok)
	}
	n, err := s.DeleteExpiredOneTimeTokens(t.Context(), now)
	noErr(t, "DeleteExpiredOneTimeTokens", err)
	if n != 2 {
		t.Errorf("DeleteExpiredOneTimeTokens = %d, want 2 (before and at now)", n)
	}
	_, err = s.ConsumeOneTimeToken(t.Context(), toks[2].Hash, store.PurposeRecover, baseTime())
	noErr(t, "ConsumeOneTimeToken of the token that outlives the sweep", err)
}

// RunOneTimeTokenMailStoreTests runs the conformance suite of
// CreateOneTimeTokenWithMail: the token and its mail are stored together,
// or neither. newStore must return a fresh, empty store on every call
// and register its own cleanup with t.Cleanup.
func RunOneTimeTokenMailStoreTests(t *testing.T, newStore func(t *testing.T) store.OneTimeTokenMailStore) {
	newMail := func(t *testing.T) store.OutboxMail {
		return store.OutboxMail{ID: randomID(t, "m"), Kind: "recover_password", Payload: randomHash(t),
			CreatedAt: baseTime(), NextAttemptAt: baseTime()}
	}
	t.Run("BothStored", func(t *testing.T) {
		s := newStore(t)
		old := newOneTimeToken(t, store.PurposeRecover)
		mustCreateOneTimeToken(t, s, old)
		tok, m := old, newMail(t)
		tok.Hash = randomHash(t)
		noErr(t, "CreateOneTimeTokenWithMail", s.CreateOneTimeTokenWithMail(t.Context(), tok, m))
		got, err := s.GetMail(t.Context(), m.ID)
		noErr(t, "GetMail", err)
		if got.State != store.MailPending {
			t.Errorf("mail state %q, want pending", got.State)
		}
		checkBytes(t, "Payload", got.Payload, m.Payload)
		_, err = s.ConsumeOneTimeToken(t.Context(), old.Hash, old.Purpose, baseTime())
		wantErr(t, "ConsumeOneTimeToken of the superseded token", err, store.ErrNotFound)
		_, err = s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, baseTime())
		noErr(t, "ConsumeOneTimeToken", err)
	})
	t.Run("MailConflictStoresNeither", func(t *testing.T) {
		s := newStore(t)
		m := newMail(t)
		noErr(t, "EnqueueMail", s.EnqueueMail(t.Context(), m))
		old := newOneTimeToken(t, store.PurposeRecover)
		mustCreateOneTimeToken(t, s, old)
		tok := old
		tok.Hash = randomHash(t)
		wantErr(t, "CreateOneTimeTokenWithMail with a taken mail id", s.CreateOneTimeTokenWithMail(t.Context(), tok, m), store.ErrConflict)
		_, err := s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, baseTime())
		wantErr(t, "ConsumeOneTimeToken of the token of a failed write", err, store.ErrNotFound)
		// Nor was the older token superseded.
		_, err = s.ConsumeOneTimeToken(t.Context(), old.Hash, old.Purpose, baseTime())
		noErr(t, "ConsumeOneTimeToken of the older token", err)
	})
	t.Run("RehearsalStoresNothing", func(t *testing.T) {
		s := newStore(t)
		old := newOneTimeToken(t, store.PurposeRecover)
		mustCreateOneTimeToken(t, s, old)
		tok, m := newOneTimeToken(t, store.PurposeRecover), newMail(t) // another user
		noErr(t, "RehearseOneTimeTokenWithMail", s.RehearseOneTimeTokenWithMail(t.Context(), tok, m))
		_, err := s.GetMail(t.Context(), m.ID)
		wantErr(t, "GetMail of a rehearsed mail", err, store.ErrNotFound)
		_, err = s.ConsumeOneTimeToken(t.Context(), tok.Hash, tok.Purpose, baseTime())
		wantErr(t, "ConsumeOneTimeToken of a rehearsed token", err, store.ErrNotFound)
		_, err = s.ConsumeOneTimeToken(t.Context(), old.Hash, old.Purpose, baseTime())
		noErr(t, "ConsumeOneTimeToken of another user's token", err)
	})
	t.Run("TokenConflictStoresNeither", func(t *testing.T) {
		s := newStore(t)
		tok := newOneTimeToken(t, store.PurposeVerifyEmail)
		mustCreateOneTimeToken(t, s, tok)
		other := newOneTimeToken(t, store.PurposeVerifyEmail)
		other.Hash = tok.Hash
		m := newMail(t)
		wantErr(t, "CreateOneTimeTokenWithMail with a taken hash", s.CreateOneTimeTokenWithMail(t.Context(), other, m), store.ErrConflict)
		_, err := s.GetMail(t.Context(), m.ID)
		wantErr(t, "GetMail of the mail of a failed write", err, store.ErrNotFound)
	})
}
