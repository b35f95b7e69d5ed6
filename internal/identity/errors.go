package identity

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by the Service. Store errors (store.ErrNotFound,
// store.ErrConflict) pass through wrapped.
var (
	// ErrInvalidCredentials is the one answer to an unknown email, a wrong
	// password and a disabled account alike.
	ErrInvalidCredentials = errors.New("identity: invalid credentials")
	// ErrInvalidEmail reports an address that cannot be an email address.
	ErrInvalidEmail = errors.New("identity: invalid email address")
	// ErrInvalidPassword reports a password outside the allowed length.
	ErrInvalidPassword = fmt.Errorf("identity: password must be %d to %d bytes", MinPasswordLen, MaxPasswordLen)
	// ErrInvalidClaims reports custom claims that are not allowed.
	ErrInvalidClaims = errors.New("identity: invalid claims")
	// ErrSignupClosed reports that self-service signup is turned off.
	ErrSignupClosed = errors.New("identity: signup is closed")
	// ErrUnavailable reports that a login or signup cannot be limited
	// right now (the shared rate limiter is down), so it is refused
	// before the password is looked at: the answer is the same whether
	// the password was right or wrong, and no guess is ever unlimited.
	ErrUnavailable = errors.New("identity: temporarily unavailable")
	// ErrEmailChanged reports that an update conditioned on the account's
	// address (UserUpdate.IfEmail) found another one.
	ErrEmailChanged = errors.New("identity: the account's address changed")
)

// RateLimitedError reports that too many attempts were made; RetryAfter
// says when the next may succeed.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("identity: too many attempts, retry after %s", e.RetryAfter)
}

// LoginFailure is the ErrInvalidCredentials of a refused login whose
// account is known (a wrong password, a disabled account), for the audit
// trail: errors.Is(err, ErrInvalidCredentials) holds, its message is
// ErrInvalidCredentials', and callers answer it exactly as they answer an
// unknown address. Its fields must never reach the client.
type LoginFailure struct {
	// UserID is the account the attempt named.
	UserID string
	// Reason is "invalid_credentials" or "disabled" (audit.Reason…).
	Reason string
}

func (e *LoginFailure) Error() string { return ErrInvalidCredentials.Error() }

// Unwrap returns ErrInvalidCredentials.
func (e *LoginFailure) Unwrap() error { return ErrInvalidCredentials }
