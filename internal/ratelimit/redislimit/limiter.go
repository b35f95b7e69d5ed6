// Package redislimit is a ratelimit.Limiter whose state lives in Redis, so
// that every Gatehouse instance behind a load balancer counts the same
// failures: a password guesser gains nothing by spreading attempts over
// instances.
//
// It runs the same GCRA as ratelimit.Memory, in one Lua script per call:
// one round trip, atomic per key. A key's state is one string, its
// theoretical arrival time, with a TTL that reclaims it once its failures
// are all forgotten. The decision depends on that time and on the clock
// passed in, never on Redis's clock or TTLs, so tests can inject a clock
// and instances with a little clock skew still agree closely.
//
// It lives apart from package ratelimit so that the core package does not
// depend on a Redis client.
package redislimit

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// DefaultKeyPrefix is the default of Options.KeyPrefix.
const DefaultKeyPrefix = "gatehouse:"

// MaxWindow is the longest Limit.Window a Limiter accepts: the script
// computes in nanoseconds with doubles, exact up to 2^53 ns (104 days).
const MaxWindow = time.Duration(1 << 53)

// Options configure a Limiter. The zero value is ready to use.
type Options struct {
	// KeyPrefix starts every key the limiter writes, followed by "rl:" and
	// the SHA-256 of the limited key (so that keys of any length or
	// content, e-mail addresses included, are stored short and opaque).
	// Default DefaultKeyPrefix ("gatehouse:"). Limiters with different
	// limits may share a prefix as long as their callers prefix their keys
	// by kind ("account:", "ip:"), as ratelimit.Limiter asks.
	KeyPrefix string
	// Now returns the current time. Nil means time.Now; tests inject a
	// fake clock so that they never sleep.
	Now func() time.Time
}

// Limiter is a ratelimit.Limiter in Redis. It is safe for concurrent use.
type Limiter struct {
	client   redis.UniversalClient
	prefix   string
	now      func() time.Time
	max      string
	interval string
}

var _ ratelimit.Limiter = (*Limiter)(nil)

var (
	//go:embed gcra.lua
	gcraSource string
	gcraScript = redis.NewScript(gcraSource)
)

// New returns a Limiter that applies limit to every key and keeps its
// state in client. The caller owns the client and closes it. It returns
// an error wrapping ratelimit.ErrInvalidLimit if limit is invalid or its
// window is longer than MaxWindow.
func New(client redis.UniversalClient, limit ratelimit.Limit, opts Options) (*Limiter, error) {
	if err := limit.Validate(); err != nil {
		return nil, fmt.Errorf("redislimit: %w", err)
	}
	if limit.Window > MaxWindow {
		return nil, fmt.Errorf("redislimit: %w: window %v is longer than %v", ratelimit.ErrInvalidLimit, limit.Window, MaxWindow)
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = DefaultKeyPrefix
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{
		client:   client,
		prefix:   opts.KeyPrefix + "rl:",
		now:      opts.Now,
		max:      strconv.Itoa(limit.Max),
		interval: strconv.FormatInt(int64(limit.Interval()), 10),
	}, nil
}

// Allow reports whether key may attempt now. It records nothing.
func (l *Limiter) Allow(ctx context.Context, key string) (ratelimit.Decision, error) {
	d, err := l.run(ctx, key, "0")
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("redislimit: allow: %w", err)
	}
	return d, nil
}

// Fail records one failed attempt for key and returns the decision for its
// next attempt.
func (l *Limiter) Fail(ctx context.Context, key string) (ratelimit.Decision, error) {
	d, err := l.run(ctx, key, "1")
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("redislimit: fail: %w", err)
	}
	return d, nil
}

// Reset forgets the failures of key.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := l.client.Del(ctx, l.key(key)).Err(); err != nil {
		return fmt.Errorf("redislimit: reset: %w", err)
	}
	return nil
}

// key returns the Redis key of a limited key.
func (l *Limiter) key(key string) string {
	sum := sha256.Sum256([]byte(key))
	return l.prefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// run runs the script for key at the current time; fail is "1" to record
// a failure.
func (l *Limiter) run(ctx context.Context, key, fail string) (ratelimit.Decision, error) {
	now := l.now()
	wait, err := gcraScript.Run(ctx, l.client, []string{l.key(key)},
		now.Unix(), now.Nanosecond(), l.interval, l.max, fail).Int64()
	if err != nil {
		return ratelimit.Decision{}, err
	}
	if wait < 0 {
		return ratelimit.Decision{}, errors.New("negative wait from script")
	}
	if wait == 0 {
		return ratelimit.Decision{Allowed: true}, nil
	}
	return ratelimit.Decision{RetryAfter: time.Duration(wait)}, nil
}
