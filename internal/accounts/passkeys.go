package accounts

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/passkey"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Passkeys (issue #14). The ceremonies are internal/passkey's; the rules
// around them are here:
//
//   - Registering and removing a passkey are step-up actions: the session
//     or grant must have authenticated within the window
//     (ErrReauthenticationRequired), checked at begin and again at finish.
//   - An account with a passkey needs a second factor after its password,
//     as one with TOTP does: Login's *MFARequiredError lists "passkey",
//     and BeginPasskeyLogin/LoginPasskey with its mfa_token finish it.
//   - A passwordless login (no mfa_token) needs user verification on the
//     authenticator, and creates what its mode asks for. Every failure is
//     ErrInvalidCredentials, whatever it was (unknown credential, bad
//     signature, wrong origin, used challenge, cloned authenticator), so
//     nothing tells whether a credential or an account exists. Failures
//     count toward the login limit: the owner's account and the address
//     when the credential is registered, the address alone otherwise.

// ErrPasskeysOff reports a passkey request to a server that has no
// passkeys: its issuer is not a domain name (HTTP: 404 not_found).
var ErrPasskeysOff = errors.New("accounts: passkeys need an issuer whose host is a domain name")

// errBadPasskeyResponse answers a registration response that does not
// verify or answers no live ceremony.
var errBadPasskeyResponse = &InvalidRequestError{Reason: "the passkey response does not verify or its challenge is unknown, used or expired: begin again"}

// PasskeyLoginRequest is the finish of a passkey login.
type PasskeyLoginRequest struct {
	// Response is the AuthenticationResponseJSON of
	// navigator.credentials.get.
	Response []byte
	// MFAToken, when set, makes the passkey the second factor of the
	// pending login it names (its mode applies; Mode is ignored);
	// otherwise the login is passwordless.
	MFAToken string
	// Mode is what a passwordless login creates; "" is ModeSession.
	Mode Mode
	// Client and CookieSecret are as in LoginRequest.
	Client       session.ClientInfo
	CookieSecret string
}

func (s *Service) passkeys() (*passkey.Service, error) {
	if s.d.Passkeys == nil {
		return nil, ErrPasskeysOff
	}
	return s.d.Passkeys, nil
}

// BeginPasskeyRegistration starts adding a passkey to the user: the
// options for navigator.credentials.create. It is a step-up action (see
// RequireRecentAuth).
func (s *Service) BeginPasskeyRegistration(ctx context.Context, userID, sessionID string) (*protocol.CredentialCreation, error) {
	pk, err := s.passkeys()
	if err != nil {
		return nil, err
	}
	if err := s.RequireRecentAuth(ctx, userID, sessionID); err != nil {
		return nil, err
	}
	u, err := s.d.Users.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return pk.BeginRegistration(ctx, passkey.User{ID: u.ID, Email: u.Email})
}

// FinishPasskeyRegistration verifies the RegistrationResponseJSON body and
// stores the new passkey under name (empty: passkey.DefaultName), then
// records the new key's method (hwk or swk) on the caller's session or
// grant, as ConfirmTOTP records otp. A
// response that does not verify or answers no live ceremony of this user
// is an *InvalidRequestError; a credential registered already is
// store.ErrConflict.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, userID, sessionID, name string, body []byte) (store.PasskeyCredential, error) {
	pk, err := s.passkeys()
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	if err := s.RequireRecentAuth(ctx, userID, sessionID); err != nil {
		return store.PasskeyCredential{}, err
	}
	u, err := s.d.Users.GetUser(ctx, userID)
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	c, err := pk.FinishRegistration(ctx, passkey.User{ID: u.ID, Email: u.Email}, name, body)
	switch {
	case errors.Is(err, passkey.ErrInvalidName):
		return store.PasskeyCredential{}, &InvalidRequestError{Reason: "name must be at most 64 characters, without control characters"}
	case errors.Is(err, passkey.ErrInvalidResponse), errors.Is(err, passkey.ErrCeremony):
		s.log.InfoContext(ctx, "passkey registration refused", "user_id", userID, "err", err)
		return store.PasskeyCredential{}, errBadPasskeyResponse
	case errors.Is(err, passkey.ErrAlreadyRegistered):
		return store.PasskeyCredential{}, fmt.Errorf("accounts: %w: %w", store.ErrConflict, err)
	case err != nil:
		return store.PasskeyCredential{}, err
	}
	if err := s.record(ctx, audit.Event{Type: audit.PasskeyRegistered, UserID: userID,
		Detail: map[string]string{"passkey_id": base64.RawURLEncoding.EncodeToString(c.ID), "name": c.Name}}); err != nil {
		return store.PasskeyCredential{}, err
	}
	// As a confirmed TOTP code does, the new passkey steps the caller's
	// session or grant up: an enrolment-only session (required MFA) is
	// now multi-factor, with the password it logged in with.
	rec, err := s.d.Sessions.Get(ctx, sessionID)
	if err == nil {
		_, err = s.stepUp(ctx, rec, passkey.Methods(c.BackupEligible, false)...)
	}
	if err != nil {
		// The passkey is registered; the session just did not record it.
		s.log.WarnContext(ctx, "could not step up the registering session", "user_id", userID, "err", err)
	}
	return c, nil
}

// ListPasskeys returns the user's passkeys, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, userID string) ([]store.PasskeyCredential, error) {
	pk, err := s.passkeys()
	if err != nil {
		return nil, err
	}
	return pk.List(ctx, userID)
}

// RenamePasskey gives the user's passkey id a new name. A passkey that
// does not exist or belongs to another user is store.ErrNotFound.
func (s *Service) RenamePasskey(ctx context.Context, userID string, id []byte, name string) (store.PasskeyCredential, error) {
	pk, err := s.passkeys()
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	c, err := pk.Rename(ctx, userID, id, name)
	switch {
	case errors.Is(err, passkey.ErrInvalidName):
		return c, &InvalidRequestError{Reason: "name must be at most 64 characters, without control characters"}
	case errors.Is(err, passkey.ErrUnknownCredential):
		return c, fmt.Errorf("accounts: %w: %w", store.ErrNotFound, err)
	}
	return c, err
}

// DeletePasskey removes the user's passkey id. It is a step-up action,
// like removing TOTP (ErrReauthenticationRequired); a passkey that does
// not exist or belongs to another user is store.ErrNotFound. Removing the
// last one makes a password enough again (unless TOTP remains).
func (s *Service) DeletePasskey(ctx context.Context, userID, sessionID string, id []byte) error {
	pk, err := s.passkeys()
	if err != nil {
		return err
	}
	if err := s.RequireRecentAuth(ctx, userID, sessionID); err != nil {
		return err
	}
	err = pk.Delete(ctx, userID, id)
	if errors.Is(err, passkey.ErrUnknownCredential) {
		return fmt.Errorf("accounts: %w: %w", store.ErrNotFound, err)
	}
	if err != nil {
		return err
	}
	return s.record(ctx, audit.Event{Type: audit.PasskeyRemoved, UserID: userID,
		Detail: map[string]string{"passkey_id": base64.RawURLEncoding.EncodeToString(id)}})
}

// BeginPasskeyLogin starts a passkey login: the options for
// navigator.credentials.get. Without mfaToken they ask for a discoverable
// credential (passwordless, no email typed); with it, for one of the
// passkeys of the pending login's user (the passkey as second factor). An
// unknown, used or expired mfa_token is ErrInvalidCredentials; a pending
// login whose user has no passkey is an *InvalidRequestError.
func (s *Service) BeginPasskeyLogin(ctx context.Context, mfaToken string) (*protocol.CredentialAssertion, error) {
	pk, err := s.passkeys()
	if err != nil {
		return nil, err
	}
	if mfaToken == "" {
		return pk.BeginLogin(ctx)
	}
	if s.d.Ceremonies == nil {
		return nil, ErrInvalidCredentials
	}
	// Taken and put back: the token stays usable for the finish.
	c, _, err := s.takePending(ctx, mfaToken)
	if err != nil {
		return nil, err
	}
	opts, err := pk.BeginSecondFactor(ctx, c.UserID)
	if errors.Is(err, passkey.ErrNoPasskeys) {
		err = &InvalidRequestError{Reason: "this account has no passkey: use POST /v1/login/mfa with a code"}
	}
	return opts, s.putBack(ctx, c, err)
}

// LoginPasskey finishes a passkey login (see PasskeyLoginRequest) and
// creates what the mode asks for. Every refusal is ErrInvalidCredentials,
// a *RateLimitedError or ErrUnavailable (see the rules above).
func (s *Service) LoginPasskey(ctx context.Context, req PasskeyLoginRequest) (LoginResult, error) {
	res, err := s.loginPasskey(ctx, req)
	return res, s.recordLogin(ctx, req.Client, res, err)
}

// loginPasskey is LoginPasskey without its login event.
func (s *Service) loginPasskey(ctx context.Context, req PasskeyLoginRequest) (LoginResult, error) {
	pk, err := s.passkeys()
	if err != nil {
		return LoginResult{}, err
	}
	if len(req.Response) == 0 {
		return LoginResult{}, &InvalidRequestError{Reason: "the AuthenticationResponseJSON is required"}
	}
	if req.MFAToken != "" {
		return s.passkeySecondFactor(ctx, pk, req)
	}
	if req.Mode == "" {
		req.Mode = ModeSession
	}
	if req.Mode != ModeSession && req.Mode != ModeToken {
		return LoginResult{}, ErrInvalidMode
	}
	if req.Mode == ModeToken && s.d.Tokens == nil {
		return LoginResult{}, ErrTokenModeOff
	}
	if err := s.d.Users.CheckAddress(ctx, req.Client.IP); err != nil {
		return LoginResult{}, err
	}
	res, err := pk.FinishLogin(ctx, req.Response)
	if err == nil || res.UserID != "" {
		// The account's limit applies before it counts this attempt.
		if lerr := s.d.Users.CheckSecondFactor(ctx, res.UserID, req.Client.IP); lerr != nil {
			return LoginResult{}, lerr
		}
	}
	if err != nil {
		return LoginResult{}, s.failPasskeyLogin(ctx, res.UserID, req.Client.IP, err)
	}
	s.d.Users.ResetSecondFactor(ctx, res.UserID)
	u, err := s.d.Users.GetUser(ctx, res.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return LoginResult{}, ErrInvalidCredentials
	}
	if err != nil {
		return LoginResult{}, s.loginIncomplete(ctx, err)
	}
	if s.lc.RequireVerifiedEmail && !u.EmailVerified {
		return LoginResult{}, ErrEmailNotVerified
	}
	out, err := s.completeLogin(ctx, u, req.Mode, req.CookieSecret, req.Client, authcontext.New(s.now(), res.Methods...))
	if err == nil {
		err = s.revokeIfChanged(ctx, u, nil)
	}
	if err != nil {
		return LoginResult{}, s.loginIncomplete(ctx, err)
	}
	return out, nil
}

// passkeySecondFactor finishes the pending login of req.MFAToken with a
// passkey of its user.
func (s *Service) passkeySecondFactor(ctx context.Context, pk *passkey.Service, req PasskeyLoginRequest) (LoginResult, error) {
	if s.d.Ceremonies == nil {
		return LoginResult{}, ErrInvalidCredentials
	}
	c, p, err := s.takePending(ctx, req.MFAToken)
	if err != nil {
		return LoginResult{}, err
	}
	if err := s.d.Users.CheckSecondFactor(ctx, c.UserID, req.Client.IP); err != nil {
		return LoginResult{}, s.putBack(ctx, c, err)
	}
	res, err := pk.FinishSecondFactor(ctx, c.UserID, req.Response)
	if err != nil {
		if !isPasskeyRefusal(err) {
			return LoginResult{}, s.putBack(ctx, c, s.loginIncomplete(ctx, err))
		}
		s.log.InfoContext(ctx, "passkey second factor refused", "user_id", c.UserID, "err", err)
		if rerr := s.record(ctx, audit.Event{Type: audit.MFAFailed, UserID: c.UserID, IP: req.Client.IP, UserAgent: req.Client.UserAgent,
			Detail: map[string]string{"factor": "passkey"}}); rerr != nil {
			s.log.ErrorContext(ctx, "second factor failure event not stored", "err", rerr)
		}
		return LoginResult{}, s.failPending(ctx, c, req.Client.IP)
	}
	if err := s.record(ctx, audit.Event{Type: audit.MFASucceeded, UserID: c.UserID, IP: req.Client.IP, UserAgent: req.Client.UserAgent,
		Detail: map[string]string{"factor": "passkey"}}); err != nil {
		return LoginResult{}, s.loginIncomplete(ctx, err)
	}
	return s.completePending(ctx, c, p, req.Client, req.CookieSecret,
		authcontext.New(s.now(), append([]authcontext.Method{authcontext.Password}, res.Methods...)...))
}

// failPasskeyLogin counts a refused passwordless login against the
// credential's owner and the address (or the address alone when no
// registered credential was named) and answers ErrInvalidCredentials, or
// ErrUnavailable for a system failure.
func (s *Service) failPasskeyLogin(ctx context.Context, userID, clientAddr string, err error) error {
	if !isPasskeyRefusal(err) {
		return s.loginIncomplete(ctx, err)
	}
	s.log.InfoContext(ctx, "passkey login refused", "user_id", userID, "err", err)
	var ferr error
	if userID != "" {
		ferr = s.d.Users.FailSecondFactor(ctx, userID, clientAddr)
	} else {
		ferr = s.d.Users.FailAddress(ctx, clientAddr)
	}
	if ferr != nil {
		return ferr
	}
	if userID != "" {
		return &identity.LoginFailure{UserID: userID, Reason: audit.ReasonInvalidCredentials}
	}
	return ErrInvalidCredentials
}

// isPasskeyRefusal reports whether err is the ceremony's refusal of a
// response (as opposed to a system failure).
func isPasskeyRefusal(err error) bool {
	for _, e := range []error{passkey.ErrInvalidResponse, passkey.ErrCeremony, passkey.ErrUnknownCredential, passkey.ErrClonedAuthenticator} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// PasskeysEnabled reports whether the server serves passkeys (its issuer
// is a domain name), for the pages that offer them.
func (s *Service) PasskeysEnabled() bool { return s.d.Passkeys != nil }
