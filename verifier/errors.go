package verifier

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by this package. They are categories, tested with
// errors.Is: a rejected token's error matches ErrInvalidToken and one
// specific sentinel below (and, for signature and format problems, the
// package jose sentinel that caused it). Error texts are for logs; they
// may quote short pieces of the token.
var (
	// ErrInvalidToken is the category of every rejected token or session
	// cookie: a client error, answered with 401 and error="invalid_token"
	// (RFC 6750 §3.1).
	ErrInvalidToken = errors.New("verifier: invalid token")
	// ErrMalformed reports a token that is not a well-formed JWT or lacks
	// a required claim ("exp", "iat", "sub").
	ErrMalformed = errors.New("verifier: malformed token")
	// ErrSignature reports a signature that does not verify, an unknown
	// or unusable key, or an algorithm other than the key's; the jose
	// sentinel (jose.ErrBadSignature, jose.ErrUnknownKey,
	// jose.ErrAlgMismatch, jose.ErrUnsupportedAlg, ...) is wrapped too.
	ErrSignature = errors.New("verifier: signature rejected")
	// ErrType reports a "typ" header other than "at+jwt" (RFC 9068 §4).
	ErrType = errors.New("verifier: not an access token")
	// ErrIssuer reports an "iss" other than the configured issuer.
	ErrIssuer = errors.New("verifier: wrong issuer")
	// ErrAudience reports an "aud" that does not name this resource
	// server.
	ErrAudience = errors.New("verifier: wrong audience")
	// ErrExpired reports a token past its "exp" plus the leeway. The
	// error is an *ExpiredError.
	ErrExpired = errors.New("verifier: token expired")
	// ErrNotYetValid reports an "nbf" or "iat" in the future beyond the
	// leeway.
	ErrNotYetValid = errors.New("verifier: token not yet valid")
	// ErrRevoked reports a token or session that the issuer revoked.
	ErrRevoked = errors.New("verifier: token revoked")
	// ErrSessionInactive reports a session cookie the issuer does not
	// know as a live session.
	ErrSessionInactive = errors.New("verifier: session not active")
	// ErrScope reports a valid credential that lacks a required scope.
	// It does not match ErrInvalidToken: the answer is 403 with
	// error="insufficient_scope" (RFC 6750 §3.1).
	ErrScope = errors.New("verifier: insufficient scope")
	// ErrNoCredentials reports a request without a bearer token or an
	// accepted session cookie.
	ErrNoCredentials = errors.New("verifier: no credentials")
	// ErrBadRequest reports a malformed Authorization header, such as
	// two of them or a bearer token with spaces (RFC 6750 §3.1
	// invalid_request).
	ErrBadRequest = errors.New("verifier: malformed authorization")
	// ErrUnavailable reports that the issuer could not be reached or
	// answered nonsense when the verifier needed it: keys for an unknown
	// key ID, an introspection, or (with FailClosedAfter) the revocation
	// feed. It is a server-side failure, answered with 503.
	ErrUnavailable = errors.New("verifier: issuer unavailable")
	// ErrConfig reports an unusable Config or discovery document.
	ErrConfig = errors.New("verifier: invalid configuration")
	// ErrInsecureURL reports a URL that is neither https nor plain http
	// to a loopback address (see Config.InsecureAllowHTTP).
	ErrInsecureURL = errors.New("verifier: insecure URL")
	// ErrClosed reports use of a Verifier after Close.
	ErrClosed = errors.New("verifier: closed")
)

// ExpiredError is the error for a token past its expiry, in the manner of
// go-oidc's TokenExpiredError. It matches both ErrInvalidToken and
// ErrExpired with errors.Is; use errors.As to read the expiry.
type ExpiredError struct {
	// Expiry is the token's "exp".
	Expiry time.Time
	// Now is the time of the check (leeway not included).
	Now time.Time
}

// Error describes the expiry.
func (e *ExpiredError) Error() string {
	return fmt.Sprintf("%v: expired at %s, %s ago", ErrExpired, e.Expiry.UTC().Format(time.RFC3339), e.Now.Sub(e.Expiry).Round(time.Second))
}

// Unwrap returns ErrInvalidToken and ErrExpired.
func (e *ExpiredError) Unwrap() []error { return []error{ErrInvalidToken, ErrExpired} }

// invalid returns an error matching ErrInvalidToken and kind, with detail
// for logs.
func invalid(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{ErrInvalidToken, kind}, args...)...)
}

// invalidCause is invalid with an underlying error that errors.Is also
// matches.
func invalidCause(kind, cause error) error {
	return fmt.Errorf("%w: %w: %w", ErrInvalidToken, kind, cause)
}

// prefixed returns err with the package's "verifier: " prefix once: as
// it is when it has it already (the sentinels above carry it), else
// wrapped, after what when what is not empty.
func prefixed(err error, what string) error {
	if strings.HasPrefix(err.Error(), "verifier: ") {
		return err
	}
	if what == "" {
		return fmt.Errorf("verifier: %w", err)
	}
	return fmt.Errorf("verifier: %s: %w", what, err)
}
