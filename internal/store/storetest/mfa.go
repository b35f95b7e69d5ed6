package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunMFAStoreTests runs the conformance suites of second factors and
// passkeys: RunTOTPStoreTests, RunRecoveryCodeStoreTests,
// RunPasskeyStoreTests and RunCeremonyStoreTests. newStore must return a
// store that is empty or shared: every case uses users and ids of its own
// (the ceremony sweep measures what it created). RunAll calls it.
func RunMFAStoreTests(t *testing.T, newStore func(t *testing.T) store.MFAStore) {
	t.Run("TOTP", func(t *testing.T) {
		RunTOTPStoreTests(t, func(t *testing.T) store.TOTPStore { return newStore(t) })
	})
	t.Run("RecoveryCodes", func(t *testing.T) {
		RunRecoveryCodeStoreTests(t, func(t *testing.T) store.RecoveryCodeStore { return newStore(t) })
	})
	t.Run("Passkeys", func(t *testing.T) {
		RunPasskeyStoreTests(t, func(t *testing.T) store.PasskeyStore { return newStore(t) })
	})
	t.Run("Ceremonies", func(t *testing.T) {
		RunCeremonyStoreTests(t, func(t *testing.T) store.CeremonyStore { return newStore(t) })
	})
}

func newTOTPFactor(t *testing.T) store.TOTPFactor {
	return store.TOTPFactor{
		ID:           randomID(t, "totp-"),
		UserID:       randomID(t, "user-"),
		SealedSecret: append([]byte{0, 0xff, 'x'}, randomHash(t)...),
		CreatedAt:    baseTime(),
	}
}

func checkTOTPFactor(t *testing.T, got, want store.TOTPFactor) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Confirmed != want.Confirmed || got.LastUsedStep != want.LastUsedStep {
		t.Errorf("factor = {ID %q, UserID %q, Confirmed %v, LastUsedStep %d}, want {%q, %q, %v, %d}",
			got.ID, got.UserID, got.Confirmed, got.LastUsedStep, want.ID, want.UserID, want.Confirmed, want.LastUsedStep)
	}
	checkBytes(t, "SealedSecret", got.SealedSecret, want.SealedSecret)
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkOptionalTime(t, "ConfirmedAt", got.ConfirmedAt, want.ConfirmedAt)
}

// RunTOTPStoreTests runs the conformance suite for store.TOTPStore.
func RunTOTPStoreTests(t *testing.T, newStore func(t *testing.T) store.TOTPStore) {
	now := baseTime()
	confirmed := func(t *testing.T, s store.TOTPStore, step int64) store.TOTPFactor {
		t.Helper()
		f := newTOTPFactor(t)
		noErr(t, "PutTOTPFactor", s.PutTOTPFactor(t.Context(), f))
		noErr(t, "ConfirmTOTPFactor", s.ConfirmTOTPFactor(t.Context(), f.UserID, f.ID, step, now))
		f.Confirmed, f.ConfirmedAt, f.LastUsedStep = true, now, step
		return f
	}
	t.Run("missing factor is not found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetTOTPFactor(t.Context(), randomID(t, "user-"))
		wantErr(t, "GetTOTPFactor", err, store.ErrNotFound)
		wantErr(t, "DeleteTOTPFactor", s.DeleteTOTPFactor(t.Context(), randomID(t, "user-")), store.ErrNotFound)
		_, err = s.AdvanceTOTPStep(t.Context(), randomID(t, "user-"), "f", 1)
		wantErr(t, "AdvanceTOTPStep", err, store.ErrNotFound)
		wantErr(t, "ConfirmTOTPFactor", s.ConfirmTOTPFactor(t.Context(), randomID(t, "user-"), "f", 1, now), store.ErrNotFound)
	})
	t.Run("put and get round-trip", func(t *testing.T) {
		s := newStore(t)
		f := newTOTPFactor(t)
		noErr(t, "PutTOTPFactor", s.PutTOTPFactor(t.Context(), f))
		got, err := s.GetTOTPFactor(t.Context(), f.UserID)
		noErr(t, "GetTOTPFactor", err)
		checkTOTPFactor(t, got, f)
	})
	t.Run("put replaces an unconfirmed factor", func(t *testing.T) {
		s := newStore(t)
		f := newTOTPFactor(t)
		noErr(t, "PutTOTPFactor", s.PutTOTPFactor(t.Context(), f))
		g := newTOTPFactor(t)
		g.UserID = f.UserID
		noErr(t, "PutTOTPFactor again", s.PutTOTPFactor(t.Context(), g))
		got, err := s.GetTOTPFactor(t.Context(), f.UserID)
		noErr(t, "GetTOTPFactor", err)
		checkTOTPFactor(t, got, g)
	})
	t.Run("put over a confirmed factor conflicts", func(t *testing.T) {
		s := newStore(t)
		f := confirmed(t, s, 100)
		g := newTOTPFactor(t)
		g.UserID = f.UserID
		wantErr(t, "PutTOTPFactor", s.PutTOTPFactor(t.Context(), g), store.ErrConflict)
		got, err := s.GetTOTPFactor(t.Context(), f.UserID)
		noErr(t, "GetTOTPFactor", err)
		checkTOTPFactor(t, got, f)
	})
	t.Run("confirm sets confirmed, time and step", func(t *testing.T) {
		s := newStore(t)
		f := confirmed(t, s, 100)
		got, err := s.GetTOTPFactor(t.Context(), f.UserID)
		noErr(t, "GetTOTPFactor", err)
		checkTOTPFactor(t, got, f)
		wantErr(t, "ConfirmTOTPFactor twice", s.ConfirmTOTPFactor(t.Context(), f.UserID, f.ID, 200, now), store.ErrConflict)
	})
	t.Run("confirm of another factor id is not found", func(t *testing.T) {
		s := newStore(t)
		f := newTOTPFactor(t)
		noErr(t, "PutTOTPFactor", s.PutTOTPFactor(t.Context(), f))
		wantErr(t, "ConfirmTOTPFactor", s.ConfirmTOTPFactor(t.Context(), f.UserID, randomID(t, "totp-"), 1, now), store.ErrNotFound)
		got, err := s.GetTOTPFactor(t.Context(), f.UserID)
		noErr(t, "GetTOTPFactor", err)
		checkTOTPFactor(t, got, f)
	})
	t.Run("advance only moves forward", func(t *testing.T) {
		s := newStore(t)
		f := confirmed(t, s, 100)
		for _, c := range []struct {
			step int64
			want bool
		}{{99, false}, {100, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
			got, err := s.AdvanceTOTPStep(t.Context(), f.UserID, f.ID, c.step)
			noErr(t, "AdvanceTOTPStep", err)
			if got != c.want {
				t.Errorf("AdvanceTOTPStep(%d) = %v, want %v", c.step, got, c.want)
			}
		}
		got, err := s.GetTOTPFactor(t.Context(), f.UserID)
		noErr(t, "GetTOTPFactor", err)
		if got.LastUsedStep != 103 {
			t.Errorf("LastUsedStep = %d, want 103", got.LastUsedStep)
		}
	})
	t.Run("advance needs the confirmed factor", func(t *testing.T) {
		s := newStore(t)
		f := newTOTPFactor(t)
		noErr(t, "PutTOTPFactor", s.PutTOTPFactor(t.Context(), f))
		_, err := s.AdvanceTOTPStep(t.Context(), f.UserID, f.ID, 1)
		wantErr(t, "AdvanceTOTPStep on unconfirmed", err, store.ErrNotFound)
		g := confirmed(t, s, 1)
		_, err = s.AdvanceTOTPStep(t.Context(), g.UserID, randomID(t, "totp-"), 2)
		wantErr(t, "AdvanceTOTPStep with another id", err, store.ErrNotFound)
	})
	t.Run("concurrent advances to one step: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		f := confirmed(t, s, 100)
		var wg sync.WaitGroup
		results := make([]bool, 8)
		errs := make([]error, 8)
		for i := range results {
			wg.Go(func() { results[i], errs[i] = s.AdvanceTOTPStep(t.Context(), f.UserID, f.ID, 101) })
		}
		wg.Wait()
		won := 0
		for i := range results {
			noErr(t, "AdvanceTOTPStep", errs[i])
			if results[i] {
				won++
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent AdvanceTOTPStep calls won, want 1", won, len(results))
		}
	})
	t.Run("delete removes the factor", func(t *testing.T) {
		s := newStore(t)
		f := confirmed(t, s, 100)
		other := confirmed(t, s, 100)
		noErr(t, "DeleteTOTPFactor", s.DeleteTOTPFactor(t.Context(), f.UserID))
		_, err := s.GetTOTPFactor(t.Context(), f.UserID)
		wantErr(t, "GetTOTPFactor after delete", err, store.ErrNotFound)
		_, err = s.GetTOTPFactor(t.Context(), other.UserID)
		noErr(t, "GetTOTPFactor of another user", err)
		noErr(t, "PutTOTPFactor after delete", s.PutTOTPFactor(t.Context(), newTOTPFactorFor(t, f.UserID)))
	})
}

func newTOTPFactorFor(t *testing.T, userID string) store.TOTPFactor {
	f := newTOTPFactor(t)
	f.UserID = userID
	return f
}

// RunRecoveryCodeStoreTests runs the conformance suite for
// store.RecoveryCodeStore.
func RunRecoveryCodeStoreTests(t *testing.T, newStore func(t *testing.T) store.RecoveryCodeStore) {
	now := baseTime()
	hashes := func(t *testing.T, n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = randomHash(t)
		}
		out[0][0], out[0][1] = 0, 0xff // NUL and invalid UTF-8 round-trip
		return out
	}
	list := func(t *testing.T, s store.RecoveryCodeStore, userID string) []store.RecoveryCode {
		t.Helper()
		codes, err := s.ListRecoveryCodes(t.Context(), userID)
		noErr(t, "ListRecoveryCodes", err)
		return codes
	}
	t.Run("user without codes has none", func(t *testing.T) {
		s := newStore(t)
		if codes := list(t, s, randomID(t, "user-")); len(codes) != 0 {
			t.Errorf("ListRecoveryCodes = %d codes, want 0", len(codes))
		}
		wantErr(t, "UseRecoveryCode", s.UseRecoveryCode(t.Context(), randomID(t, "user-"), randomHash(t), now), store.ErrNotFound)
	})
	t.Run("replace and list in order", func(t *testing.T) {
		s := newStore(t)
		user, hs := randomID(t, "user-"), hashes(t, 10)
		noErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(t.Context(), user, hs))
		codes := list(t, s, user)
		if len(codes) != len(hs) {
			t.Fatalf("ListRecoveryCodes = %d codes, want %d", len(codes), len(hs))
		}
		for i, c := range codes {
			checkBytes(t, "Hash", c.Hash, hs[i])
			checkOptionalTime(t, "UsedAt", c.UsedAt, time.Time{})
		}
	})
	t.Run("a code is used once", func(t *testing.T) {
		s := newStore(t)
		user, hs := randomID(t, "user-"), hashes(t, 3)
		noErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(t.Context(), user, hs))
		noErr(t, "UseRecoveryCode", s.UseRecoveryCode(t.Context(), user, hs[1], now))
		wantErr(t, "UseRecoveryCode again", s.UseRecoveryCode(t.Context(), user, hs[1], now), store.ErrNotFound)
		codes := list(t, s, user)
		checkOptionalTime(t, "UsedAt of the used code", codes[1].UsedAt, now)
		checkOptionalTime(t, "UsedAt of another code", codes[0].UsedAt, time.Time{})
	})
	t.Run("codes belong to their user", func(t *testing.T) {
		s := newStore(t)
		alice, bob, hs := randomID(t, "user-"), randomID(t, "user-"), hashes(t, 2)
		noErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(t.Context(), alice, hs))
		wantErr(t, "UseRecoveryCode by another user", s.UseRecoveryCode(t.Context(), bob, hs[0], now), store.ErrNotFound)
		wantErr(t, "UseRecoveryCode of an unknown hash", s.UseRecoveryCode(t.Context(), alice, randomHash(t), now), store.ErrNotFound)
		noErr(t, "UseRecoveryCode by the owner", s.UseRecoveryCode(t.Context(), alice, hs[0], now))
	})
	t.Run("replace drops the old set, used or not", func(t *testing.T) {
		s := newStore(t)
		user, old, fresh := randomID(t, "user-"), hashes(t, 2), hashes(t, 2)
		noErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(t.Context(), user, old))
		noErr(t, "UseRecoveryCode", s.UseRecoveryCode(t.Context(), user, old[0], now))
		noErr(t, "ReplaceRecoveryCodes again", s.ReplaceRecoveryCodes(t.Context(), user, fresh))
		wantErr(t, "UseRecoveryCode of an old code", s.UseRecoveryCode(t.Context(), user, old[1], now), store.ErrNotFound)
		codes := list(t, s, user)
		if len(codes) != 2 || !codes[0].UsedAt.IsZero() {
			t.Errorf("after replace: %d codes, first used at %v; want 2 unused", len(codes), codes[0].UsedAt)
		}
		noErr(t, "ReplaceRecoveryCodes with none", s.ReplaceRecoveryCodes(t.Context(), user, nil))
		if codes := list(t, s, user); len(codes) != 0 {
			t.Errorf("after replace with none: %d codes", len(codes))
		}
	})
	t.Run("concurrent uses of one code: exactly one succeeds", func(t *testing.T) {
		s := newStore(t)
		user, hs := randomID(t, "user-"), hashes(t, 2)
		noErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(t.Context(), user, hs))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = s.UseRecoveryCode(t.Context(), user, hs[1], now) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("UseRecoveryCode: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent uses succeeded, want 1", ok, len(errs))
		}
	})
}

func newPasskey(t *testing.T, userID string, created time.Time) store.PasskeyCredential {
	id := randomHash(t)
	id[0], id[1] = 0, 0xff
	return store.PasskeyCredential{
		ID:              id,
		UserID:          userID,
		Name:            "Phone “Pixel” ✓",
		PublicKey:       randomHash(t),
		AttestationType: "none",
		AAGUID:          randomHash(t)[:16],
		SignCount:       7,
		Transports:      []string{"internal", "hybrid"},
		UserVerified:    true,
		BackupEligible:  true,
		BackupState:     false,
		CreatedAt:       created,
	}
}

func checkPasskey(t *testing.T, got, want store.PasskeyCredential) {
	t.Helper()
	checkBytes(t, "ID", got.ID, want.ID)
	checkBytes(t, "PublicKey", got.PublicKey, want.PublicKey)
	checkBytes(t, "AAGUID", got.AAGUID, want.AAGUID)
	if got.UserID != want.UserID || got.Name != want.Name || got.AttestationType != want.AttestationType || got.SignCount != want.SignCount {
		t.Errorf("passkey = {UserID %q, Name %q, AttestationType %q, SignCount %d}, want {%q, %q, %q, %d}",
			got.UserID, got.Name, got.AttestationType, got.SignCount, want.UserID, want.Name, want.AttestationType, want.SignCount)
	}
	if got.UserVerified != want.UserVerified || got.BackupEligible != want.BackupEligible || got.BackupState != want.BackupState {
		t.Errorf("flags = UV %v BE %v BS %v, want UV %v BE %v BS %v",
			got.UserVerified, got.BackupEligible, got.BackupState, want.UserVerified, want.BackupEligible, want.BackupState)
	}
	if !slices.Equal(got.Transports, want.Transports) && (len(got.Transports) != 0 || len(want.Transports) != 0) {
		t.Errorf("Transports = %q, want %q", got.Transports, want.Transports)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkOptionalTime(t, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
}

// RunPasskeyStoreTests runs the conformance suite for store.PasskeyStore.
func RunPasskeyStoreTests(t *testing.T, newStore func(t *testing.T) store.PasskeyStore) {
	now := baseTime()
	t.Run("create and get round-trip", func(t *testing.T) {
		s := newStore(t)
		c := newPasskey(t, randomID(t, "user-"), now)
		noErr(t, "CreatePasskey", s.CreatePasskey(t.Context(), c))
		got, err := s.GetPasskey(t.Context(), c.ID)
		noErr(t, "GetPasskey", err)
		checkPasskey(t, got, c)
	})
	t.Run("no transports round-trip", func(t *testing.T) {
		s := newStore(t)
		c := newPasskey(t, randomID(t, "user-"), now)
		c.Transports = nil
		noErr(t, "CreatePasskey", s.CreatePasskey(t.Context(), c))
		got, err := s.GetPasskey(t.Context(), c.ID)
		noErr(t, "GetPasskey", err)
		checkPasskey(t, got, c)
	})
	t.Run("missing credential is not found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetPasskey(t.Context(), randomHash(t))
		wantErr(t, "GetPasskey", err, store.ErrNotFound)
		wantErr(t, "DeletePasskey", s.DeletePasskey(t.Context(), randomID(t, "user-"), randomHash(t)), store.ErrNotFound)
		called := false
		_, err = s.UpdatePasskey(t.Context(), randomHash(t), func(c store.PasskeyCredential) (store.PasskeyCredential, error) {
			called = true
			return c, nil
		})
		wantErr(t, "UpdatePasskey", err, store.ErrNotFound)
		if called {
			t.Error("UpdatePasskey called update for a missing credential")
		}
	})
	t.Run("a credential id is unique across users", func(t *testing.T) {
		s := newStore(t)
		c := newPasskey(t, randomID(t, "user-"), now)
		noErr(t, "CreatePasskey", s.CreatePasskey(t.Context(), c))
		d := newPasskey(t, randomID(t, "user-"), now)
		d.ID = c.ID
		wantErr(t, "CreatePasskey with a taken id", s.CreatePasskey(t.Context(), d), store.ErrConflict)
		got, err := s.GetPasskey(t.Context(), c.ID)
		noErr(t, "GetPasskey", err)
		checkPasskey(t, got, c)
	})
	t.Run("list is the user's, oldest first", func(t *testing.T) {
		s := newStore(t)
		user := randomID(t, "user-")
		if got, err := s.ListPasskeys(t.Context(), user); err != nil || len(got) != 0 {
			t.Fatalf("ListPasskeys of a user without any = %d, %v; want none", len(got), err)
		}
		var want []store.PasskeyCredential
		for i := range 3 {
			c := newPasskey(t, user, now.Add(time.Duration(i)*time.Second))
			noErr(t, "CreatePasskey", s.CreatePasskey(t.Context(), c))
			want = append(want, c)
		}
		noErr(t, "CreatePasskey of another user", s.CreatePasskey(t.Context(), newPasskey(t, randomID(t, "user-"), now)))
		got, err := s.ListPasskeys(t.Context(), user)
		noErr(t, "ListPasskeys", err)
		if len(got) != len(want) {
			t.Fatalf("ListPasskeys = %d credentials, want %d", len(got), len(want))
		}
		for i := range want {
			checkPasskey(t, got[i], want[i])
		}
	})
	t.Run("update writes the use and keeps what cannot change", func(t *testing.T) {
		s := newStore(t)
		c := newPasskey(t, randomID(t, "user-"), now)
		noErr(t, "CreatePasskey", s.CreatePasskey(t.Context(), c))
		updated, err := s.UpdatePasskey(t.Context(), c.ID, func(old store.PasskeyCredential) (store.PasskeyCredential, error) {
			checkPasskey(t, old, c)
			old.SignCount, old.BackupState, old.LastUsedAt, old.Name = 8, true, now.Add(time.Minute), "Laptop"
			old.UserID, old.PublicKey, old.CreatedAt = "someone-else", []byte("other key"), now.Add(time.Hour)
			return old, nil
		})
		noErr(t, "UpdatePasskey", err)
		want := c
		want.SignCount, want.BackupState, want.LastUsedAt, want.Name = 8, true, now.Add(time.Minute), "Laptop"
		checkPasskey(t, updated, want)
		got, err := s.GetPasskey(t.Context(), c.ID)
		noErr(t, "GetPasskey", err)
		checkPasskey(t, got, want)
	})
	t.Run("update error writes nothing", func(t *testing.T) {
		s := newStore(t)
		c := newPasskey(t, randomID(t, "user-"), now)
		noErr(t, "CreatePasskey", s.CreatePasskey(t.Context(), c))
		_, err := s.UpdatePasskey(t.Context(), c.ID, func(old store.PasskeyCredential) (store.PasskeyCredential, error) {
			old.SignCount = 100
			return old, errUpdate
		})
		wantErr(t, "UpdatePasskey", err, errUpdate)
		got, err := s.GetPasskey(t.Context(), c.ID)
		noErr(t, "GetPasskey", err)
		checkPasskey(t, got, c)
	})
	t.Run("delete is by the owner only", func(t *testing.T) {
		s := newStore(t)
		c := newPasskey(t, randomID(t, "user-"), now)
		noErr(t, "CreatePasskey", s.CreatePasskey(t.Context(), c))
		wantErr(t, "DeletePasskey by another user", s.DeletePasskey(t.Context(), randomID(t, "user-"), c.ID), store.ErrNotFound)
		_, err := s.GetPasskey(t.Context(), c.ID)
		noErr(t, "GetPasskey after a refused delete", err)
		noErr(t, "DeletePasskey", s.DeletePasskey(t.Context(), c.UserID, c.ID))
		_, err = s.GetPasskey(t.Context(), c.ID)
		wantErr(t, "GetPasskey after delete", err, store.ErrNotFound)
		wantErr(t, "DeletePasskey again", s.DeletePasskey(t.Context(), c.UserID, c.ID), store.ErrNotFound)
	})
}

// RunCeremonyStoreTests runs the conformance suite for store.CeremonyStore.
func RunCeremonyStoreTests(t *testing.T, newStore func(t *testing.T) store.CeremonyStore) {
	now := baseTime()
	newCeremony := func(t *testing.T, expires time.Time) store.Ceremony {
		return store.Ceremony{
			ID:        randomID(t, "cer-"),
			Kind:      store.CeremonySecondFactor,
			UserID:    randomID(t, "user-"),
			Data:      []byte(`{"challenge":"abc","rpId":"example.com"}`),
			ExpiresAt: expires,
		}
	}
	take := func(t *testing.T, s store.CeremonyStore, c store.Ceremony, at time.Time) {
		t.Helper()
		got, err := s.TakeCeremony(t.Context(), c.ID, at)
		noErr(t, "TakeCeremony", err)
		if got.ID != c.ID || got.Kind != c.Kind || got.UserID != c.UserID {
			t.Errorf("ceremony = {%q, %q, %q}, want {%q, %q, %q}", got.ID, got.Kind, got.UserID, c.ID, c.Kind, c.UserID)
		}
		checkBytes(t, "Data", got.Data, c.Data)
		checkTime(t, "ExpiresAt", got.ExpiresAt, c.ExpiresAt)
	}
	t.Run("take returns the ceremony once", func(t *testing.T) {
		s := newStore(t)
		c := newCeremony(t, now.Add(5*time.Minute))
		noErr(t, "CreateCeremony", s.CreateCeremony(t.Context(), c))
		take(t, s, c, now)
		_, err := s.TakeCeremony(t.Context(), c.ID, now)
		wantErr(t, "TakeCeremony again", err, store.ErrNotFound)
	})
	t.Run("login ceremony without a user", func(t *testing.T) {
		s := newStore(t)
		c := newCeremony(t, now.Add(5*time.Minute))
		c.Kind, c.UserID = store.CeremonyLogin, ""
		noErr(t, "CreateCeremony", s.CreateCeremony(t.Context(), c))
		take(t, s, c, now)
	})
	t.Run("unknown ceremony is not found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.TakeCeremony(t.Context(), randomID(t, "cer-"), now)
		wantErr(t, "TakeCeremony", err, store.ErrNotFound)
	})
	t.Run("a taken id conflicts", func(t *testing.T) {
		s := newStore(t)
		c := newCeremony(t, now.Add(5*time.Minute))
		noErr(t, "CreateCeremony", s.CreateCeremony(t.Context(), c))
		d := newCeremony(t, now.Add(5*time.Minute))
		d.ID = c.ID
		wantErr(t, "CreateCeremony with a taken id", s.CreateCeremony(t.Context(), d), store.ErrConflict)
		take(t, s, c, now)
	})
	t.Run("expiry", func(t *testing.T) {
		s := newStore(t)
		c := newCeremony(t, now)
		noErr(t, "CreateCeremony", s.CreateCeremony(t.Context(), c))
		take(t, s, c, now.Add(-time.Millisecond))
		d := newCeremony(t, now)
		noErr(t, "CreateCeremony", s.CreateCeremony(t.Context(), d))
		_, err := s.TakeCeremony(t.Context(), d.ID, now)
		wantErr(t, "TakeCeremony at its expiry", err, store.ErrNotFound)
		_, err = s.TakeCeremony(t.Context(), d.ID, now.Add(-time.Hour))
		wantErr(t, "TakeCeremony of an expired one taken before", err, store.ErrNotFound)
	})
	t.Run("sweep removes the expired ones", func(t *testing.T) {
		s := newStore(t)
		_, err := s.DeleteExpiredCeremonies(t.Context(), now)
		noErr(t, "DeleteExpiredCeremonies before", err)
		before, at, after := newCeremony(t, now.Add(-time.Millisecond)), newCeremony(t, now), newCeremony(t, now.Add(time.Millisecond))
		for _, c := range []store.Ceremony{before, at, after} {
			noErr(t, "CreateCeremony", s.CreateCeremony(t.Context(), c))
		}
		n, err := s.DeleteExpiredCeremonies(t.Context(), now)
		noErr(t, "DeleteExpiredCeremonies", err)
		if n != 2 {
			t.Errorf("DeleteExpiredCeremonies = %d, want 2", n)
		}
		take(t, s, after, now.Add(-time.Hour))
		_, err = s.TakeCeremony(t.Context(), before.ID, now.Add(-time.Hour))
		wantErr(t, "TakeCeremony of a swept one", err, store.ErrNotFound)
	})
	t.Run("concurrent takes: at most one succeeds", func(t *testing.T) {
		s := newStore(t)
		c := newCeremony(t, now.Add(5*time.Minute))
		noErr(t, "CreateCeremony", s.CreateCeremony(t.Context(), c))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = s.TakeCeremony(t.Context(), c.ID, now) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("TakeCeremony: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent takes succeeded, want 1", ok, len(errs))
		}
	})
}

// MFAUserStore is a backend that keeps users and their second factors
// together (the SQL store).
type MFAUserStore interface {
	store.UserStore
	store.MFAStore
}

// RunMFADeleteUserTests checks that deleting a user removes the user's
// TOTP factor, recovery codes and passkeys, and nothing of another user.
// RunAll calls it.
func RunMFADeleteUserTests(t *testing.T, newStore func(t *testing.T) MFAUserStore) {
	t.Run("DeleteUserRemovesSecondFactors", func(t *testing.T) {
		s := newStore(t)
		users := [2]store.User{newUser(t), newUser(t)}
		keys := [2]store.PasskeyCredential{}
		for i, u := range users {
			mustCreateUser(t, s, u)
			noErr(t, "PutTOTPFactor", s.PutTOTPFactor(t.Context(), newTOTPFactorFor(t, u.ID)))
			noErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(t.Context(), u.ID, [][]byte{randomHash(t)}))
			keys[i] = newPasskey(t, u.ID, baseTime())
			noErr(t, "CreatePasskey", s.CreatePasskey(t.Context(), keys[i]))
		}
		noErr(t, "DeleteUser", s.DeleteUser(t.Context(), users[0].ID))

		_, err := s.GetTOTPFactor(t.Context(), users[0].ID)
		wantErr(t, "GetTOTPFactor of the deleted user", err, store.ErrNotFound)
		codes, err := s.ListRecoveryCodes(t.Context(), users[0].ID)
		noErr(t, "ListRecoveryCodes", err)
		if len(codes) != 0 {
			t.Errorf("%d recovery codes of the deleted user remain", len(codes))
		}
		_, err = s.GetPasskey(t.Context(), keys[0].ID)
		wantErr(t, "GetPasskey of the deleted user", err, store.ErrNotFound)

		_, err = s.GetTOTPFactor(t.Context(), users[1].ID)
		noErr(t, "GetTOTPFactor of the other user", err)
		codes, err = s.ListRecoveryCodes(t.Context(), users[1].ID)
		noErr(t, "ListRecoveryCodes of the other user", err)
		if len(codes) != 1 {
			t.Errorf("the other user has %d recovery codes, want 1", len(codes))
		}
		_, err = s.GetPasskey(t.Context(), keys[1].ID)
		noErr(t, "GetPasskey of the other user", err)
	})
}
