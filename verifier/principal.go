package verifier

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/jose"
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
//
// Scopes and custom claims are methods, not fields: Verify keeps the
// token's "scope" string and its decoded claims set, and splits or
// decodes them only when asked (Scopes, HasScope, Claims, DecodeClaims),
// so a check that never reads them does not pay for them (Claim reads
// one custom claim without the map). A Principal
// built by hand (a fake in a handler test) comes from NewPrincipal.
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
	// Audience is "aud". Empty for cookie sessions.
	Audience []string
	// ExpiresAt is "exp", or for a cookie session the time at which it
	// expires unless used again.
	ExpiresAt time.Time
	// IssuedAt is "iat", or the creation time of a cookie session.
	IssuedAt time.Time
	// TokenID is "jti". Empty for cookie sessions.
	TokenID string

	// scope is the space-separated scope list: the token's "scope"
	// claim, or SessionCookieConfig.Scopes joined for a cookie session.
	scope string
	// claims holds the token's claims set and its custom claims, decoded
	// on first use; nil for cookie sessions.
	claims *lazyClaims
	// session lets Watch introspect a cookie session again; nil for
	// tokens.
	session *sessionHandle
}

// NewPrincipal returns a Principal with the exported fields of p, the
// given scopes and custom claims (copied; nil for none): for tests of
// handlers, with NewContext, and for code that authenticates requests
// by other means and hands handlers the same type. A scope must not
// contain white space (RFC 6749 §3.3 forbids it); such a scope is split
// like a token's "scope" claim would be.
func NewPrincipal(p Principal, scopes []string, claims map[string]any) *Principal {
	p.scope = strings.Join(scopes, " ")
	p.session = nil
	p.claims = nil
	if claims != nil {
		p.claims = &lazyClaims{}
		p.claims.decoded.Store(&decodedClaims{m: maps.Clone(claims)})
	}
	return &p
}

// Scopes returns the principal's scopes: the token's "scope" claim split
// on white space, or SessionCookieConfig.Scopes for a cookie session. It
// returns a new slice on every call (nil when there are none); HasScope
// answers without one.
func (p *Principal) Scopes() []string {
	if p == nil {
		return nil
	}
	return splitScope(p.scope)
}

// HasScope reports whether the principal has scope. It allocates
// nothing.
func (p *Principal) HasScope(scope string) bool {
	if p == nil || scope == "" {
		return false
	}
	for s := range strings.FieldsSeq(p.scope) {
		if s == scope {
			return true
		}
	}
	return false
}

// Claims returns the token's custom claims: every member of the claims
// set other than the registered ones (iss, sub, aud, exp, nbf, iat, jti,
// sid, scope, client_id), decoded as encoding/json decodes into an any
// (numbers are float64). They are decoded on the first call (concurrent
// first calls may each decode them); every call returns the same map,
// which the caller must not modify. The map is nil when there are none,
// and for cookie sessions.
//
// Verify checks that the claims set is well-formed JSON, but leaves the
// custom claims' values undecoded: one that encoding/json cannot decode
// into an any (a number beyond float64, such as 1e999) is reported here,
// as an error matching ErrMalformed and ErrInvalidToken, on every call.
// The token's signature and registered claims were checked regardless.
func (p *Principal) Claims() (map[string]any, error) {
	if p == nil || p.claims == nil {
		return nil, nil
	}
	return p.claims.get()
}

// Claim returns one custom claim, decoded as Claims decodes it, and
// whether the token has it (a registered claim's name is not a custom
// claim: it reports false). It finds that member where Verify saw it
// (or scans the claims set for it), without building the map of Claims:
// for a handler that reads one or two claims it is the cheaper way.
// Only the value asked for is decoded, so its error (matching
// ErrMalformed) is about that value; calls are independent and safe for
// concurrent use.
func (p *Principal) Claim(name string) (any, bool, error) {
	if p == nil || p.claims == nil || p.claims.none() {
		return nil, false, nil
	}
	if p.claims.payload == nil { // from NewPrincipal
		v, ok := p.claims.decoded.Load().m[name]
		return v, ok, nil
	}
	if l := p.claims; !l.unindexed {
		// Verify noted where each custom member is: no second scan.
		var raw []byte
		for _, m := range l.members[:l.nMembers] {
			if string(l.payload[m.name[0]:m.name[1]]) == name {
				raw = l.payload[m.value[0]:m.value[1]] // the last of duplicates wins
			}
		}
		if raw == nil {
			return nil, false, nil
		}
		v, err := decodeValue(raw)
		if err != nil {
			// As the scan below reports it (ParseClaimsFunc's wrapping).
			return nil, false, invalidCause(ErrMalformed, fmt.Errorf("%w: claims: %w", jose.ErrMalformed, err))
		}
		return v, true, nil
	}
	var (
		v     any
		found bool
	)
	_, err := jose.ParseClaimsFunc(p.claims.payload, func(n, raw []byte) error {
		if string(n) != name {
			return nil
		}
		d, err := decodeValue(raw)
		if err != nil {
			return err
		}
		v, found = d, true // the last of duplicate members, as in Claims
		return nil
	})
	if err != nil {
		return nil, false, invalidCause(ErrMalformed, err)
	}
	return v, found, nil
}

// DecodeClaims decodes the token's whole claims set (registered and
// custom claims alike) into v with encoding/json, as json.Unmarshal
// does: the way to read custom claims into a struct of their own types,
// in one pass, without the map of Claims. For a Principal from
// NewPrincipal it decodes the custom claims given there; for a cookie
// session it does nothing and returns nil. Its errors match ErrMalformed
// and ErrInvalidToken.
func (p *Principal) DecodeClaims(v any) error {
	if p == nil || p.claims == nil {
		return nil
	}
	data := p.claims.payload
	if data == nil {
		b, err := json.Marshal(p.claims.decoded.Load().m)
		if err != nil {
			return fmt.Errorf("verifier: claims: %w", err)
		}
		data = b
	}
	if err := json.Unmarshal(data, v); err != nil {
		return invalidCause(ErrMalformed, err)
	}
	return nil
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

// lazyClaims decodes a token's custom claims from its claims set on the
// first call of get.
type lazyClaims struct {
	// payload is the token's decoded claims set (JSON), kept from Verify;
	// nil for claims given to NewPrincipal.
	payload []byte
	// members are the offsets in payload of the custom members' names
	// and raw values, in order, as Verify's one pass met them, so that
	// Claim finds one without scanning the claims set again. unindexed
	// says they are not all there (more than maxIndexedClaims, or a name
	// written with escapes), and Claim scans.
	members   [maxIndexedClaims]claimOffsets
	nMembers  uint8
	unindexed bool
	// decoded is the map of Claims once made (for NewPrincipal's claims,
	// from the start). A pointer rather than the map, its error and a
	// sync.Once keeps the Principal's allocation in a smaller size class.
	decoded atomic.Pointer[decodedClaims]
}

// decodedClaims is the outcome of decoding the custom claims.
type decodedClaims struct {
	m   map[string]any
	err error
}

// none reports whether Verify saw no custom claims in the claims set
// (note counts every one, as a member or by leaving the claims
// unindexed), so there is nothing to decode.
func (l *lazyClaims) none() bool {
	return l.payload != nil && l.nMembers == 0 && !l.unindexed
}

func (l *lazyClaims) get() (map[string]any, error) {
	if l.none() {
		return nil, nil
	}
	d := l.decoded.Load()
	if d == nil {
		// Concurrent first calls may each decode; decoding is a function
		// of the payload alone, and the first stored answer is the one
		// every caller gets, so the map is still shared.
		var fresh decodedClaims
		_, fresh.m, fresh.err = parseClaims(l.payload)
		if !l.decoded.CompareAndSwap(nil, &fresh) {
			d = l.decoded.Load()
		} else {
			d = &fresh
		}
	}
	return d.m, d.err
}

// maxIndexedClaims is how many custom members Verify notes for Claim:
// enough for the few custom claims a token usually carries (Gatehouse's
// own tokens carry amr, acr, auth_time and the configured ones).
const maxIndexedClaims = 8

// claimOffsets locates one member in a claims set: payload[name[0]:name[1]]
// is its name, payload[value[0]:value[1]] its raw JSON value. 16-bit
// offsets keep the Principal small (a claims set beyond 64 KiB, far
// above jose.DefaultMaxTokenSize, is left unindexed).
type claimOffsets struct {
	name, value [2]uint16
}

// note records a custom member that ParseClaimsFunc handed over: name
// and value are slices of payload (a name with escapes is a new buffer,
// and then the claims are left unindexed).
func (l *lazyClaims) note(name, value []byte) {
	nameAt, ok1 := offsetIn(l.payload, name)
	valueAt, ok2 := offsetIn(l.payload, value)
	if !ok1 || !ok2 || int(l.nMembers) == len(l.members) {
		l.unindexed = true
		return
	}
	l.members[l.nMembers] = claimOffsets{
		name:  [2]uint16{uint16(nameAt), uint16(nameAt + len(name))},
		value: [2]uint16{uint16(valueAt), uint16(valueAt + len(value))},
	}
	l.nMembers++
}

// offsetIn returns where sub starts in s, if sub is a non-empty slice of
// s's own array within s.
func offsetIn(s, sub []byte) (int, bool) {
	at := cap(s) - cap(sub)
	if len(sub) == 0 || at < 0 || at+len(sub) > len(s) || len(s) > math.MaxUint16 {
		return 0, false
	}
	return at, &s[at] == &sub[0]
}

// parseJWTClaims reads a verified token's claims set in one pass: the
// registered claims, and where each custom member is (lazyClaims.note).
// The custom claims are only located here: Principal.Claim and Claims
// decode them from the payload if and when they are asked to.
//
// payload is the Principal's from then on, unchanged: the claims' strings
// share its memory (jose.ParseClaimsInto), and a one-member audience is
// kept inside the jwtPrincipal.
func parseJWTClaims(payload []byte) (*jwtPrincipal, jose.Claims, error) {
	jp := &jwtPrincipal{lazy: lazyClaims{payload: payload}}
	c := jose.Claims{Audience: jp.aud[:0]}
	err := jose.ParseClaimsInto(&c, payload, func(name, value []byte) error {
		jp.lazy.note(name, value)
		return nil
	})
	return jp, c, err
}

// jwtPrincipal is a Principal, its lazy claims and the array of a
// one-member audience (the usual "aud") in one allocation.
type jwtPrincipal struct {
	p    Principal
	lazy lazyClaims
	aud  [1]string
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
