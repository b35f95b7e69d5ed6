package accounts

import (
	"errors"

	"github.com/gatehouse-auth/gatehouse/internal/identity"
)

// Errors of the Service. They are categories for errors.Is: each
// transport maps them to its own answers (internal/httpapi to the codes of
// the HTTP contract). The identity errors pass through unchanged and are
// repeated here so that callers need only this package.
var (
	// ErrInvalidCredentials is the one answer to an unknown email, a
	// wrong password, a disabled or deleted account, and a login that an
	// administrator's change overtook (see Service.Login).
	ErrInvalidCredentials = identity.ErrInvalidCredentials
	// ErrUnavailable refuses a login that cannot be limited or completed
	// right now, with the same answer whether the password was right.
	ErrUnavailable = identity.ErrUnavailable
	// ErrSignupClosed reports that self-service signup is off.
	ErrSignupClosed = identity.ErrSignupClosed
	// ErrTokenModeOff reports a token-mode login on a server without a
	// token issuer.
	ErrTokenModeOff = &InvalidRequestError{Reason: "token mode is not available on this server"}
	// ErrInvalidMode reports a login mode other than ModeSession and
	// ModeToken.
	ErrInvalidMode = &InvalidRequestError{Reason: `mode must be "session" or "token"`}
	// ErrMissingCredentials reports an empty email or password.
	ErrMissingCredentials = &InvalidRequestError{Reason: "email and password are required"}
	// ErrMissingToken reports a confirmation without a token.
	ErrMissingToken = &InvalidRequestError{Reason: "token is required"}
	// ErrInvalidToken is the one answer to a one-time token that is
	// unknown, used, expired or superseded, or whose account changed
	// (HTTP: 400 invalid_token).
	ErrInvalidToken = errors.New("accounts: invalid, used or expired token")
	// ErrEmailNotVerified refuses, with --require-verified-email, the
	// login of an account whose address is not verified, once the
	// password is right (HTTP: 403 email_not_verified).
	ErrEmailNotVerified = errors.New("accounts: email address not verified")
	// ErrMailOff reports a lifecycle request on a server that sends no
	// mail (no Mailer configured; HTTP: 404 not_found, as for a route
	// that does not exist).
	ErrMailOff = errors.New("accounts: mail is not configured")
	// ErrMFAEnrolmentRequired refuses what a user who must use a second
	// factor and has none may not do yet: a token-mode login (nothing is
	// created), or any request of an enrolment-only session but those
	// that enrol a factor (HTTP: 403 mfa_enrolment_required).
	ErrMFAEnrolmentRequired = errors.New("accounts: a second factor must be enrolled first")
)

// InvalidRequestError is a request that no account rule can take, refused
// before anything is looked up or changed (HTTP: 400 invalid_request).
// Reason is safe to show to the client.
type InvalidRequestError struct {
	Reason string
}

func (e *InvalidRequestError) Error() string { return "accounts: " + e.Reason }

// RateLimitedError reports too many attempts (see identity).
type RateLimitedError = identity.RateLimitedError
