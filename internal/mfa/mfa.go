package mfa

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/recoverycode"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/totp"
)

// Errors of the Service. ErrInvalidCode is the only one a login answers
// for a bad code; the others are states of the account.
var (
	// ErrInvalidCode reports a code that is wrong, malformed, or used
	// already (a TOTP time step or a recovery code used before): answer
	// them alike, and count them toward the login limit. errors.Is with
	// totp.ErrReplayed tells a replay apart, for logs.
	ErrInvalidCode = errors.New("mfa: invalid code")
	// ErrNotEnrolled reports a user without a confirmed TOTP factor.
	ErrNotEnrolled = errors.New("mfa: no TOTP factor")
	// ErrAlreadyEnrolled reports an enrolment for a user whose TOTP factor
	// is confirmed: it must be removed first.
	ErrAlreadyEnrolled = errors.New("mfa: TOTP factor already confirmed")
	// ErrNoEnrolment reports a confirmation without a pending enrolment.
	ErrNoEnrolment = errors.New("mfa: no TOTP enrolment to confirm")
)

// Config configures a Service.
type Config struct {
	// Issuer is the name authenticator apps show for the account; default
	// "Gatehouse".
	Issuer string
	// KEK is the key-encryption key that seals TOTP secrets and keys the
	// recovery-code hashes.
	KEK [seal.KeySize]byte
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Service enrols, verifies and removes TOTP factors and recovery codes.
type Service struct {
	issuer string
	kek    [seal.KeySize]byte
	hasher *recoverycode.Hasher
	now    func() time.Time
	totps  store.TOTPStore
	codes  store.RecoveryCodeStore
}

// New returns a Service keeping factors in totps and codes in codes. It
// fails only if the recovery-code key cannot be derived from the KEK.
func New(cfg Config, totps store.TOTPStore, codes store.RecoveryCodeStore) (*Service, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = "Gatehouse"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hasher, err := recoverycode.NewHasher(cfg.KEK)
	if err != nil {
		return nil, fmt.Errorf("mfa: %w", err)
	}
	return &Service{
		issuer: cfg.Issuer,
		kek:    cfg.KEK,
		hasher: hasher,
		now:    cfg.Now,
		totps:  totps,
		codes:  codes,
	}, nil
}

// Verification is a successful second-factor check.
type Verification struct {
	// Method is what to record in the session: authcontext.OTP for both a
	// TOTP code and a recovery code (RFC 8176 "otp").
	Method authcontext.Method
	// RecoveryCode is set when a recovery code was used, so the caller can
	// tell the user how many remain (RemainingRecoveryCodes).
	RecoveryCode bool
}

// BeginTOTP starts (or restarts) a TOTP enrolment for the user: a new
// secret, stored sealed and unconfirmed, returned once for the QR code and
// the otpauth:// URI. A user with a confirmed factor is ErrAlreadyEnrolled.
func (s *Service) BeginTOTP(ctx context.Context, userID, email string) (totp.Enrollment, error) {
	e, err := totp.Generate(s.issuer, email)
	if err != nil {
		return totp.Enrollment{}, err
	}
	id := rand.Text()
	sealed, err := totp.SealSecret(s.kek, userID, id, e.Secret)
	if err != nil {
		return totp.Enrollment{}, err
	}
	err = s.totps.PutTOTPFactor(ctx, store.TOTPFactor{ID: id, UserID: userID, SealedSecret: sealed, CreatedAt: s.now().UTC()})
	if errors.Is(err, store.ErrConflict) {
		return totp.Enrollment{}, ErrAlreadyEnrolled
	}
	if err != nil {
		return totp.Enrollment{}, fmt.Errorf("mfa: store TOTP factor: %w", err)
	}
	return e, nil
}

// PendingTOTP returns the pending (unconfirmed) enrolment again, for an
// enrolment page shown a second time. Without one it is ErrNoEnrolment,
// and with a confirmed factor ErrAlreadyEnrolled: the secret of an active
// factor is never shown again.
func (s *Service) PendingTOTP(ctx context.Context, userID, email string) (totp.Enrollment, error) {
	f, err := s.totps.GetTOTPFactor(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return totp.Enrollment{}, ErrNoEnrolment
	}
	if err != nil {
		return totp.Enrollment{}, fmt.Errorf("mfa: load TOTP factor: %w", err)
	}
	if f.Confirmed {
		return totp.Enrollment{}, ErrAlreadyEnrolled
	}
	secret, err := totp.OpenSecret(s.kek, userID, f.ID, f.SealedSecret)
	if err != nil {
		return totp.Enrollment{}, err
	}
	return totp.Enroll(s.issuer, email, secret)
}

// ConfirmTOTP confirms the pending enrolment with a first code, which
// activates the factor, and returns a new set of recovery codes to show
// once. Without a pending enrolment it is ErrNoEnrolment (or
// ErrAlreadyEnrolled); a wrong code is ErrInvalidCode and changes nothing.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) ([]string, error) {
	f, err := s.totps.GetTOTPFactor(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoEnrolment
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: load TOTP factor: %w", err)
	}
	if f.Confirmed {
		return nil, ErrAlreadyEnrolled
	}
	secret, err := totp.OpenSecret(s.kek, userID, f.ID, f.SealedSecret)
	if err != nil {
		return nil, err
	}
	step, err := totp.Validate(secret, code, s.now(), f.LastUsedStep)
	if err != nil {
		return nil, invalid(err)
	}
	// Codes first: if confirming fails, the factor stays inactive and the
	// unused codes do nothing (Verify needs a confirmed factor).
	codes, hashes := s.hasher.Generate(userID)
	if err := s.codes.ReplaceRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, fmt.Errorf("mfa: store recovery codes: %w", err)
	}
	err = s.totps.ConfirmTOTPFactor(ctx, userID, f.ID, step, s.now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrNoEnrolment // replaced by a new enrolment meanwhile
	case errors.Is(err, store.ErrConflict):
		return nil, ErrAlreadyEnrolled
	case err != nil:
		return nil, fmt.Errorf("mfa: confirm TOTP factor: %w", err)
	}
	return codes, nil
}

// Enabled reports whether the user has a confirmed TOTP factor, which
// login then requires.
func (s *Service) Enabled(ctx context.Context, userID string) (bool, error) {
	f, err := s.totps.GetTOTPFactor(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mfa: load TOTP factor: %w", err)
	}
	return f.Confirmed, nil
}

// Verify checks a second factor: a current TOTP code (six digits; each
// time step accepted once, across instances) or an unused recovery code
// (used up by this call). A user without a confirmed factor is
// ErrNotEnrolled; a wrong or used code is ErrInvalidCode.
func (s *Service) Verify(ctx context.Context, userID, code string) (Verification, error) {
	f, err := s.confirmedFactor(ctx, userID)
	if err != nil {
		return Verification{}, err
	}
	if _, err := totp.ParseCode(code); err == nil {
		secret, err := totp.OpenSecret(s.kek, userID, f.ID, f.SealedSecret)
		if err != nil {
			return Verification{}, err
		}
		step, err := totp.Validate(secret, code, s.now(), f.LastUsedStep)
		if err != nil {
			return Verification{}, invalid(err)
		}
		ok, err := s.totps.AdvanceTOTPStep(ctx, userID, f.ID, step)
		if errors.Is(err, store.ErrNotFound) {
			return Verification{}, ErrNotEnrolled // removed meanwhile
		}
		if err != nil {
			return Verification{}, fmt.Errorf("mfa: record TOTP step: %w", err)
		}
		if !ok { // a concurrent request used this step first
			return Verification{}, invalid(totp.ErrReplayed)
		}
		return Verification{Method: authcontext.OTP}, nil
	}
	hash, err := s.hasher.Hash(userID, code)
	if err != nil {
		return Verification{}, invalid(err)
	}
	err = s.codes.UseRecoveryCode(ctx, userID, hash, s.now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return Verification{}, ErrInvalidCode
	}
	if err != nil {
		return Verification{}, fmt.Errorf("mfa: use recovery code: %w", err)
	}
	return Verification{Method: authcontext.OTP, RecoveryCode: true}, nil
}

// RemainingRecoveryCodes returns how many of the user's recovery codes
// are unused.
func (s *Service) RemainingRecoveryCodes(ctx context.Context, userID string) (int, error) {
	codes, err := s.codes.ListRecoveryCodes(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("mfa: list recovery codes: %w", err)
	}
	n := 0
	for _, c := range codes {
		if c.UsedAt.IsZero() {
			n++
		}
	}
	return n, nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes, used or
// not, with a new set to show once. The caller checks a recent
// authentication first. A user without a confirmed factor is
// ErrNotEnrolled.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	if _, err := s.confirmedFactor(ctx, userID); err != nil {
		return nil, err
	}
	codes, hashes := s.hasher.Generate(userID)
	if err := s.codes.ReplaceRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, fmt.Errorf("mfa: store recovery codes: %w", err)
	}
	return codes, nil
}

// RemoveTOTP removes the user's TOTP factor and recovery codes after
// checking code (a current TOTP code or an unused recovery code, as
// Verify). The caller checks a recent authentication first.
func (s *Service) RemoveTOTP(ctx context.Context, userID, code string) error {
	if _, err := s.Verify(ctx, userID, code); err != nil {
		return err
	}
	if err := s.codes.ReplaceRecoveryCodes(ctx, userID, nil); err != nil {
		return fmt.Errorf("mfa: remove recovery codes: %w", err)
	}
	if err := s.totps.DeleteTOTPFactor(ctx, userID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("mfa: remove TOTP factor: %w", err)
	}
	return nil
}

func (s *Service) confirmedFactor(ctx context.Context, userID string) (store.TOTPFactor, error) {
	f, err := s.totps.GetTOTPFactor(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !f.Confirmed) {
		return store.TOTPFactor{}, ErrNotEnrolled
	}
	if err != nil {
		return store.TOTPFactor{}, fmt.Errorf("mfa: load TOTP factor: %w", err)
	}
	return f, nil
}

// invalid is ErrInvalidCode carrying the cause for logs.
func invalid(cause error) error {
	return fmt.Errorf("%w: %w", ErrInvalidCode, cause)
}
