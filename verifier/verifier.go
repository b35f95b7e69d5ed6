package verifier

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/jose"
)

// Verifier checks Gatehouse access tokens and, if configured, session
// cookies, for one issuer and one audience. Build it with New; it is safe
// for concurrent use. Close stops its background work.
type Verifier struct {
	cfg      Config
	keys     *RemoteKeySet
	jws      jose.Verifier
	revs     *RevocationSet
	sub      *subscriber
	sessions *sessionCache
	cop      *http.CrossOriginProtection
	live     *liveHub

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New returns a Verifier for cfg. Before it returns it fetches what it
// needs from the issuer: the discovery document (unless every endpoint
// is configured), the key set, and the whole revocation feed, so that it
// never accepts a token revoked before it started. It fails if any of
// these cannot be had; ctx bounds only this start-up, not the Verifier's
// life. It then follows the revocation feed in the background until
// Close.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	f := newFetcher(cfg.HTTPClient, cfg.MaxResponseBytes, cfg.InsecureAllowHTTP)
	if err := resolveEndpoints(ctx, &cfg, f); err != nil {
		return nil, prefixed(err, "")
	}
	keys, err := NewRemoteKeySet(KeySetConfig{
		URL: cfg.JWKSURL, HTTPClient: cfg.HTTPClient, Now: cfg.Now,
		MinRefreshInterval: cfg.MinRefreshInterval, MaxKeyAge: cfg.MaxKeyAge,
		MaxResponseBytes: cfg.MaxResponseBytes, InsecureAllowHTTP: cfg.InsecureAllowHTTP,
	})
	if err != nil {
		return nil, err
	}
	if err := keys.Refresh(ctx); err != nil {
		return nil, prefixed(err, "initial key set")
	}
	v := &Verifier{
		cfg:  cfg,
		keys: keys,
		revs: NewRevocationSet(cfg.Leeway),
		live: newLiveHub(cfg.Now, cfg.Logger),
		done: make(chan struct{}),
	}
	v.revs.onAdded = v.live.revoke
	v.jws = jose.Verifier{Keys: (*cachedKeys)(keys)}
	if cfg.SessionCookie.enabled() {
		v.sessions = newSessionCache(cfg.SessionCookie, cfg.Issuer, f, cfg.Now)
		v.revs.onAdd = v.sessions.evict
		v.live.introspect = v.sessions.ask
		if !cfg.SessionCookie.InsecureSkipCrossOriginCheck {
			v.cop = http.NewCrossOriginProtection()
			for _, o := range cfg.SessionCookie.TrustedOrigins {
				if err := v.cop.AddTrustedOrigin(o); err != nil {
					return nil, fmt.Errorf("%w: SessionCookie.TrustedOrigins: %w", ErrConfig, err)
				}
			}
		}
	}
	bg, stop := context.WithCancel(context.Background())
	v.stop = stop
	if cfg.Revocations.Mode == RevocationOff {
		close(v.done)
		return v, nil
	}
	v.sub = &subscriber{cfg: cfg.Revocations, fetch: f, set: v.revs, now: cfg.Now, log: cfg.Logger}
	if err := v.sub.catchUp(ctx); err != nil {
		stop()
		v.live.close()
		return nil, prefixed(err, "initial revocation feed")
	}
	go func() {
		defer close(v.done)
		v.sub.run(bg)
	}()
	return v, nil
}

// Close stops following the revocation feed and waits for the background
// goroutine to end; it ends every Watch with ErrClosed. The Verifier still verifies afterwards, but learns of
// no new revocations. Close is idempotent and returns nil.
func (v *Verifier) Close() error {
	v.closeOnce.Do(func() {
		v.stop()
		<-v.done
		v.live.close()
	})
	return nil
}

// Keys returns the verifier's key set, for callers that check other
// JWTs from the same issuer with package jose.
func (v *Verifier) Keys() *RemoteKeySet { return v.keys }

// Verify checks a raw access token (the compact JWT, without "Bearer ")
// and returns its principal. See the package documentation for what is
// checked. ctx bounds a key set refetch for an unknown key ID. Errors
// match ErrInvalidToken (with a specific sentinel), ErrScope, or
// ErrUnavailable. With ErrScope the token is otherwise valid and its
// Principal is returned too, so a caller can say which scopes it has.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	gen := v.keys.generation()
	tok, err := v.jws.Verify(ctx, raw)
	if err != nil && errors.Is(err, jose.ErrUnknownKey) {
		// One refetch (shared with concurrent misses, rate-limited, and
		// skipped if a newer set arrived since the lookup), then one more
		// try.
		rerr := v.keys.refreshAfter(ctx, gen)
		tok, err = v.jws.Verify(ctx, raw)
		if err != nil && errors.Is(err, jose.ErrUnknownKey) && rerr != nil && !errors.Is(rerr, errRateLimited) {
			return nil, fmt.Errorf("%w (%w)", rerr, err)
		}
	}
	if err != nil {
		if errors.Is(err, jose.ErrMalformed) || errors.Is(err, jose.ErrTooLarge) {
			return nil, invalidCause(ErrMalformed, err)
		}
		return nil, invalidCause(ErrSignature, err)
	}
	if err := checkType(tok.Header.Type); err != nil {
		return nil, err
	}
	jp, c, err := parseJWTClaims(tok.Payload)
	if err != nil {
		return nil, invalidCause(ErrMalformed, err)
	}
	now := v.cfg.Now()
	if err := v.checkClaims(&c, now); err != nil {
		return nil, err
	}
	if err := v.checkRevoked(c.SessionID, c.ID, c.Subject, c.IssuedAt, now); err != nil {
		return nil, err
	}
	jp.p = Principal{
		Method:    MethodJWT,
		Subject:   c.Subject,
		SessionID: c.SessionID,
		ClientID:  c.ClientID,
		Audience:  c.Audience,
		ExpiresAt: c.ExpiresAt,
		IssuedAt:  c.IssuedAt,
		TokenID:   c.ID,
		scope:     c.Scope,
	}
	p := &jp.p
	p.claims = &jp.lazy
	if missing := p.missingScope(v.cfg.RequiredScopes); missing != "" {
		return p, fmt.Errorf("%w: token lacks scope %q", ErrScope, missing)
	}
	v.keys.refreshIfOld(now)
	return p, nil
}

// VerifySession checks the value of a Gatehouse session cookie through
// introspection (with the cache) and returns its principal. It fails
// with ErrConfig if the Verifier does not accept session cookies.
func (v *Verifier) VerifySession(ctx context.Context, cookieValue string) (*Principal, error) {
	if v.sessions == nil {
		return nil, fmt.Errorf("%w: session cookies are not enabled (SessionCookie.ClientID or IntrospectionCredential)", ErrConfig)
	}
	p, err := v.sessions.check(ctx, cookieValue)
	if err != nil {
		return nil, err
	}
	now := v.cfg.Now()
	if !now.Before(p.ExpiresAt) {
		return nil, invalid(ErrSessionInactive, "session expired")
	}
	if err := v.checkRevoked(p.SessionID, "", p.Subject, p.IssuedAt, now); err != nil {
		return nil, err
	}
	cp := *p
	cp.session = &sessionHandle{value: cookieValue}
	if missing := cp.missingScope(v.cfg.RequiredScopes); missing != "" {
		return &cp, fmt.Errorf("%w: session lacks scope %q", ErrScope, missing)
	}
	return &cp, nil
}

// checkRevoked consults the revocation set, and refuses everything when
// FailClosedAfter is set and the set is older than that.
func (v *Verifier) checkRevoked(sid, jti, sub string, iat, now time.Time) error {
	if v.sub == nil {
		return nil
	}
	if v.revs.Revoked(sid, jti, sub, iat) {
		return invalid(ErrRevoked, "sid %q, jti %q or sub %q is revoked", clip(sid), clip(jti), clip(sub))
	}
	if fc := v.cfg.Revocations.FailClosedAfter; fc > 0 {
		if stale := v.sub.staleFor(now); stale > fc {
			return fmt.Errorf("%w: no word from the revocation feed for %s", ErrUnavailable, stale.Round(time.Second))
		}
	}
	return nil
}
