package verifier

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultLeeway is the clock skew allowed on "exp", "nbf" and "iat".
	DefaultLeeway = 30 * time.Second
	// DefaultMinRefreshInterval is the shortest time between two JWKS
	// fetches caused by unknown key IDs.
	DefaultMinRefreshInterval = 5 * time.Second
	// DefaultMaxKeyAge is how long a fetched key set is used before it
	// is refreshed in the background.
	DefaultMaxKeyAge = time.Hour
	// DefaultMaxResponseBytes bounds every document read from the issuer.
	DefaultMaxResponseBytes = 1 << 20
	// DefaultPollInterval is how often the revocation feed is polled in
	// poll mode, and while the stream is down in stream mode.
	DefaultPollInterval = 5 * time.Second
	// DefaultMaxBackoff caps the wait between stream reconnections.
	DefaultMaxBackoff = 5 * time.Second
	// DefaultIdleTimeout is how long the revocation stream may stay
	// silent before it is considered dead (the server sends a keep-alive
	// comment every 15 seconds).
	DefaultIdleTimeout = 30 * time.Second
	// DefaultCacheTTL is how long an introspected session cookie's
	// answer is reused.
	DefaultCacheTTL = 10 * time.Second
	// DefaultMaxCacheEntries bounds the session cookie cache.
	DefaultMaxCacheEntries = 10000
	// initialBackoff is the first wait before reconnecting the stream.
	initialBackoff = 100 * time.Millisecond
	// fetchTimeout bounds one request for a document (not the stream).
	fetchTimeout = 10 * time.Second
)

// Config configures a Verifier. The zero value of each field is a safe
// default, except Issuer and Audience, which must be set.
type Config struct {
	// Issuer is the Gatehouse issuer URL, such as
	// "https://auth.example.com". Tokens must carry it, exactly, as
	// "iss", and the endpoints not given below are found through OpenID
	// Connect discovery at Issuer + "/.well-known/openid-configuration",
	// whose "issuer" must equal Issuer. Required unless
	// InsecureSkipIssuerCheck is set.
	Issuer string
	// JWKSURL is where the key set is fetched. Empty means the jwks_uri
	// of the discovery document.
	JWKSURL string
	// Audience is this resource server's identifier: a token's "aud"
	// must contain it. Required unless InsecureSkipAudienceCheck is set.
	Audience string
	// RequiredScopes are scopes every accepted token must carry (all of
	// them). A token without one fails with ErrScope. Empty means none.
	RequiredScopes []string
	// Leeway is the clock skew allowed when checking "exp", "nbf" and
	// "iat". Zero means DefaultLeeway (30s); negative means none.
	Leeway time.Duration
	// HTTPClient makes every request to the issuer. Nil means a client
	// on http.DefaultTransport. Its Timeout, if any, is ignored for the
	// revocation stream, which stays open; each other request is bounded
	// by 10 seconds. Redirects are followed only to URLs that pass the
	// same scheme check as the configured ones.
	HTTPClient *http.Client
	// Now is the clock for expiry, caches and rate limits. Nil means
	// time.Now.
	Now func() time.Time
	// MinRefreshInterval is the shortest time between two key set
	// fetches triggered by unknown key IDs. Zero means
	// DefaultMinRefreshInterval (5s).
	MinRefreshInterval time.Duration
	// MaxKeyAge is how long a fetched key set is trusted before a
	// background refresh, so keys the issuer withdrew stop verifying.
	// Zero means DefaultMaxKeyAge (1h).
	MaxKeyAge time.Duration
	// MaxResponseBytes bounds each document read from the issuer
	// (discovery, JWKS, feed pages, introspection answers). Zero means
	// DefaultMaxResponseBytes (1 MiB).
	MaxResponseBytes int64
	// Revocations configures the revocation feed subscription; the zero
	// value follows the event stream.
	Revocations RevocationConfig
	// SessionCookie configures acceptance of the Gatehouse session
	// cookie; the zero value accepts bearer tokens only.
	SessionCookie SessionCookieConfig
	// Realm is the realm of WWW-Authenticate challenges (RFC 6750 §3).
	// Empty means the Audience, or "gatehouse" without one.
	Realm string
	// Logger receives warnings about the issuer connection (failed
	// fetches, reconnections). Nil discards them.
	Logger *slog.Logger

	// InsecureSkipIssuerCheck accepts tokens whatever their "iss". It
	// MUST NOT be set in production: any issuer whose keys the JWKS URL
	// serves could then mint tokens for this server. It allows an empty
	// Issuer, in which case JWKSURL, and the feed and introspection URLs
	// when used, must be given.
	InsecureSkipIssuerCheck bool
	// InsecureSkipAudienceCheck accepts tokens whatever their "aud". It
	// MUST NOT be set in production: a token the issuer minted for
	// another service (which that service could replay here) would be
	// accepted.
	InsecureSkipAudienceCheck bool
	// InsecureAllowHTTP allows plain-http URLs for hosts other than
	// loopback addresses. It MUST NOT be set in production: keys and
	// revocations fetched over plain http can be forged by anyone on the
	// network path. Loopback http (127.0.0.1, ::1, localhost) is always
	// allowed, for development.
	InsecureAllowHTTP bool
}

// RevocationMode selects how a Verifier learns about revocations.
type RevocationMode string

// The revocation modes.
const (
	// RevocationStream follows the Server-Sent Events stream, polling
	// while it is down. It is the default: the empty mode means it.
	RevocationStream RevocationMode = "stream"
	// RevocationPoll polls the feed every PollInterval.
	RevocationPoll RevocationMode = "poll"
	// RevocationOff ignores revocations: a revoked token stays valid
	// until it expires.
	RevocationOff RevocationMode = "off"
)

// RevocationConfig configures the revocation feed subscription. The
// package documentation explains the delay bounds.
type RevocationConfig struct {
	// Mode is RevocationStream (the default, also for ""),
	// RevocationPoll or RevocationOff.
	Mode RevocationMode
	// PollInterval is how often the feed is read in poll mode, and while
	// the stream is disconnected in stream mode. Zero means
	// DefaultPollInterval (5s).
	PollInterval time.Duration
	// MaxBackoff caps the wait between stream reconnections, which starts
	// at 100ms and doubles. Zero means DefaultMaxBackoff (5s).
	MaxBackoff time.Duration
	// IdleTimeout is how long the stream may stay silent before the
	// verifier drops and reopens it; the server sends a keep-alive every
	// 15 seconds. Zero means DefaultIdleTimeout (30s).
	IdleTimeout time.Duration
	// FailClosedAfter, when positive, makes Verify refuse every token
	// with ErrUnavailable once the verifier has not heard from the feed
	// for this long. An open stream counts as heard from, and a stream
	// that died silently is only noticed after IdleTimeout, so in stream
	// mode the effective limit is at least IdleTimeout. Zero means never:
	// when the issuer is unreachable, tokens are accepted until they
	// expire.
	FailClosedAfter time.Duration
	// FeedURL overrides gatehouse_revocations_endpoint from discovery.
	FeedURL string
	// StreamURL overrides gatehouse_revocations_stream_endpoint.
	StreamURL string
}

// SessionCookieConfig configures acceptance of the Gatehouse session
// cookie through token introspection (RFC 7662).
//
// The verifier needs a credential that may introspect every session: best
// a resource-server client (ClientID and ClientSecret of a confidential
// client registered with scope gatehouse:introspect), which can do that
// and nothing more; or, with IntrospectionCredential, the admin token or
// a gatehouse:admin token, which hold power over every account.
type SessionCookieConfig struct {
	// ClientID and ClientSecret are the credentials of a resource-server
	// client: a confidential Gatehouse client registered with grant type
	// client_credentials and scope gatehouse:introspect. The verifier
	// gets an access token for it with the client credentials grant
	// (scope gatehouse:introspect, audience the Issuer), keeps it, and
	// gets a new one before it expires. Setting both turns cookie
	// acceptance on. They exclude IntrospectionCredential.
	ClientID     string
	ClientSecret string
	// TokenURL overrides token_endpoint from discovery; used with
	// ClientID.
	TokenURL string
	// IntrospectionCredential is a fixed bearer credential sent to the
	// introspection endpoint instead: the Gatehouse admin token or a
	// client credentials JWT with the gatehouse:admin or
	// gatehouse:introspect scope (which expires: prefer ClientID).
	// Setting it turns cookie acceptance on. Empty, with no ClientID,
	// means cookies are ignored.
	IntrospectionCredential string
	// Name is the cookie's name. Empty means Gatehouse's: "__Host-gatehouse"
	// for an https Issuer, "gatehouse_session" otherwise.
	Name string
	// IntrospectionURL overrides introspection_endpoint from discovery.
	IntrospectionURL string
	// CacheTTL is how long an introspection answer, active or not, is
	// reused for the same cookie (never past the session's expiry).
	// Zero means DefaultCacheTTL (10s). Revocation events evict cached
	// sessions at once; without revocations this is the delay before a
	// logout is seen.
	CacheTTL time.Duration
	// MaxCacheEntries bounds the cache; when full, an arbitrary entry
	// makes room. Zero means DefaultMaxCacheEntries (10000).
	MaxCacheEntries int
	// Scopes are the scopes a cookie-session principal is granted.
	// RequiredScopes apply to cookie sessions too, so a server with
	// RequiredScopes rejects every cookie unless they are listed here.
	// A scope is one non-empty word (RFC 6749 §3.3); New refuses one
	// with white space.
	Scopes []string
	// TrustedOrigins are origins, besides the request's own, from which
	// cookie-authenticated unsafe requests (POST, PUT, PATCH, DELETE) are
	// accepted, as "https://app.example.com".
	TrustedOrigins []string
	// InsecureSkipCrossOriginCheck accepts cookie-authenticated unsafe
	// requests from any origin. It MUST NOT be set in production: any
	// web page could then make the user's browser act on this server
	// (cross-site request forgery).
	InsecureSkipCrossOriginCheck bool
}

// enabled reports whether cookie sessions are accepted.
func (c SessionCookieConfig) enabled() bool {
	return c.IntrospectionCredential != "" || c.usesClient()
}

// usesClient reports whether a resource-server client's credentials are
// configured.
func (c SessionCookieConfig) usesClient() bool { return c.ClientID != "" || c.ClientSecret != "" }

// withDefaults checks c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	c.Issuer = strings.TrimSpace(c.Issuer)
	switch {
	case c.Issuer == "" && !c.InsecureSkipIssuerCheck:
		return c, fmt.Errorf("%w: Issuer is required", ErrConfig)
	case c.Issuer == "" && c.JWKSURL == "":
		return c, fmt.Errorf("%w: without an Issuer, JWKSURL is required", ErrConfig)
	case c.Audience == "" && !c.InsecureSkipAudienceCheck:
		return c, fmt.Errorf("%w: Audience is required (InsecureSkipAudienceCheck disables the check)", ErrConfig)
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	} else if c.Leeway < 0 {
		c.Leeway = 0
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MinRefreshInterval <= 0 {
		c.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if c.MaxKeyAge <= 0 {
		c.MaxKeyAge = DefaultMaxKeyAge
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Realm == "" {
		c.Realm = c.Audience
		if c.Realm == "" {
			c.Realm = "gatehouse"
		}
	}
	c.RequiredScopes = slices.Clone(c.RequiredScopes)

	r := &c.Revocations
	switch r.Mode {
	case "":
		r.Mode = RevocationStream
	case RevocationStream, RevocationPoll, RevocationOff:
	default:
		return c, fmt.Errorf("%w: unknown revocation mode %q", ErrConfig, r.Mode)
	}
	if r.PollInterval <= 0 {
		r.PollInterval = DefaultPollInterval
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	if r.IdleTimeout <= 0 {
		r.IdleTimeout = DefaultIdleTimeout
	}
	if r.Mode == RevocationOff {
		r.FailClosedAfter = 0
	}

	s := &c.SessionCookie
	switch {
	case s.usesClient() && (s.ClientID == "" || s.ClientSecret == ""):
		return c, fmt.Errorf("%w: SessionCookie needs both ClientID and ClientSecret", ErrConfig)
	case s.usesClient() && s.IntrospectionCredential != "":
		return c, fmt.Errorf("%w: SessionCookie takes ClientID and ClientSecret or IntrospectionCredential, not both", ErrConfig)
	}
	for _, sc := range s.Scopes {
		if sc == "" || strings.IndexFunc(sc, unicode.IsSpace) >= 0 {
			return c, fmt.Errorf("%w: SessionCookie.Scopes: %q is not a scope (RFC 6749 §3.3: no white space)", ErrConfig, sc)
		}
	}
	if s.Name == "" {
		s.Name = "gatehouse_session"
		if strings.HasPrefix(strings.ToLower(c.Issuer), "https://") {
			s.Name = "__Host-gatehouse"
		}
	}
	if s.CacheTTL <= 0 {
		s.CacheTTL = DefaultCacheTTL
	}
	if s.MaxCacheEntries <= 0 {
		s.MaxCacheEntries = DefaultMaxCacheEntries
	}
	s.Scopes = slices.Clone(s.Scopes)
	return c, nil
}

// discoveryNeeded reports whether some endpoint must come from the
// discovery document.
func (c Config) discoveryNeeded() bool {
	if c.JWKSURL == "" {
		return true
	}
	switch c.Revocations.Mode {
	case RevocationStream:
		if c.Revocations.StreamURL == "" || c.Revocations.FeedURL == "" {
			return true
		}
	case RevocationPoll:
		if c.Revocations.FeedURL == "" {
			return true
		}
	}
	sc := c.SessionCookie
	return sc.enabled() && (sc.IntrospectionURL == "" || (sc.usesClient() && sc.TokenURL == ""))
}
