package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/totp"
)

// The two-step login (issue #14). A correct password for an account with
// a confirmed TOTP factor creates nothing yet: Login answers an
// *MFARequiredError whose token LoginMFA takes with a code.
//
//   - The mfa_token is 256 random bits, stored only as its SHA-256 (a
//     store.Ceremony of kind CeremonyMFALogin, taken once), valid for
//     MFATokenTTL, and bound to the user, the mode the login asked for and
//     the password hash the login accepted.
//   - A wrong code does not burn the token (a typo costs no new
//     password); the token goes back for the rest of its life. Each wrong
//     code counts toward the account's login limit (identity's
//     "mfa:<user>" key, which a correct password does not reset) and the
//     address's, and the limit is checked before the code, so guessing
//     stays as slow as guessing passwords. Taking the token for each
//     attempt also serialises attempts with one token.
//   - A correct code uses the token up, and the login completes as Login
//     would: the same session fixation rule, the same reread of the
//     account (a disabled, deleted or re-passworded account answers
//     ErrInvalidCredentials), the same failure answers.

// MFATokenTTL is how long an mfa_token can finish a login.
const MFATokenTTL = 5 * time.Minute

// CeremonyMFALogin is the ceremony kind of a pending two-step login.
const CeremonyMFALogin store.CeremonyKind = "mfa_login"

// MFARequiredError answers a correct password for an account that has a
// second factor: nothing was created, and LoginMFA with Token and a code
// finishes the login.
type MFARequiredError struct {
	// Token is the mfa_token, single use, valid for MFATokenTTL.
	Token string
}

func (e *MFARequiredError) Error() string { return "accounts: second factor required" }

// ErrInvalidCode reports a wrong or used code where the caller is signed
// in already (confirming or removing a factor); a login answers
// ErrInvalidCredentials instead.
var ErrInvalidCode = &InvalidRequestError{Reason: "invalid code"}

// MFALoginRequest is the second step of a login.
type MFALoginRequest struct {
	// Token is the mfa_token Login returned; Code a current TOTP code or
	// an unused recovery code.
	Token, Code string
	// Client and CookieSecret are as in LoginRequest.
	Client       session.ClientInfo
	CookieSecret string
}

// pendingLogin is what an mfa_token stands for (the ceremony's Data).
type pendingLogin struct {
	Mode Mode `json:"mode"`
	// PasswordHash is the SHA-256 of the password hash the login
	// accepted, so a reset meanwhile ends the pending login.
	PasswordHash []byte `json:"pwh"`
}

// mfaEnabled reports whether u must give a second factor at login.
func (s *Service) mfaEnabled(ctx context.Context, u store.User) (bool, error) {
	if s.d.MFA == nil {
		return false, nil
	}
	return s.d.MFA.Enabled(ctx, u.ID)
}

// beginMFA stores a pending login for u and returns the
// *MFARequiredError that carries its token.
func (s *Service) beginMFA(ctx context.Context, u store.User, mode Mode) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("accounts: mfa token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	pwh := sha256.Sum256([]byte(u.PasswordHash))
	data, err := json.Marshal(pendingLogin{Mode: mode, PasswordHash: pwh[:]})
	if err != nil {
		return fmt.Errorf("accounts: mfa token: %w", err)
	}
	err = s.d.Ceremonies.CreateCeremony(ctx, store.Ceremony{
		ID: mfaTokenID(tok), Kind: CeremonyMFALogin, UserID: u.ID, Data: data,
		ExpiresAt: s.now().Add(MFATokenTTL).UTC(),
	})
	if err != nil {
		return fmt.Errorf("accounts: store mfa token: %w", err)
	}
	return &MFARequiredError{Token: tok}
}

// mfaTokenID is the stored id of an mfa_token: its SHA-256, base64url.
func mfaTokenID(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// LoginMFA finishes a two-step login with a TOTP or recovery code and
// creates what the first step's mode asked for. An unknown, used or
// expired token, a wrong code and an account changed meanwhile are all
// ErrInvalidCredentials; too many wrong codes are a *RateLimitedError.
func (s *Service) LoginMFA(ctx context.Context, req MFALoginRequest) (LoginResult, error) {
	res, err := s.loginMFA(ctx, req)
	return res, s.recordLogin(ctx, req.Client, res, err)
}

// loginMFA is LoginMFA without its login event; it records the second
// factor's own events (mfa.succeeded, mfa.failed, recovery_code.used).
func (s *Service) loginMFA(ctx context.Context, req MFALoginRequest) (LoginResult, error) {
	if req.Token == "" || req.Code == "" {
		return LoginResult{}, &InvalidRequestError{Reason: "mfa_token and code are required"}
	}
	if s.d.MFA == nil || s.d.Ceremonies == nil {
		return LoginResult{}, ErrInvalidCredentials
	}
	c, err := s.d.Ceremonies.TakeCeremony(ctx, mfaTokenID(req.Token), s.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Kind != CeremonyMFALogin) {
		return LoginResult{}, ErrInvalidCredentials
	}
	if err != nil {
		return LoginResult{}, s.loginIncomplete(ctx, err)
	}
	var p pendingLogin
	if err := json.Unmarshal(c.Data, &p); err != nil {
		return LoginResult{}, s.loginIncomplete(ctx, fmt.Errorf("accounts: mfa token data: %w", err))
	}
	if err := s.d.Users.CheckSecondFactor(ctx, c.UserID, req.Client.IP); err != nil {
		return LoginResult{}, s.putBack(ctx, c, err)
	}
	v, err := s.d.MFA.Verify(ctx, c.UserID, req.Code)
	if err != nil {
		if errors.Is(err, mfa.ErrInvalidCode) {
			if ferr := s.d.Users.FailSecondFactor(ctx, c.UserID, req.Client.IP); ferr != nil {
				return LoginResult{}, s.putBack(ctx, c, ferr)
			}
			s.log.InfoContext(ctx, "wrong second factor", "user_id", c.UserID, "replay", errors.Is(err, totp.ErrReplayed))
			if rerr := s.record(ctx, audit.Event{Type: audit.MFAFailed, UserID: c.UserID, IP: req.Client.IP, UserAgent: req.Client.UserAgent,
				Detail: map[string]string{"replay": boolString(errors.Is(err, totp.ErrReplayed))}}); rerr != nil {
				s.log.ErrorContext(ctx, "second factor failure event not stored", "err", rerr)
			}
			return LoginResult{}, s.putBack(ctx, c, &identity.LoginFailure{UserID: c.UserID, Reason: audit.ReasonMFAFailed})
		}
		if errors.Is(err, mfa.ErrNotEnrolled) { // removed meanwhile
			return LoginResult{}, ErrInvalidCredentials
		}
		return LoginResult{}, s.loginIncomplete(ctx, err)
	}
	s.d.Users.ResetSecondFactor(ctx, c.UserID)
	if err := s.record(ctx, mfaEvents(c.UserID, req.Client, v)...); err != nil {
		return LoginResult{}, s.loginIncomplete(ctx, err)
	}
	u, err := s.d.Users.GetUser(ctx, c.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Disabled || !samePasswordHash(u, p.PasswordHash))) {
		return LoginResult{}, ErrInvalidCredentials
	}
	if err != nil {
		return LoginResult{}, s.loginIncomplete(ctx, err)
	}
	res := LoginResult{User: u, Mode: p.Mode}
	if p.Mode == ModeToken {
		res.Tokens, err = s.d.Tokens.LoginTokens(ctx, u, req.Client)
	} else {
		res.Session, err = s.startBrowserSession(ctx, u, req.CookieSecret, req.Client)
	}
	if err == nil {
		err = s.revokeIfChanged(ctx, u, p.PasswordHash)
	}
	if err != nil {
		return LoginResult{User: u}, s.loginIncomplete(ctx, err)
	}
	return res, nil
}

// mfaEvents are the events of a second factor accepted at login:
// mfa.succeeded, and recovery_code.used when it was a recovery code.
func mfaEvents(userID string, ci session.ClientInfo, v mfa.Verification) []audit.Event {
	factor := "totp"
	if v.RecoveryCode {
		factor = "recovery_code"
	}
	events := []audit.Event{{Type: audit.MFASucceeded, UserID: userID, IP: ci.IP, UserAgent: ci.UserAgent, Detail: map[string]string{"factor": factor}}}
	if v.RecoveryCode {
		events = append(events, audit.Event{Type: audit.RecoveryCodeUsed, UserID: userID, IP: ci.IP, UserAgent: ci.UserAgent})
	}
	return events
}

// putBack stores the pending login c again after an attempt that did not
// use it (a wrong code, a limit), and returns err.
func (s *Service) putBack(ctx context.Context, c store.Ceremony, err error) error {
	if perr := s.d.Ceremonies.CreateCeremony(ctx, c); perr != nil {
		s.log.WarnContext(ctx, "could not keep the mfa token for another attempt", "user_id", c.UserID, "err", perr)
	}
	return err
}

// samePasswordHash reports whether u's password hash is the one whose
// SHA-256 is want.
func samePasswordHash(u store.User, want []byte) bool {
	got := sha256.Sum256([]byte(u.PasswordHash))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// revokeIfChanged is revokeIfLocked for the second step, which has no
// password: the account must still be enabled with the same password hash.
func (s *Service) revokeIfChanged(ctx context.Context, u store.User, pwh []byte) error {
	cur, err := s.d.Users.GetUser(ctx, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && !cur.Disabled && samePasswordHash(cur, pwh) {
		return nil
	}
	if _, err := s.d.Sessions.RevokeUser(ctx, u.ID, "", audit.EndRevoked); err != nil {
		return err
	}
	return ErrInvalidCredentials
}

// BeginTOTP starts (or restarts) the user's TOTP enrolment: a new secret
// and its otpauth:// URI, not required at login until ConfirmTOTP. A user
// whose factor is confirmed gets store.ErrConflict.
func (s *Service) BeginTOTP(ctx context.Context, userID string) (totp.Enrollment, error) {
	u, err := s.d.Users.GetUser(ctx, userID)
	if err != nil {
		return totp.Enrollment{}, err
	}
	e, err := s.d.MFA.BeginTOTP(ctx, userID, u.Email)
	if errors.Is(err, mfa.ErrAlreadyEnrolled) {
		return totp.Enrollment{}, fmt.Errorf("accounts: %w: %w", store.ErrConflict, err)
	}
	return e, err
}

// ConfirmTOTP confirms the pending enrolment with a first code and
// returns the ten recovery codes, shown once. A wrong code is
// ErrInvalidCode; no pending enrolment is store.ErrNotFound.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) ([]string, error) {
	if code == "" {
		return nil, &InvalidRequestError{Reason: "code is required"}
	}
	codes, err := s.d.MFA.ConfirmTOTP(ctx, userID, code)
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		return nil, ErrInvalidCode
	case errors.Is(err, mfa.ErrNoEnrolment):
		return nil, fmt.Errorf("accounts: %w: %w", store.ErrNotFound, err)
	case errors.Is(err, mfa.ErrAlreadyEnrolled):
		return nil, fmt.Errorf("accounts: %w: %w", store.ErrConflict, err)
	case err != nil:
		return nil, err
	}
	if err := s.record(ctx, audit.Event{Type: audit.TOTPEnrolled, UserID: userID,
		Detail: map[string]string{"recovery_codes": strconv.Itoa(len(codes))}}); err != nil {
		return nil, err
	}
	return codes, nil
}

// RemoveTOTP removes the user's TOTP factor and recovery codes, given a
// current TOTP code or an unused recovery code. Wrong codes count toward
// the login limit like a login's (ErrInvalidCode, then a
// *RateLimitedError); a user without a factor is store.ErrNotFound. It
// is a step-up action: the session or grant sessionID must have logged
// in within the window (ErrReauthenticationRequired).
func (s *Service) RemoveTOTP(ctx context.Context, userID, sessionID, code, clientAddr string) error {
	if code == "" {
		return &InvalidRequestError{Reason: "code is required"}
	}
	if err := s.requireRecentAuth(ctx, userID, sessionID); err != nil {
		return err
	}
	if err := s.d.Users.CheckSecondFactor(ctx, userID, clientAddr); err != nil {
		return err
	}
	err := s.d.MFA.RemoveTOTP(ctx, userID, code)
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		if ferr := s.d.Users.FailSecondFactor(ctx, userID, clientAddr); ferr != nil {
			return ferr
		}
		if rerr := s.record(ctx, audit.Event{Type: audit.MFAFailed, UserID: userID, Detail: map[string]string{"action": "remove_totp"}}); rerr != nil {
			return rerr
		}
		return ErrInvalidCode
	case errors.Is(err, mfa.ErrNotEnrolled):
		return fmt.Errorf("accounts: %w: %w", store.ErrNotFound, err)
	case err != nil:
		return err
	}
	s.d.Users.ResetSecondFactor(ctx, userID)
	return s.record(ctx, audit.Event{Type: audit.TOTPRemoved, UserID: userID})
}

// SweepCeremonies deletes the pending two-step logins and WebAuthn
// ceremonies that expired, and returns how many (0 without a ceremony
// store).
func (s *Service) SweepCeremonies(ctx context.Context) (int, error) {
	if s.d.Ceremonies == nil {
		return 0, nil
	}
	n, err := s.d.Ceremonies.DeleteExpiredCeremonies(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("accounts: sweep ceremonies: %w", err)
	}
	return n, nil
}

// ErrReauthenticationRequired refuses a sensitive action (removing a
// second factor) from a session or grant whose login is older than the
// step-up window (Deps.ReauthWindow): the user logs in again, then
// retries (HTTP: 403 reauthentication_required).
var ErrReauthenticationRequired = errors.New("accounts: a recent authentication is required")

// requireRecentAuth returns ErrReauthenticationRequired unless the
// session or grant sessionID of userID was authenticated within the
// step-up window: its AuthTime when the record has one (an authorization
// code grant), else its creation, which is its login. A caller without a
// record (an admin or client token) never qualifies.
func (s *Service) requireRecentAuth(ctx context.Context, userID, sessionID string) error {
	if sessionID == "" {
		return ErrReauthenticationRequired
	}
	rec, err := s.d.Sessions.Get(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrReauthenticationRequired
	}
	if err != nil {
		return err
	}
	at := rec.AuthTime
	if at.IsZero() {
		at = rec.CreatedAt
	}
	if rec.UserID != userID || !(authcontext.Authentication{Methods: []authcontext.Method{authcontext.Password}, Time: at}).Recent(s.now(), s.d.ReauthWindow) {
		return ErrReauthenticationRequired
	}
	return nil
}
