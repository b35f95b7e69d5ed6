// Package authn defines the Principal: who a request is from, whichever
// path authenticated it (a session cookie or a bearer JWT). Handlers see a
// Principal and never care which path produced it.
package authn

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
)

// Method names how a principal authenticated; the values appear in
// GET /v1/me as "auth.method".
type Method string

// The authentication methods.
const (
	MethodSession Method = "session"
	MethodJWT     Method = "jwt"
	MethodAdmin   Method = "admin_token"
)

// Principal is the authenticated caller of one request.
type Principal struct {
	// Method is how the caller authenticated.
	Method Method
	// UserID is the user, or empty for the admin token and for client
	// credentials tokens.
	UserID string
	// ClientID is the OAuth client a token was issued to, if any.
	ClientID string
	// SessionID is the public id of the session record (the "sid"), if any.
	SessionID string
	// ExpiresAt is when this authentication ends: the session's next
	// timeout, or the token's "exp".
	ExpiresAt time.Time
	// Scopes are the scopes a token carries.
	Scopes []string
	// Auth is how and when the user authenticated: the session record's
	// (as cached by this instance), or a token's amr and auth_time. Zero
	// for the admin token and client credentials tokens. Step-up
	// decisions read the record again (accounts.RequireRecentAuth).
	Auth authcontext.Authentication
	// EnrolmentOnly marks a session that may only enrol a second factor
	// (store.Session.EnrolmentOnly).
	EnrolmentOnly bool
	// CookieSecret is the session cookie's secret, kept for the request so
	// CSRF tokens can be derived and checked. Empty for other methods.
	CookieSecret string
}

// HasScope reports whether the principal carries scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

type ctxKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal carried by ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
