// Package redistest connects tests to a Redis server and keeps them apart:
// each test gets its own key prefix, and its keys are deleted when it
// ends.
//
// The server is GATEHOUSE_TEST_REDIS, or redis://127.0.0.1:6379/0. When
// none answers, Client skips the test with a message saying how to run
// it, except under CI=true, where a missing server fails the test
// instead: CI must not go green by skipping.
//
//	func TestSomething(t *testing.T) {
//		c := redistest.Client(t)
//		prefix := redistest.Prefix(t, c)
//		st := redisstore.New(c, redisstore.Options{KeyPrefix: prefix})
//		…
//	}
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the environment variable that holds the test server's URL.
const EnvURL = "GATEHOUSE_TEST_REDIS"

// DefaultURL is the test server when EnvURL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// cleanupTimeout bounds the deletion of a test's keys.
const cleanupTimeout = 10 * time.Second

// URL returns the test server's URL: $GATEHOUSE_TEST_REDIS, or DefaultURL.
func URL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// InCI reports whether CI is set to a true value (CI=true), in which case a
// missing server is a failure rather than a skip.
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Client returns a client of the test server, closed when t ends. If the
// URL is bad or the server does not answer a PING within a few seconds, it
// skips t, saying why and how to run it, or fails t under CI=true.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	url := URL()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redistest: %s=%q: %v", EnvURL, url, err)
	}
	if err := probe(*opts); err != nil {
		if InCI() {
			t.Fatalf("redistest: no Redis server at %s: %v (CI=true: Redis is required)", url, err)
		}
		t.Skipf("redistest: SKIPPING: no Redis server at %s: %v. Start one (redis-server) or set %s to run this test; under CI=true it fails instead.", url, err, EnvURL)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// probe pings the server once, without the client's retries, so that a
// missing server costs a test a few milliseconds rather than seconds.
func probe(opts redis.Options) error {
	opts.DialTimeout = 2 * time.Second
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.PoolSize = 1
	c := redis.NewClient(&opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// Prefix returns a key prefix that no other test uses, and deletes every
// key that starts with it when t ends. The prefix holds only letters,
// digits, '-' and ':', so it needs no escaping in a SCAN pattern.
func Prefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "gatehouse-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := Delete(ctx, c, prefix); err != nil {
			t.Errorf("redistest: delete keys %s*: %v", prefix, err)
		}
	})
	return prefix
}

// Keys returns every key that starts with prefix, found with SCAN (on
// every primary, for a Cluster client). prefix must hold no glob
// characters (*?[]\).
func Keys(ctx context.Context, c redis.UniversalClient, prefix string) ([]string, error) {
	var (
		mu   sync.Mutex // forEachPrimary visits a Cluster's primaries concurrently
		keys []string
	)
	err := forEachPrimary(ctx, c, func(ctx context.Context, n redis.UniversalClient) error {
		var found []string
		iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			found = append(found, iter.Val())
		}
		mu.Lock()
		keys = append(keys, found...)
		mu.Unlock()
		return iter.Err()
	})
	return keys, err
}

// Delete removes every key that starts with prefix. prefix must hold no
// glob characters (*?[]\).
func Delete(ctx context.Context, c redis.UniversalClient, prefix string) error {
	return forEachPrimary(ctx, c, func(ctx context.Context, n redis.UniversalClient) error {
		iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			// One key per call: in a Cluster, keys of one batch could
			// live in different slots.
			if err := n.Unlink(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	})
}

// forEachPrimary calls f with every primary of a Cluster client (at the
// same time, each in its own goroutine), or with c itself otherwise.
func forEachPrimary(ctx context.Context, c redis.UniversalClient, f func(context.Context, redis.UniversalClient) error) error {
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return f(ctx, n) })
	}
	return f(ctx, c)
}
