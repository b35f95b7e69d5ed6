package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/token"
)

// TokenIssuer starts token grants for logins in token mode. The token
// service implements it.
type TokenIssuer interface {
	// LoginTokens creates a token grant for u and returns the token
	// response (access_token, token_type, expires_in, refresh_token,
	// scope).
	LoginTokens(ctx context.Context, u store.User, ci session.ClientInfo) (token.Response, error)
}

// SubjectRevoker records a subject-wide revocation: every token whose
// "sub" is subject and that was issued before now is refused. The
// revocation log implements it.
type SubjectRevoker interface {
	RevokeUser(ctx context.Context, subject string) error
}

// Deps are the services the accounts Service composes. Users is always
// required; Sessions by every method that creates or revokes a record
// (all but Signup and CreateUser, which is what "gatehouse user create"
// wires); Tokens by token-mode logins (nil turns token mode off);
// Revocations by RevokeClient.
type Deps struct {
	Users       *identity.Service
	Sessions    *session.Manager
	Tokens      TokenIssuer
	Revocations SubjectRevoker
	// MFA and Ceremonies serve second factors (mfa.go): with MFA nil,
	// no login asks for one. Ceremonies keeps the pending two-step logins.
	MFA        *mfa.Service
	Ceremonies store.CeremonyStore
	// ReauthWindow is how recent a login must be for a step-up action;
	// 0 is authcontext.DefaultStepUpWindow (10 minutes).
	ReauthWindow time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log receives what the callers cannot see (a replaced session that
	// could not be ended, a login that could not complete); nil discards.
	Log *slog.Logger
	// Lifecycle configures email verification, recovery and changes of
	// address and password (lifecycle.go); its zero value sends no mail.
	Lifecycle LifecycleConfig
	// Audit records the audit trail's events of the account rules (see
	// events.go); nil records none. The session manager records the
	// session.ended events itself.
	Audit *audit.Recorder
}

// Service owns the account rules. The ones that are easy to get wrong:
//
//   - A login answers ErrInvalidCredentials alike for an unknown email, a
//     wrong password and a disabled account, and is limited per account
//     and per client address (identity.Service.Login).
//   - A browser login never reuses the session that came with the
//     request (session fixation): that one is ended and a new one created.
//   - After a login has created its session or token grant it rereads
//     the user (identity.Service.Recheck). An administrator who disables,
//     deletes or resets the password of the account while the password is
//     being checked revokes the user's records before the new one exists;
//     the reread closes that window, and a changed account loses the new
//     record and answers ErrInvalidCredentials.
//   - A server failure after the password was accepted answers
//     ErrUnavailable, as a failing rate limiter does, so an outage does not
//     tell a right guess from a wrong one.
//   - Disabling an account, or resetting its password (it may have been
//     stolen), revokes every session and grant of the user at once.
//   - Deleting an account disables it first, then revokes, then deletes,
//     so no login can start a session between the revocation and the
//     deletion.
//   - A deleted OAuth client loses the grants its users gave it and its
//     own client credentials tokens (a subject-wide revocation of its id);
//     a withdrawn consent revokes the user's grants to that client.
type Service struct {
	d   Deps
	lc  LifecycleConfig
	log *slog.Logger
	now func() time.Time
}

// New returns the Service on d.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	lc := d.Lifecycle
	if lc.Now == nil {
		lc.Now = now
	}
	lc.defaults()
	return &Service{d: d, lc: lc, log: log, now: now}
}

// Aliases of the identity types the Service takes, so that callers need
// only this package.
type (
	// NewUser is an account to create.
	NewUser = identity.NewUser
	// UserUpdate is an administrative change; nil fields stay as they are.
	UserUpdate = identity.UserUpdate
)

// Signup creates an account through self-service signup (closed unless
// the server allows it), limited per client address, and mails it a
// verification link when mail is configured.
func (s *Service) Signup(ctx context.Context, email, pw, clientAddr string) (store.User, error) {
	if email == "" || pw == "" {
		return store.User{}, ErrMissingCredentials
	}
	u, err := s.d.Users.Signup(ctx, NewUser{Email: email, Password: pw, Events: []audit.Event{{Type: audit.UserSignedUp, Actor: audit.Actor{Kind: audit.ActorUser}}}}, clientAddr)
	if err != nil {
		return store.User{}, err
	}
	s.sendSignupVerification(ctx, u)
	return u, nil
}

// Mode is what a login creates.
type Mode string

// The login modes.
const (
	// ModeSession creates a cookie session (the default).
	ModeSession Mode = "session"
	// ModeToken creates a token grant: an access and a refresh token.
	ModeToken Mode = "token"
)

// LoginRequest is a password login.
type LoginRequest struct {
	Email    string
	Password string
	// Mode is what the login creates; "" is ModeSession.
	Mode Mode
	// Client describes the user agent, stored with the record; its IP
	// also keys the per-address limit.
	Client session.ClientInfo
	// CookieSecret is the session cookie that came with the request, if
	// any. A session login ends its session, if it is live, once the
	// password is accepted: a session is never reused across logins.
	CookieSecret string
}

// LoginResult is what a login created: Session for ModeSession, Tokens
// (the token response) for ModeToken.
type LoginResult struct {
	User    store.User
	Mode    Mode
	Session session.Created
	Tokens  token.Response
}

// Login checks the password and creates what req.Mode asks for. Bad
// requests are ErrInvalidMode, ErrMissingCredentials and ErrTokenModeOff;
// a refused login is ErrInvalidCredentials, a *RateLimitedError or
// ErrUnavailable (see Service for the rules), or, once the password is
// right, ErrEmailNotVerified when verified addresses are required.
func (s *Service) Login(ctx context.Context, req LoginRequest) (LoginResult, error) {
	res, err := s.login(ctx, req)
	return res, s.recordLogin(ctx, req.Client, res, err)
}

// login is Login without its audit event.
func (s *Service) login(ctx context.Context, req LoginRequest) (LoginResult, error) {
	if req.Mode == "" {
		req.Mode = ModeSession
	}
	if req.Mode != ModeSession && req.Mode != ModeToken {
		return LoginResult{}, ErrInvalidMode
	}
	if req.Email == "" || req.Password == "" {
		return LoginResult{}, ErrMissingCredentials
	}
	if req.Mode == ModeToken && s.d.Tokens == nil {
		return LoginResult{}, ErrTokenModeOff
	}
	u, err := s.d.Users.Login(ctx, req.Email, req.Password, req.Client.IP)
	if err != nil {
		return LoginResult{}, err
	}
	if s.lc.RequireVerifiedEmail && !u.EmailVerified {
		return LoginResult{User: u}, ErrEmailNotVerified
	}
	if on, err := s.mfaEnabled(ctx, u); err != nil || on {
		if err == nil {
			err = s.beginMFA(ctx, u, req.Mode)
		}
		var required *MFARequiredError
		if errors.As(err, &required) {
			return LoginResult{}, err
		}
		return LoginResult{}, s.loginIncomplete(ctx, err)
	}
	res := LoginResult{User: u, Mode: req.Mode}
	if req.Mode == ModeToken {
		res.Tokens, err = s.d.Tokens.LoginTokens(ctx, u, req.Client)
	} else {
		res.Session, err = s.startBrowserSession(ctx, u, req.CookieSecret, req.Client)
	}
	if err == nil {
		err = s.revokeIfLocked(ctx, u, req.Password)
	}
	if err != nil {
		return LoginResult{User: u}, s.loginIncomplete(ctx, err)
	}
	return res, nil
}

// startBrowserSession ends the session of oldSecret, if it is live, and
// creates the new one.
func (s *Service) startBrowserSession(ctx context.Context, u store.User, oldSecret string, ci session.ClientInfo) (session.Created, error) {
	if oldSecret != "" {
		if old, err := s.d.Sessions.AuthenticateCookie(ctx, oldSecret); err == nil {
			if err := s.d.Sessions.Revoke(ctx, old.UserID, old.ID, audit.EndReplaced); err != nil {
				s.log.WarnContext(ctx, "could not end the replaced session", "err", err)
			}
		}
	}
	return s.d.Sessions.CreateCookie(ctx, u.ID, ci)
}

// revokeIfLocked rereads the user once a login has created its record
// (see Service); when the account changed meanwhile, the user's records
// are revoked and the login answers ErrInvalidCredentials.
func (s *Service) revokeIfLocked(ctx context.Context, u store.User, pw string) error {
	err := s.d.Users.Recheck(ctx, u, pw)
	if !errors.Is(err, ErrInvalidCredentials) {
		return err // nil, or a store error
	}
	if _, err := s.d.Sessions.RevokeUser(ctx, u.ID, "", audit.EndRevoked); err != nil {
		return err
	}
	return ErrInvalidCredentials
}

// loginIncomplete turns a server failure after the password was accepted
// into ErrUnavailable, the answer a wrong password gets when the login
// cannot complete. The refusals of the rules pass as they are.
func (s *Service) loginIncomplete(ctx context.Context, err error) error {
	var rl *RateLimitedError
	switch {
	case errors.Is(err, ErrInvalidCredentials), errors.Is(err, ErrUnavailable),
		errors.Is(err, password.ErrBusy), errors.As(err, &rl):
		return err
	}
	s.log.ErrorContext(ctx, "login could not complete", "err", err)
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Logout ends the session or grant sessionID of userID; an empty
// sessionID (an admin or client credentials principal) ends nothing.
func (s *Service) Logout(ctx context.Context, userID, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	return s.d.Sessions.Revoke(ctx, userID, sessionID, audit.EndLogout)
}

// CreateUser creates an account as an administrator does (the admin API
// and "gatehouse user create"): signup need not be open. An address in
// use is store.ErrConflict.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (store.User, error) {
	nu.Events = append(nu.Events, audit.Event{Type: audit.UserCreated})
	return s.d.Users.CreateUser(ctx, nu)
}

// UpdateUser applies an administrative change. When it leaves the account
// disabled or sets its password, every session and grant of the user is
// revoked.
func (s *Service) UpdateUser(ctx context.Context, id string, up UserUpdate) (store.User, error) {
	up.Events = append(up.Events, updateEvents(id, up)...)
	u, err := s.d.Users.UpdateUser(ctx, id, up)
	if err != nil {
		return store.User{}, err
	}
	if u.Disabled || up.Password != nil {
		reason := audit.EndPasswordChanged
		if u.Disabled {
			reason = audit.EndUserDisabled
		}
		if _, err := s.d.Sessions.RevokeUser(ctx, id, "", reason); err != nil {
			return store.User{}, fmt.Errorf("accounts: revoke sessions of user %s: %w", id, err)
		}
	}
	return u, nil
}

// DeleteUser disables the account, revokes its sessions and grants, and
// deletes it. An unknown id is store.ErrNotFound; a user deleted by a
// concurrent call between the steps is not an error.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	disabled := true
	if _, err := s.d.Users.UpdateUser(ctx, id, UserUpdate{Disabled: &disabled}); err != nil {
		return err
	}
	if _, err := s.d.Sessions.RevokeUser(ctx, id, "", audit.EndUserDeleted); err != nil {
		return fmt.Errorf("accounts: revoke sessions of user %s: %w", id, err)
	}
	if err := s.d.Users.DeleteUser(ctx, id, audit.Event{Type: audit.UserDeleted, UserID: id}); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// RevokeSessions revokes every session and grant of the user id; an
// unknown id is store.ErrNotFound.
func (s *Service) RevokeSessions(ctx context.Context, id string) error {
	if _, err := s.d.Users.GetUser(ctx, id); err != nil {
		return err
	}
	if _, err := s.d.Sessions.RevokeUser(ctx, id, "", audit.EndAdminRevoked); err != nil {
		return fmt.Errorf("accounts: revoke sessions of user %s: %w", id, err)
	}
	return nil
}

// RevokeClient revokes what was issued to a deleted OAuth client: the
// grants its users gave it, and its own client credentials tokens, whose
// "sub" is the client id (a subject-wide revocation, as for a user). It
// is the OnDelete hook of oauth.Clients.
func (s *Service) RevokeClient(ctx context.Context, clientID string) error {
	_, err := s.d.Sessions.RevokeClient(ctx, clientID, audit.EndClientDeleted)
	return errors.Join(err, s.d.Revocations.RevokeUser(ctx, clientID))
}

// RevokeUserClient revokes the grants userID gave clientID, when the user
// withdraws their consent to it. It is the OnConsentRevoked hook of
// oauth.Authorizer.
func (s *Service) RevokeUserClient(ctx context.Context, userID, clientID string) error {
	records, err := s.d.Sessions.List(ctx, userID)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range records {
		if r.ClientID == clientID {
			if err := s.d.Sessions.Revoke(ctx, userID, r.ID, audit.EndConsentRevoked); err != nil && !errors.Is(err, session.ErrInvalid) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
