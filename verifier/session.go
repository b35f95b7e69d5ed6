package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxCookieLen bounds a cookie value sent for introspection. Gatehouse's
// are 43 characters.
const maxCookieLen = 512

// sessionCache checks Gatehouse session cookies through the issuer's
// introspection endpoint and caches the answers. Entries are keyed by the
// SHA-256 of the cookie value, so the cache never holds a usable
// credential; concurrent checks of the same cookie share one request.
type sessionCache struct {
	url        string
	credential string       // a fixed bearer credential, or
	client     *clientToken // a resource-server client's token
	issuer     string
	scope      string // SessionCookieConfig.Scopes, space-separated
	ttl        time.Duration
	max        int
	fetch      *fetcher
	now        func() time.Time

	mu       sync.Mutex
	entries  map[[32]byte]sessionEntry
	inflight map[[32]byte]*introspection
}

// sessionEntry is one cached answer: p is nil for an inactive cookie.
type sessionEntry struct {
	p     *Principal
	until time.Time
}

// introspection is one request that concurrent checks wait for.
type introspection struct {
	done chan struct{}
	p    *Principal
	err  error
}

func newSessionCache(c SessionCookieConfig, issuer string, f *fetcher, now func() time.Time) *sessionCache {
	var client *clientToken
	if c.usesClient() {
		client = newClientToken(c, issuer, f, now)
	}
	return &sessionCache{client: client,
		url: c.IntrospectionURL, credential: c.IntrospectionCredential, issuer: issuer,
		scope: strings.Join(c.Scopes, " "), ttl: c.CacheTTL, max: c.MaxCacheEntries, fetch: f, now: now,
		entries: map[[32]byte]sessionEntry{}, inflight: map[[32]byte]*introspection{},
	}
}

// check returns the principal of a live session cookie. It fails with
// ErrSessionInactive for a cookie the issuer does not accept and
// ErrUnavailable when the issuer could not answer; only definite answers
// are cached.
func (c *sessionCache) check(ctx context.Context, value string) (*Principal, error) {
	if value == "" || len(value) > maxCookieLen {
		return nil, invalid(ErrSessionInactive, "cookie value of %d bytes", len(value))
	}
	key := sha256.Sum256([]byte(value))
	now := c.now()
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		if now.Before(e.until) {
			c.mu.Unlock()
			return e.result()
		}
		delete(c.entries, key)
	}
	call, running := c.inflight[key]
	if !running {
		call = &introspection{done: make(chan struct{})}
		c.inflight[key] = call
	}
	c.mu.Unlock()
	if !running {
		// The request belongs to every waiter: no one caller's
		// cancellation ends it; fetchTimeout bounds it.
		go c.introspect(context.WithoutCancel(ctx), key, value, call)
	}
	select {
	case <-call.done:
		if call.err != nil {
			return nil, call.err
		}
		return sessionEntry{p: call.p}.result()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for introspection: %w", ErrUnavailable, ctx.Err())
	}
}

// result turns an entry into check's answer.
func (e sessionEntry) result() (*Principal, error) {
	if e.p == nil {
		return nil, invalid(ErrSessionInactive, "the issuer reports the session inactive")
	}
	return e.p, nil
}

// introspect asks the issuer about one cookie and caches a definite
// answer.
func (c *sessionCache) introspect(ctx context.Context, key [32]byte, value string, call *introspection) {
	p, err := c.ask(ctx, value)
	now := c.now()
	c.mu.Lock()
	delete(c.inflight, key)
	if err == nil {
		until := now.Add(c.ttl)
		if p != nil && p.ExpiresAt.Before(until) {
			until = p.ExpiresAt
		}
		c.store(key, sessionEntry{p: p, until: until}, now)
	}
	c.mu.Unlock()
	call.p, call.err = p, err
	close(call.done)
}

// store adds an entry, making room if the cache is full: first by
// dropping expired entries, then an arbitrary one.
func (c *sessionCache) store(key [32]byte, e sessionEntry, now time.Time) {
	if len(c.entries) >= c.max {
		for k, old := range c.entries {
			if !now.Before(old.until) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = e
}

// introspectionAnswer is the part of an RFC 7662 answer the verifier
// reads.
type introspectionAnswer struct {
	Active    bool   `json:"active"`
	TokenType string `json:"token_type"`
	Sub       string `json:"sub"`
	Sid       string `json:"sid"`
	Iss       string `json:"iss"`
	Exp       int64  `json:"exp"`
	Iat       int64  `json:"iat"`
}

// ask sends the introspection request. It returns a nil principal for a
// cookie that is definitely not a live session. With a resource-server
// client, a token the issuer refuses (401) is dropped and the request
// made once more with a new one.
func (c *sessionCache) ask(ctx context.Context, value string) (*Principal, error) {
	body, err := c.post(ctx, value)
	if err != nil {
		return nil, err
	}
	var a introspectionAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%w: introspection answer: %w", ErrUnavailable, err)
	}
	// Anything but an active Gatehouse session of this issuer, with a
	// subject and an expiry, is treated as inactive.
	if !a.Active || a.TokenType != "gatehouse_session" || a.Sub == "" || a.Exp == 0 ||
		(a.Iss != "" && c.issuer != "" && a.Iss != c.issuer) {
		return nil, nil
	}
	p := &Principal{
		Method:    MethodSession,
		Subject:   a.Sub,
		SessionID: a.Sid,
		scope:     c.scope,
		ExpiresAt: time.Unix(a.Exp, 0),
	}
	if a.Iat != 0 {
		p.IssuedAt = time.Unix(a.Iat, 0)
	}
	return p, nil
}

// post sends the introspection request for value and returns the body.
func (c *sessionCache) post(ctx context.Context, value string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		credential := c.credential
		if c.client != nil {
			var err error
			if credential, err = c.client.get(ctx); err != nil {
				return nil, err
			}
		}
		form := url.Values{"token": {value}, "token_type_hint": {"gatehouse_session"}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, fmt.Errorf("%w: introspection: %w", ErrUnavailable, err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer "+credential)
		body, err := c.fetch.do(req)
		if err != nil && c.client != nil && attempt == 0 && isUnauthorized(err) {
			c.client.drop(credential)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: introspection: %w", ErrUnavailable, err)
		}
		return body, nil
	}
}

// evict drops cached sessions that a revocation event revokes.
func (c *sessionCache) evict(e RevocationEvent) {
	if e.SID == "" && e.User == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, en := range c.entries {
		if en.p == nil {
			continue
		}
		if (e.SID != "" && en.p.SessionID == e.SID) || (e.User != "" && en.p.Subject == e.User && userRevokes(e.At, en.p.SessionID, en.p.IssuedAt)) {
			delete(c.entries, k)
		}
	}
}

// len returns the number of cached entries.
func (c *sessionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
