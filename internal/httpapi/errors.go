package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/revocation"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Error codes of the contract.
const (
	codeInvalidRequest       = "invalid_request"
	codeInvalidCredentials   = "invalid_credentials"
	codeUnauthenticated      = "unauthenticated"
	codeForbidden            = "forbidden"
	codeCSRFFailed           = "csrf_failed"
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeConflict             = "conflict"
	codePreconditionFailed   = "precondition_failed"
	codePayloadTooLarge      = "payload_too_large"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeRateLimited          = "rate_limited"
	codeServerError          = "server_error"
	// codeUnavailable answers 503: the request could not be served now
	// and may be retried (as OAuth's temporarily_unavailable).
	codeUnavailable = "temporarily_unavailable"
	// codeInvalidToken answers a one-time token (verification, recovery)
	// that is unknown, used, expired or superseded (400).
	codeInvalidToken = "invalid_token"
	// codeEmailNotVerified refuses, with --require-verified-email, a
	// correct password for an account whose address is unverified (403).
	codeEmailNotVerified = "email_not_verified"
	// codeMFAEnrolmentRequired refuses a user who must use a second
	// factor and has none: a token-mode login, and every request of an
	// enrolment-only session but enrolment (403).
	codeMFAEnrolmentRequired = "mfa_enrolment_required"
)

// apiError is an error answer: a status, a contract code and a description
// safe to show a client. Internal detail goes to the log, never here.
type apiError struct {
	Status      int
	Code        string
	Description string
	// RetryAfter, when set, becomes the Retry-After header.
	RetryAfter time.Duration
	// Bearer adds a WWW-Authenticate header (RFC 6750) to a 401.
	Bearer bool
}

func (e *apiError) Error() string { return e.Code + ": " + e.Description }

func errInvalidRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: fmt.Sprintf(format, args...)}
}

var (
	errUnauthenticated = &apiError{Status: http.StatusUnauthorized, Code: codeUnauthenticated, Description: "authentication required"}
	errCSRF            = &apiError{Status: http.StatusForbidden, Code: codeCSRFFailed, Description: "missing or invalid CSRF token or origin"}
	errForbidden       = &apiError{Status: http.StatusForbidden, Code: codeForbidden, Description: "not allowed"}
	errNotFound        = &apiError{Status: http.StatusNotFound, Code: codeNotFound, Description: "not found"}
	errPrecondition    = &apiError{Status: http.StatusPreconditionFailed, Code: codePreconditionFailed, Description: "If-Match does not match the current ETag"}
	errServer          = &apiError{Status: http.StatusInternalServerError, Code: codeServerError, Description: "internal error"}
	// errUnavailable is the answer to a login that cannot be completed
	// or limited right now, whether its password was right or wrong.
	errUnavailable = &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Description: "temporarily unavailable, retry shortly", RetryAfter: 5 * time.Second}
	// errNotRevoked answers a revocation the revocation log could not
	// store: nothing was revoked, and a retry may succeed.
	errNotRevoked = &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable,
		Description: "the revocation could not be stored; nothing was revoked, retry", RetryAfter: time.Second}
)

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// writeError answers with err as a JSON error. Errors that are not
// *apiError are mapped by category (see asAPIError); anything unknown is
// logged and answered with a bare 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := s.asAPIError(r, err)
	h := w.Header()
	setRetryAfter(w, ae.RetryAfter)
	if ae.Status == http.StatusUnauthorized && ae.Bearer {
		h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="invalid_token", error_description=%q`, s.cfg.Issuer, ae.Description))
	}
	writeJSON(w, ae.Status, errorBody{Error: ae.Code, Description: ae.Description})
}

// setRetryAfter sets the Retry-After header to d in whole seconds,
// rounded up; nothing when d is not positive.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
}

func (s *Server) asAPIError(r *http.Request, err error) *apiError {
	ae := s.asAPIErrorQuiet(err)
	if ae == errServer || ae == errNotRevoked {
		s.log.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "err", err)
	}
	return ae
}

// asAPIErrorQuiet maps err to its answer without logging.
func (s *Server) asAPIErrorQuiet(err error) *apiError {
	var ae *apiError
	var rl *identity.RateLimitedError
	var tooBig *http.MaxBytesError
	var bad *accounts.InvalidRequestError
	var mfaRequired *accounts.MFARequiredError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mfaRequired):
		// The JSON API answers with the token (writeMFARequired); this is
		// for the metrics and the login page.
		return &apiError{Status: http.StatusUnauthorized, Code: codeMFARequired, Description: "a second factor is required"}
	case errors.Is(err, accounts.ErrReauthenticationRequired):
		return &apiError{Status: http.StatusForbidden, Code: codeReauthenticationRequired, Description: "authenticate again (POST /v1/reauth) to do this"}
	case errors.Is(err, accounts.ErrMFAEnrolmentRequired):
		return &apiError{Status: http.StatusForbidden, Code: codeMFAEnrolmentRequired, Description: "this account must set up a second factor first: POST /v1/mfa/totp with a session"}
	case errors.As(err, &bad):
		return errInvalidRequest("%s", bad.Reason)
	case errors.As(err, &rl):
		return &apiError{Status: http.StatusTooManyRequests, Code: codeRateLimited, Description: "too many attempts", RetryAfter: rl.RetryAfter}
	case errors.Is(err, password.ErrBusy):
		return &apiError{Status: http.StatusTooManyRequests, Code: codeRateLimited, Description: "server busy, retry shortly", RetryAfter: time.Second}
	case errors.As(err, &tooBig):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: codePayloadTooLarge, Description: fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)}
	case errors.Is(err, identity.ErrUnavailable):
		return errUnavailable
	case errors.Is(err, accounts.ErrInvalidToken):
		return &apiError{Status: http.StatusBadRequest, Code: codeInvalidToken, Description: "the link is invalid, used, expired or superseded by a newer one"}
	case errors.Is(err, accounts.ErrEmailNotVerified):
		return &apiError{Status: http.StatusForbidden, Code: codeEmailNotVerified, Description: "verify your email address first: open the link mailed to you"}
	case errors.Is(err, accounts.ErrMailOff):
		return errNotFound
	case errors.Is(err, accounts.ErrPasskeysOff):
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Description: "passkeys are off: the issuer's host must be a domain name"}
	case errors.Is(err, identity.ErrInvalidCredentials):
		return &apiError{Status: http.StatusUnauthorized, Code: codeInvalidCredentials, Description: "invalid email or password"}
	case errors.Is(err, identity.ErrInvalidEmail), errors.Is(err, identity.ErrInvalidPassword), errors.Is(err, identity.ErrInvalidClaims):
		return errInvalidRequest("%s", publicMessage(err))
	case errors.Is(err, identity.ErrSignupClosed):
		return &apiError{Status: http.StatusForbidden, Code: codeForbidden, Description: "signup is closed"}
	case errors.Is(err, session.ErrInvalid):
		return errUnauthenticated
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrInvalidData):
		return errInvalidRequest("invalid session data")
	case errors.Is(err, store.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: codeConflict, Description: "already exists"}
	case errors.Is(err, revocation.ErrNotStored):
		return errNotRevoked
	}
	return errServer
}

// publicMessage strips the package prefix from an error meant for clients.
func publicMessage(err error) string {
	msg := err.Error()
	if len(msg) > 10 && msg[:10] == "identity: " {
		return msg[10:]
	}
	return msg
}

// jsonList maps a store listing to its JSON items: never nil, so that an
// empty listing is [] and not null.
func jsonList[T, J any](in []T, toJSON func(T) J) []J {
	out := make([]J, len(in))
	for i, v := range in {
		out[i] = toJSON(v)
	}
	return out
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error","error_description":"internal error"}`)
	}
	w.Header()["Content-Type"] = hdrJSONContent
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
