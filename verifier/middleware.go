package verifier

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Middleware returns a handler that authenticates each request with
// Authenticate and calls next with the Principal in the request context
// (read it with FromContext). Otherwise it answers, without calling next:
//
//   - 401 with WWW-Authenticate: Bearer realm="..." when the request has
//     no credentials (RFC 6750 §3.1: no error code then);
//   - 401 with error="invalid_token" when the token (or cookie) is
//     invalid, expired or revoked;
//   - 400 with error="invalid_request" for a malformed Authorization
//     header;
//   - 403 with error="insufficient_scope" when a required scope is
//     missing, and 403 when a cookie-authenticated unsafe request comes
//     from another origin;
//   - 503 when the issuer could not be reached to decide.
//
// Each error answer has a JSON body {"error", "error_description"} with
// a fixed description; the detailed error is never sent to the client.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := v.Authenticate(r)
		if err != nil {
			v.writeError(w, err, nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

// RequireScope returns middleware, for use inside Middleware, that
// answers 403 with error="insufficient_scope" (RFC 6750 §3.1) unless the
// request's Principal has every one of scopes, and 401 if there is no
// Principal at all.
func (v *Verifier) RequireScope(scopes ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				v.writeError(w, ErrNoCredentials, nil)
				return
			}
			if missing := p.missingScope(scopes); missing != "" {
				v.writeError(w, fmt.Errorf("%w: lacks %q", ErrScope, missing), scopes)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// errCrossOrigin reports a cookie-authenticated unsafe request from
// another origin.
var errCrossOrigin = errors.New("verifier: cross-origin request with a session cookie")

// Authenticate finds and checks the credential of r: the bearer token of
// its Authorization header if it has one (RFC 6750 §2.1; a bad token is
// not retried as a cookie), else, when cookies are enabled, the session
// cookie. A request with neither fails with ErrNoCredentials.
// Cookie-authenticated requests with unsafe methods must also pass the
// cross-origin check.
func (v *Verifier) Authenticate(r *http.Request) (*Principal, error) {
	if hs := r.Header.Values("Authorization"); len(hs) > 0 {
		if len(hs) > 1 {
			return nil, fmt.Errorf("%w: %d Authorization headers", ErrBadRequest, len(hs))
		}
		scheme, tok, _ := strings.Cut(hs[0], " ")
		if strings.EqualFold(scheme, "Bearer") {
			tok = strings.Trim(tok, " ")
			if tok == "" || strings.ContainsAny(tok, " \t,") {
				return nil, fmt.Errorf("%w: malformed bearer token", ErrBadRequest)
			}
			return v.Verify(r.Context(), tok)
		}
		// Another scheme (Basic, say) is not ours: as if absent.
	}
	if v.sessions != nil {
		if ck, err := r.Cookie(v.cfg.SessionCookie.Name); err == nil {
			if v.cop != nil {
				if err := v.cop.Check(r); err != nil {
					return nil, fmt.Errorf("%w: %w", errCrossOrigin, err)
				}
			}
			return v.VerifySession(r.Context(), ck.Value)
		}
	}
	return nil, ErrNoCredentials
}

// writeError answers a failed authentication. scopes are the scopes to
// name in an insufficient_scope challenge.
func (v *Verifier) writeError(w http.ResponseWriter, err error, scopes []string) {
	status, code, desc := classify(err)
	if scopes == nil && errors.Is(err, ErrScope) {
		scopes = v.cfg.RequiredScopes
	}
	h := w.Header()
	challenge := `Bearer realm=` + quote(v.cfg.Realm)
	if code != "" && status != http.StatusServiceUnavailable && !errors.Is(err, errCrossOrigin) {
		challenge += `, error=` + quote(code) + `, error_description=` + quote(desc)
		if code == "insufficient_scope" && len(scopes) > 0 {
			challenge += `, scope=` + quote(strings.Join(scopes, " "))
		}
	}
	if status == http.StatusUnauthorized || code == "insufficient_scope" || code == "invalid_request" {
		h.Set("WWW-Authenticate", challenge)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if code == "" {
		code = "unauthenticated"
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%s,"error_description":%s}`+"\n", quote(code), quote(desc))
}

// classify maps an authentication error to its status, RFC 6750 error
// code ("" for none) and public description.
func classify(err error) (status int, code, desc string) {
	var exp *ExpiredError
	switch {
	case errors.Is(err, ErrNoCredentials):
		return http.StatusUnauthorized, "", "authentication required"
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest, "invalid_request", "the Authorization header is malformed"
	case errors.Is(err, errCrossOrigin):
		return http.StatusForbidden, "forbidden", "cross-origin request refused"
	case errors.Is(err, ErrScope):
		return http.StatusForbidden, "insufficient_scope", "the access token lacks a required scope"
	case errors.As(err, &exp):
		return http.StatusUnauthorized, "invalid_token", "the access token expired"
	case errors.Is(err, ErrRevoked):
		return http.StatusUnauthorized, "invalid_token", "the credential has been revoked"
	case errors.Is(err, ErrSessionInactive):
		return http.StatusUnauthorized, "invalid_token", "the session is not active"
	case errors.Is(err, ErrAudience):
		return http.StatusUnauthorized, "invalid_token", "the access token is not for this resource server"
	case errors.Is(err, ErrInvalidToken):
		return http.StatusUnauthorized, "invalid_token", "the access token is invalid"
	}
	return http.StatusServiceUnavailable, "temporarily_unavailable", "the credential cannot be checked right now"
}

// quote returns s as an RFC 9110 quoted-string, which is also a valid
// JSON string for the ASCII text this package puts in it.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			// Not allowed in a header; not expected in a realm.
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
