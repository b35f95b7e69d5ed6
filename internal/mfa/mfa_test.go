package mfa

import (
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/sqlitetest"
	"github.com/gatehouse-auth/gatehouse/internal/totp"
)

const userID = "3d767426c4cc7acbcf7a0f107822c370"

var testKEK = [seal.KeySize]byte{1, 2, 3}

type fixture struct {
	svc   *Service
	store *sqlstore.Store
	clock *clocktest.Clock
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{store: sqlitetest.New(t), clock: clocktest.New(time.Date(2026, 12, 6, 12, 0, 15, 0, time.UTC))}
	svc, err := New(Config{KEK: testKEK, Now: f.clock.Now}, f.store, f.store)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// code is what an authenticator app shows at now+offset.
func code(t *testing.T, secret []byte, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol runs a whole enrolment and returns the secret and recovery codes.
func (f *fixture) enrol(t *testing.T) ([]byte, []string) {
	t.Helper()
	e, err := f.svc.BeginTOTP(t.Context(), userID, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	codes, err := f.svc.ConfirmTOTP(t.Context(), userID, code(t, e.Secret, f.clock.Now()))
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	return e.Secret, codes
}

func TestEnrolment(t *testing.T) {
	f := newFixture(t)
	e, err := f.svc.BeginTOTP(t.Context(), userID, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(e.URI)
	if err != nil || key.Issuer() != "Gatehouse" || key.AccountName() != "alice@example.com" {
		t.Errorf("URI %s: issuer %q account %q, %v", e.URI, key.Issuer(), key.AccountName(), err)
	}
	if u, _ := url.Parse(e.URI); u.Query().Get("secret") != e.SecretBase32 {
		t.Errorf("URI secret differs from SecretBase32")
	}
	stored, err := f.store.GetTOTPFactor(t.Context(), userID)
	if err != nil || stored.Confirmed {
		t.Fatalf("stored factor %+v, %v; want an unconfirmed one", stored, err)
	}
	if got, err := totp.OpenSecret(testKEK, userID, stored.ID, stored.SealedSecret); err != nil || string(got) != string(e.Secret) {
		t.Errorf("stored secret does not open to the enrolled one: %v", err)
	}
	if on, _ := f.svc.Enabled(t.Context(), userID); on {
		t.Error("TOTP enabled before confirmation")
	}
	if again, err := f.svc.PendingTOTP(t.Context(), userID, "alice@example.com"); err != nil || again.URI != e.URI {
		t.Errorf("PendingTOTP = %q, %v; want the same URI", again.URI, err)
	}
	if _, err := f.svc.Verify(t.Context(), userID, code(t, e.Secret, f.clock.Now())); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("Verify before confirmation = %v, want ErrNotEnrolled", err)
	}
	// A wrong first code changes nothing.
	if _, err := f.svc.ConfirmTOTP(t.Context(), userID, code(t, e.Secret, f.clock.Now().Add(time.Hour))); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("ConfirmTOTP with a wrong code = %v, want ErrInvalidCode", err)
	}
	// Beginning again replaces the pending secret: the old one no longer confirms.
	e2, err := f.svc.BeginTOTP(t.Context(), userID, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ConfirmTOTP(t.Context(), userID, code(t, e.Secret, f.clock.Now())); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("ConfirmTOTP with the replaced secret = %v, want ErrInvalidCode", err)
	}
	codes, err := f.svc.ConfirmTOTP(t.Context(), userID, code(t, e2.Secret, f.clock.Now()))
	if err != nil || len(codes) != 10 {
		t.Fatalf("ConfirmTOTP = %d codes, %v", len(codes), err)
	}
	if on, _ := f.svc.Enabled(t.Context(), userID); !on {
		t.Error("TOTP not enabled after confirmation")
	}
	if _, err := f.svc.PendingTOTP(t.Context(), userID, "alice@example.com"); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Errorf("PendingTOTP of a confirmed factor = %v, want ErrAlreadyEnrolled", err)
	}
	if _, err := f.svc.BeginTOTP(t.Context(), userID, "alice@example.com"); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Errorf("BeginTOTP with a confirmed factor = %v, want ErrAlreadyEnrolled", err)
	}
	if _, err := f.svc.ConfirmTOTP(t.Context(), userID, "123456"); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Errorf("ConfirmTOTP again = %v, want ErrAlreadyEnrolled", err)
	}
	if _, err := f.svc.ConfirmTOTP(t.Context(), "nobody", "123456"); !errors.Is(err, ErrNoEnrolment) {
		t.Errorf("ConfirmTOTP without enrolment = %v, want ErrNoEnrolment", err)
	}
}

func TestVerifyTOTP(t *testing.T) {
	f := newFixture(t)
	secret, _ := f.enrol(t)
	// The confirming code cannot be used to log in.
	if _, err := f.svc.Verify(t.Context(), userID, code(t, secret, f.clock.Now())); !errors.Is(err, ErrInvalidCode) || !errors.Is(err, totp.ErrReplayed) {
		t.Errorf("confirming code reused = %v, want ErrInvalidCode (replay)", err)
	}
	f.clock.Advance(30 * time.Second)
	v, err := f.svc.Verify(t.Context(), userID, code(t, secret, f.clock.Now()))
	if err != nil || v.Method != authcontext.OTP || v.RecoveryCode {
		t.Fatalf("Verify = %+v, %v", v, err)
	}
	if _, err := f.svc.Verify(t.Context(), userID, code(t, secret, f.clock.Now())); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("same code twice = %v, want ErrInvalidCode", err)
	}
	// Window edges, a minute later: t-30s and t+30s pass, t±60s do not.
	f.clock.Advance(2 * time.Minute)
	for _, c := range []struct {
		offset time.Duration
		ok     bool
	}{{-60 * time.Second, false}, {-30 * time.Second, true}, {0, true}, {30 * time.Second, true}, {60 * time.Second, false}} {
		_, err := f.svc.Verify(t.Context(), userID, code(t, secret, f.clock.Now().Add(c.offset)))
		if (err == nil) != c.ok {
			t.Errorf("code at %v: %v, want ok=%v", c.offset, err, c.ok)
		}
	}
	if _, err := f.svc.Verify(t.Context(), "nobody", "123456"); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("Verify for a user without TOTP = %v, want ErrNotEnrolled", err)
	}
	if _, err := f.svc.Verify(t.Context(), userID, "12345"); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("malformed code = %v, want ErrInvalidCode", err)
	}
}

func TestVerifyConcurrentSameCode(t *testing.T) {
	f := newFixture(t)
	secret, _ := f.enrol(t)
	f.clock.Advance(30 * time.Second)
	c := code(t, secret, f.clock.Now())
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = f.svc.Verify(t.Context(), userID, c) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, ErrInvalidCode) {
			t.Errorf("Verify: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent uses of one code passed, want 1", ok)
	}
}

func TestRecoveryCodes(t *testing.T) {
	f := newFixture(t)
	_, codes := f.enrol(t)
	v, err := f.svc.Verify(t.Context(), userID, codes[0])
	if err != nil || !v.RecoveryCode || v.Method != authcontext.OTP {
		t.Fatalf("Verify(recovery code) = %+v, %v", v, err)
	}
	if _, err := f.svc.Verify(t.Context(), userID, codes[0]); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("recovery code twice = %v, want ErrInvalidCode", err)
	}
	if n, _ := f.svc.RemainingRecoveryCodes(t.Context(), userID); n != 9 {
		t.Errorf("remaining = %d, want 9", n)
	}
	if _, err := f.svc.Verify(t.Context(), userID, "aaaaa-aaaaa"); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("wrong recovery code = %v, want ErrInvalidCode", err)
	}
	fresh, err := f.svc.RegenerateRecoveryCodes(t.Context(), userID)
	if err != nil || len(fresh) != 10 {
		t.Fatalf("RegenerateRecoveryCodes = %d, %v", len(fresh), err)
	}
	if _, err := f.svc.Verify(t.Context(), userID, codes[1]); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("old set after regeneration = %v, want ErrInvalidCode", err)
	}
	if _, err := f.svc.Verify(t.Context(), userID, fresh[1]); err != nil {
		t.Errorf("new set: %v", err)
	}
	if _, err := f.svc.RegenerateRecoveryCodes(t.Context(), "nobody"); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("RegenerateRecoveryCodes without TOTP = %v, want ErrNotEnrolled", err)
	}
	// Alice's codes are worth nothing to bob, even with TOTP of his own.
	bob := "9a1f0c2b7e5d4f3a8b6c1d0e2f3a4b5c"
	e, err := f.svc.BeginTOTP(t.Context(), bob, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ConfirmTOTP(t.Context(), bob, code(t, e.Secret, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(t.Context(), bob, fresh[2]); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("alice's code for bob = %v, want ErrInvalidCode", err)
	}
}

func TestRemoveTOTP(t *testing.T) {
	f := newFixture(t)
	secret, codes := f.enrol(t)
	if err := f.svc.RemoveTOTP(t.Context(), userID, "000000"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("RemoveTOTP with a wrong code = %v, want ErrInvalidCode", err)
	}
	if on, _ := f.svc.Enabled(t.Context(), userID); !on {
		t.Fatal("a refused removal disabled TOTP")
	}
	f.clock.Advance(30 * time.Second)
	if err := f.svc.RemoveTOTP(t.Context(), userID, code(t, secret, f.clock.Now())); err != nil {
		t.Fatalf("RemoveTOTP: %v", err)
	}
	if on, _ := f.svc.Enabled(t.Context(), userID); on {
		t.Error("TOTP still enabled after removal")
	}
	if _, err := f.store.GetTOTPFactor(t.Context(), userID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("factor still stored: %v", err)
	}
	if n, _ := f.svc.RemainingRecoveryCodes(t.Context(), userID); n != 0 {
		t.Errorf("%d recovery codes left after removal", n)
	}
	if _, err := f.svc.Verify(t.Context(), userID, codes[3]); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("recovery code after removal = %v, want ErrNotEnrolled", err)
	}
	// Enrolling again works.
	f.enrol(t)
}

func TestRemoveTOTPWithRecoveryCode(t *testing.T) {
	f := newFixture(t)
	_, codes := f.enrol(t)
	if err := f.svc.RemoveTOTP(t.Context(), userID, codes[5]); err != nil {
		t.Fatalf("RemoveTOTP with a recovery code: %v", err)
	}
	if on, _ := f.svc.Enabled(t.Context(), userID); on {
		t.Error("TOTP still enabled")
	}
}
