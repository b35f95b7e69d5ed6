package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/passkey"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/totp"
)

// Step-up (issue #14). Sensitive actions need a recent authentication of
// the very session or grant that asks (RequireRecentAuth). The user gets
// one without logging in again: Reauthenticate proves the account's
// credentials once more and moves the record's authentication time
// forward in place, adding the method used (a second factor given to a
// password session makes it multi-factor: the "missing factor" of an
// acr_values request). The record keeps its id and cookie; see
// docs/decisions.md ("Step-up in place").

// ReauthRequest re-authenticates the session or grant SessionID of
// UserID.
type ReauthRequest struct {
	UserID, SessionID string
	// Password is the account's password; Code a current TOTP code or an
	// unused recovery code. An account with TOTP must send a Code (the
	// Password, if sent too, is checked as well); one without sends the
	// Password. A passkey re-authenticates through BeginPasskeyReauth and
	// ReauthenticatePasskey instead.
	Password, Code string
	// ClientAddr keys the per-address limit.
	ClientAddr string
}

// Reauthenticate checks the credentials of req and records on the caller's
// session or grant that the user authenticated now with them. It returns
// the updated record. A wrong password or code is ErrInvalidCredentials
// and counts toward the account's login limit (then a
// *RateLimitedError); a request without the proof the account needs is an
// *InvalidRequestError; a caller without a record (an admin or client
// token) is ErrReauthenticationRequired.
func (s *Service) Reauthenticate(ctx context.Context, req ReauthRequest) (store.Session, error) {
	if req.Password == "" && req.Code == "" {
		return store.Session{}, &InvalidRequestError{Reason: "password or code is required"}
	}
	rec, err := s.ownRecord(ctx, req.UserID, req.SessionID)
	if err != nil {
		return store.Session{}, err
	}
	u, err := s.d.Users.GetUser(ctx, req.UserID)
	if err != nil {
		return store.Session{}, err
	}
	hasFactor, err := s.mfaEnabled(ctx, u)
	if err != nil {
		return store.Session{}, err
	}
	var methods []authcontext.Method
	switch {
	case hasFactor && req.Code == "":
		return store.Session{}, &InvalidRequestError{Reason: "this account has a second factor: send a code"}
	case !hasFactor && req.Password == "":
		return store.Session{}, &InvalidRequestError{Reason: "this account has no TOTP factor: send the password, or use a passkey (POST /v1/reauth/passkey/begin and finish)"}
	}
	if req.Password != "" {
		checked, err := s.d.Users.Login(ctx, u.Email, req.Password, req.ClientAddr)
		if err != nil {
			s.recordReauthFailure(ctx, u.ID, req, err)
			return store.Session{}, err
		}
		if checked.ID != u.ID {
			return store.Session{}, ErrInvalidCredentials
		}
		methods = append(methods, authcontext.Password)
	}
	if req.Code != "" {
		if !hasFactor {
			return store.Session{}, &InvalidRequestError{Reason: "this account has no second factor"}
		}
		if err := s.verifyCode(ctx, u.ID, req.Code, req.ClientAddr, ErrInvalidCredentials); err != nil {
			return store.Session{}, err
		}
		methods = append(methods, authcontext.OTP)
	}
	return s.stepUp(ctx, rec, methods...)
}

// recordReauthFailure writes login.failed for a refused password at
// POST /v1/reauth, as a refused login writes it, with "action": "step_up"
// and the session that asked: a wrong password is a wrong password,
// whether it was typed at /login or on /reauth. A failure to record is
// logged; the answer stays the refusal.
func (s *Service) recordReauthFailure(ctx context.Context, userID string, req ReauthRequest, err error) {
	reason, ok := loginFailure(err)
	if !ok {
		return
	}
	var lf *identity.LoginFailure
	if errors.As(err, &lf) && lf.Reason != "" {
		reason = lf.Reason
	}
	// IP and user agent come from the request's audit source.
	e := audit.Event{Type: audit.LoginFailed, UserID: userID, SessionID: req.SessionID,
		Actor:  audit.Actor{Kind: audit.ActorUser, ID: userID},
		Detail: map[string]string{"reason": reason, "action": "step_up"}}
	if rerr := s.record(ctx, e); rerr != nil {
		s.log.ErrorContext(ctx, "step-up failure event not stored", "err", rerr)
	}
}

// verifyCode checks a TOTP or recovery code of userID under the account's
// login limit; a wrong one counts toward it and is wrong.
func (s *Service) verifyCode(ctx context.Context, userID, code, clientAddr string, wrong error) error {
	if err := s.d.Users.CheckSecondFactor(ctx, userID, clientAddr); err != nil {
		return err
	}
	v, err := s.d.MFA.Verify(ctx, userID, code)
	if err != nil {
		if errors.Is(err, mfa.ErrInvalidCode) {
			if ferr := s.d.Users.FailSecondFactor(ctx, userID, clientAddr); ferr != nil {
				return ferr
			}
			s.log.InfoContext(ctx, "wrong second factor", "user_id", userID, "replay", errors.Is(err, totp.ErrReplayed))
			if rerr := s.record(ctx, audit.Event{Type: audit.MFAFailed, UserID: userID,
				Detail: map[string]string{"action": "step_up", "replay": boolString(errors.Is(err, totp.ErrReplayed))}}); rerr != nil {
				return rerr
			}
			return wrong
		}
		if errors.Is(err, mfa.ErrNotEnrolled) {
			return &InvalidRequestError{Reason: "this account has no second factor"}
		}
		return err
	}
	s.d.Users.ResetSecondFactor(ctx, userID)
	events := mfaEvents(userID, session.ClientInfo{}, v)
	events[0].Detail["action"] = "step_up"
	return s.record(ctx, events...)
}

// stepUp records on rec that its user authenticated now with methods: the
// methods join the record's, its time moves to now, and an enrolment-only
// session that becomes multi-factor is no longer restricted.
func (s *Service) stepUp(ctx context.Context, rec store.Session, methods ...authcontext.Method) (store.Session, error) {
	a := session.AuthOf(rec).With(s.now(), methods...)
	updated, err := s.d.Sessions.UpdateAuth(ctx, rec.ID, a, rec.EnrolmentOnly && !a.MultiFactor())
	if errors.Is(err, session.ErrInvalid) {
		return store.Session{}, ErrReauthenticationRequired
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("accounts: step up session %s: %w", rec.ID, err)
	}
	return updated, nil
}

// DeleteOwnAccount deletes the account of userID at its own request
// (DELETE /v1/me) through DeleteUser's disable, revoke, delete path. It is
// a step-up action: the session or grant sessionID must have
// authenticated within the window (ErrReauthenticationRequired); no
// password is taken in the request (see docs/decisions.md).
func (s *Service) DeleteOwnAccount(ctx context.Context, userID, sessionID string) error {
	if err := s.RequireRecentAuth(ctx, userID, sessionID); err != nil {
		return err
	}
	return s.DeleteUser(ctx, userID)
}

// HasSecondFactor reports whether the user has a second factor to give
// (what a step-up to multi-factor asks for): a confirmed TOTP factor or a
// passkey (when the server serves passkeys).
func (s *Service) HasSecondFactor(ctx context.Context, userID string) (bool, error) {
	factors, err := s.FactorKinds(ctx, userID)
	return len(factors) > 0, err
}

// FactorKinds returns the second factors the user can give, as a login's
// *MFARequiredError lists them: FactorTOTP, then FactorPasskey. None
// means a password is all the account can give.
func (s *Service) FactorKinds(ctx context.Context, userID string) ([]string, error) {
	return s.mfaFactors(ctx, store.User{ID: userID})
}

// BeginPasskeyReauth starts re-authenticating the caller's session or
// grant sessionID with a passkey of userID (step-up): the options for
// navigator.credentials.get, listing the user's passkeys. A user without
// a passkey is an *InvalidRequestError; a caller without a record is
// ErrReauthenticationRequired.
func (s *Service) BeginPasskeyReauth(ctx context.Context, userID, sessionID string) (*protocol.CredentialAssertion, error) {
	pk, err := s.passkeys()
	if err != nil {
		return nil, err
	}
	if _, err := s.ownRecord(ctx, userID, sessionID); err != nil {
		return nil, err
	}
	opts, err := pk.BeginSecondFactor(ctx, userID)
	if errors.Is(err, passkey.ErrNoPasskeys) {
		return nil, &InvalidRequestError{Reason: "this account has no passkey: use POST /v1/reauth with a password or code"}
	}
	return opts, err
}

// ReauthenticatePasskey finishes a passkey step-up begun by
// BeginPasskeyReauth: it verifies the AuthenticationResponseJSON body
// against a live ceremony of userID and records on the session or grant
// sessionID that the user authenticated now with the passkey's methods
// (hwk or swk, and user when the authenticator verified the user). It
// returns the updated record. A response that does not verify, answers
// no live ceremony of this user (stale, used, another user's) or comes
// from a cloned authenticator is ErrInvalidCredentials, counted toward
// the account's login limit (then a *RateLimitedError), and changes
// nothing.
func (s *Service) ReauthenticatePasskey(ctx context.Context, userID, sessionID, clientAddr string, body []byte) (store.Session, error) {
	pk, err := s.passkeys()
	if err != nil {
		return store.Session{}, err
	}
	if len(body) == 0 {
		return store.Session{}, &InvalidRequestError{Reason: "the AuthenticationResponseJSON is required"}
	}
	rec, err := s.ownRecord(ctx, userID, sessionID)
	if err != nil {
		return store.Session{}, err
	}
	if err := s.d.Users.CheckSecondFactor(ctx, userID, clientAddr); err != nil {
		return store.Session{}, err
	}
	res, err := pk.FinishSecondFactor(ctx, userID, body)
	if err != nil {
		if !isPasskeyRefusal(err) {
			return store.Session{}, fmt.Errorf("accounts: passkey step-up: %w", err)
		}
		s.log.InfoContext(ctx, "passkey step-up refused", "user_id", userID, "err", err)
		if ferr := s.d.Users.FailSecondFactor(ctx, userID, clientAddr); ferr != nil {
			return store.Session{}, ferr
		}
		if rerr := s.record(ctx, audit.Event{Type: audit.MFAFailed, UserID: userID, IP: clientAddr,
			Detail: map[string]string{"factor": "passkey", "action": "step_up"}}); rerr != nil {
			return store.Session{}, rerr
		}
		return store.Session{}, ErrInvalidCredentials
	}
	s.d.Users.ResetSecondFactor(ctx, userID)
	if err := s.record(ctx, audit.Event{Type: audit.MFASucceeded, UserID: userID, IP: clientAddr,
		Detail: map[string]string{"factor": "passkey", "action": "step_up"}}); err != nil {
		return store.Session{}, err
	}
	return s.stepUp(ctx, rec, res.Methods...)
}

// ownRecord returns the session or grant sessionID when it belongs to
// userID; otherwise (none, another user's, an admin or client token) it
// is ErrReauthenticationRequired.
func (s *Service) ownRecord(ctx context.Context, userID, sessionID string) (store.Session, error) {
	if sessionID == "" {
		return store.Session{}, ErrReauthenticationRequired
	}
	rec, err := s.d.Sessions.Get(ctx, sessionID)
	if errors.Is(err, session.ErrInvalid) || (err == nil && rec.UserID != userID) {
		return store.Session{}, ErrReauthenticationRequired
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("accounts: read session %s: %w", sessionID, err)
	}
	return rec, nil
}
