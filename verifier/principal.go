package verifier

import (
	"context"
	"slices"
	"time"
)

// Method says which credential authenticated a Principal.
type Method string

// The authentication methods.
const (
	// MethodJWT is a bearer access token.
	MethodJWT Method = "jwt"
	// MethodSession is a Gatehouse session cookie, checked through
	// introspection.
	MethodSession Method = "session"
)

// Principal is who made a request, as the credential says. Handlers see
// the same Principal whichever method produced it. Treat it as read-only:
// a session principal may be shared by concurrent requests.
type Principal struct {
	// Method is MethodJWT or MethodSession.
	Method Method
	// Subject is "sub": the user's id, or the client's for a token
	// without a user.
	Subject string
	// SessionID is "sid": the public id of the session or token grant the
	// credential belongs to. Empty for tokens without a grant.
	SessionID string
	// ClientID is "client_id": the OAuth client the token was issued to.
	// Empty for first-party tokens and cookie sessions.
	ClientID string
	// Scopes are the token's scopes ("scope", split on spaces), or
	// SessionCookieConfig.Scopes for a cookie session.
	Scopes []string
	// Audience is "aud". Empty for cookie sessions.
	Audience []string
	// ExpiresAt is "exp", or for a cookie session the time at which it
	// expires unless used again.
	ExpiresAt time.Time
	// IssuedAt is "iat", or the creation time of a cookie session.
	IssuedAt time.Time
	// TokenID is "jti". Empty for cookie sessions.
	TokenID string
	// Claims are the token's custom claims: every member of the claims
	// set other than the registered ones (iss, sub, aud, exp, nbf, iat,
	// jti, sid, scope, client_id), decoded as encoding/json decodes into
	// an any (numbers are float64). Nil when there are none, and for
	// cookie sessions.
	Claims map[string]any

	// session lets Watch introspect a cookie session again; nil for
	// tokens.
	session *sessionHandle
}

// HasScope reports whether the principal has scope.
func (p *Principal) HasScope(scope string) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

// missingScope returns the first of want that p lacks, or "".
func (p *Principal) missingScope(want []string) string {
	for _, s := range want {
		if !p.HasScope(s) {
			return s
		}
	}
	return ""
}

// contextKey is the context key of the Principal.
type contextKey struct{}

// NewContext returns a copy of ctx that carries p, as the middleware does;
// tests of handlers can use it to fake an authenticated request.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the Principal that the middleware stored in ctx, and
// false if there is none.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(*Principal)
	return p, ok && p != nil
}
