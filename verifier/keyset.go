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

// KeySetConfig configures a RemoteKeySet.
type KeySetConfig struct {
	// URL is the JWKS URL. It must be https, or http to a loopback host
	// unless InsecureAllowHTTP is set. Required.
	URL string
	// HTTPClient makes the requests; nil means a default client. Each
	// fetch is bounded by 10 seconds.
	HTTPClient *http.Client
	// Now is the clock for the rate limit and key age; nil means
	// time.Now.
	Now func() time.Time
	// MinRefreshInterval is the shortest time between two fetches caused
	// by unknown key IDs. Zero means DefaultMinRefreshInterval (5s).
	MinRefreshInterval time.Duration
	// MaxKeyAge is how long a fetched set is used before a background
	// refresh. Zero means DefaultMaxKeyAge (1h).
	MaxKeyAge time.Duration
	// MaxResponseBytes bounds the JWKS document. Zero means
	// DefaultMaxResponseBytes (1 MiB).
	MaxResponseBytes int64
	// InsecureAllowHTTP allows plain http to any host. It MUST NOT be
	// set in production: a key set fetched over plain http can be
	// replaced by anyone on the network path, who can then mint tokens.
	InsecureAllowHTTP bool
}

// RemoteKeySet is a cached copy of a remote JWKS that implements
// jose.KeySet, after go-oidc's RemoteKeySet. Lookups take a read lock.
// A lookup of a key ID the cache does not hold triggers a refetch, with
// two limits that keep tokens with made-up key IDs from turning the
// verifier against the issuer: concurrent misses share one fetch
// (single-flight), and a fetch starts at most once per
// MinRefreshInterval. Each fetch replaces the whole set, so keys the
// issuer withdrew are dropped. A RemoteKeySet is safe for concurrent use.
type RemoteKeySet struct {
	url         string
	fetch       *fetcher
	now         func() time.Time
	minInterval time.Duration
	maxAge      time.Duration

	mu          sync.RWMutex
	set         *jose.JWKS
	gen         uint64    // counts the sets published; see refreshAfter
	fetchedAt   time.Time // of the current set
	lastAttempt time.Time // start of the last refetch, for the rate limit
	attempts    int
	inflight    *fetchCall
}

var _ jose.KeySet = (*RemoteKeySet)(nil)

// fetchCall is one fetch that concurrent callers wait for.
type fetchCall struct {
	done chan struct{}
	err  error
}

// errRateLimited is returned by refresh when a fetch ran too recently.
var errRateLimited = errors.New("verifier: key set refetch rate-limited")

// NewRemoteKeySet returns an empty RemoteKeySet for cfg.URL. It fetches
// nothing until the first lookup or Refresh.
func NewRemoteKeySet(cfg KeySetConfig) (*RemoteKeySet, error) {
	if _, err := checkURL(cfg.URL, cfg.InsecureAllowHTTP); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinRefreshInterval <= 0 {
		cfg.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if cfg.MaxKeyAge <= 0 {
		cfg.MaxKeyAge = DefaultMaxKeyAge
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return &RemoteKeySet{
		url:         cfg.URL,
		fetch:       newFetcher(cfg.HTTPClient, cfg.MaxResponseBytes, cfg.InsecureAllowHTTP),
		now:         cfg.Now,
		minInterval: cfg.MinRefreshInterval,
		maxAge:      cfg.MaxKeyAge,
	}, nil
}

// Key returns the key named kid, refetching the set once if the cache
// does not hold it (subject to the rate limit). It implements
// jose.KeySet: ctx bounds the wait for the fetch, which itself is bounded
// by 10 seconds. KeyContext says why a key was not found.
func (s *RemoteKeySet) Key(ctx context.Context, kid string) (jose.PublicKey, bool) {
	k, err := s.KeyContext(ctx, kid)
	return k, err == nil
}

// KeyContext is Key with a context, and an error that says why a key was
// not found: it wraps jose.ErrUnknownKey when the set, fresh or
// rate-limited, does not hold kid, and ErrUnavailable when the fetch
// failed.
func (s *RemoteKeySet) KeyContext(ctx context.Context, kid string) (jose.PublicKey, error) {
	if k, ok := s.cached(ctx, kid); ok {
		return k, nil
	}
	err := s.refresh(ctx, kid)
	if k, ok := s.cached(ctx, kid); ok {
		return k, nil
	}
	if err != nil && !errors.Is(err, errRateLimited) {
		return jose.PublicKey{}, err
	}
	return jose.PublicKey{}, fmt.Errorf("%w: kid %q", jose.ErrUnknownKey, clip(kid))
}

// Refresh fetches the key set now, unless a fetch is already running
// (then it waits for that one) or a refetch started less than
// MinRefreshInterval ago (then it returns an error at once and the cache
// is unchanged). The first fetch, which loads the set, does not count
// against the limit, so a key published just after start-up can be
// picked up at once. A failed fetch keeps the cached set.
func (s *RemoteKeySet) Refresh(ctx context.Context) error { return s.refresh(ctx, "") }

// generation returns the count of key sets published so far.
func (s *RemoteKeySet) generation() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.gen
}

// refreshAfter is Refresh for a caller whose lookup failed against the set
// of generation gen: if a newer set was published since, it fetches
// nothing and the caller retries against that set. Concurrent misses thus
// cause one fetch, even those that come in just after it finished.
func (s *RemoteKeySet) refreshAfter(ctx context.Context, gen uint64) error {
	s.mu.RLock()
	newer := s.gen != gen
	s.mu.RUnlock()
	if newer {
		return nil
	}
	return s.refreshGen(ctx, gen)
}

// refresh is Refresh for a caller that missed kid: if a fetch that
// finished between the miss and now brought kid, it fetches nothing.
func (s *RemoteKeySet) refresh(ctx context.Context, kid string) error {
	return s.wait(ctx, func() (*fetchCall, error) { return s.startFor(kid, 0, false) })
}

// refreshGen fetches unless a set newer than gen is published by the time
// it holds the lock.
func (s *RemoteKeySet) refreshGen(ctx context.Context, gen uint64) error {
	return s.wait(ctx, func() (*fetchCall, error) { return s.startFor("", gen, true) })
}

// wait starts (or joins) a fetch with start and waits for it.
func (s *RemoteKeySet) wait(ctx context.Context, start func() (*fetchCall, error)) error {
	c, err := start()
	if err != nil {
		return err
	}
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for the key set: %w", ErrUnavailable, ctx.Err())
	}
}

// start returns the running fetch, or starts one unless the last
// refetch started less than MinRefreshInterval ago.
func (s *RemoteKeySet) start() (*fetchCall, error) { return s.startFor("", 0, false) }

// startFor is start for a caller that missed kid, or that looked up a key
// in the set of generation gen (when byGen): it returns nil, starting
// nothing, if the cached set holds kid by now, or is newer than gen (a
// fetch finished between the caller's miss and this call).
func (s *RemoteKeySet) startFor(kid string, gen uint64, byGen bool) (*fetchCall, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		return s.inflight, nil
	}
	if byGen && s.gen != gen {
		return nil, nil
	}
	if kid != "" && s.set != nil {
		// An in-memory set: the lookup does no I/O to bound.
		if _, ok := s.set.Key(context.Background(), kid); ok {
			return nil, nil
		}
	}
	now := s.now()
	if !s.lastAttempt.IsZero() && now.Sub(s.lastAttempt) < s.minInterval {
		return nil, errRateLimited
	}
	c := &fetchCall{done: make(chan struct{})}
	s.inflight = c
	// The first fetch loads the set; the rate limit is for refetches.
	if s.attempts++; s.attempts > 1 {
		s.lastAttempt = now
	}
	// The fetch belongs to every waiter, so no caller's context cancels
	// it; fetchTimeout bounds it.
	go s.run(c)
	return c, nil
}

// run performs one fetch and publishes its result.
func (s *RemoteKeySet) run(c *fetchCall) {
	set, err := s.download(context.Background())
	s.mu.Lock()
	if err == nil {
		s.set = set
		s.gen++
		s.fetchedAt = s.now()
	}
	c.err = err
	s.inflight = nil
	s.mu.Unlock()
	close(c.done)
}

// download fetches and parses the JWKS.
func (s *RemoteKeySet) download(ctx context.Context) (*jose.JWKS, error) {
	body, err := s.fetch.get(ctx, s.url)
	if err != nil {
		return nil, fmt.Errorf("%w: jwks: %w", ErrUnavailable, err)
	}
	set, err := jose.ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("%w: jwks: %w", ErrUnavailable, err)
	}
	return set, nil
}

// cached looks kid up without fetching.
func (s *RemoteKeySet) cached(ctx context.Context, kid string) (jose.PublicKey, bool) {
	s.mu.RLock()
	set := s.set
	s.mu.RUnlock()
	return set.Key(ctx, kid)
}

// refreshIfOld starts a background fetch, without waiting, if the cached
// set is older than MaxKeyAge at now.
func (s *RemoteKeySet) refreshIfOld(now time.Time) {
	s.mu.RLock()
	old := !s.fetchedAt.IsZero() && now.Sub(s.fetchedAt) > s.maxAge && s.inflight == nil
	s.mu.RUnlock()
	if old {
		_, _ = s.start()
	}
}

// cachedKeys is a RemoteKeySet seen as a jose.KeySet that never fetches:
// Verify looks keys up through it and refetches itself, with its context,
// on a miss.
type cachedKeys RemoteKeySet

// Key looks kid up in the cache.
func (c *cachedKeys) Key(ctx context.Context, kid string) (jose.PublicKey, bool) {
	return (*RemoteKeySet)(c).cached(ctx, kid)
}

// clip shortens attacker-controlled text before it goes into an error.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
