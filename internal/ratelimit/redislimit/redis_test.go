package redislimit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit/ratelimittest"
	redislimit "github.com/gatehouse-auth/gatehouse/internal/ratelimit/redislimit"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
)

func TestConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, limit ratelimit.Limit, now func() time.Time) ratelimit.Limiter {
		c := redistest.Client(t)
		l, err := redislimit.New(c, limit, redislimit.Options{KeyPrefix: redistest.Prefix(t, c), Now: now})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return l
	})
}

// TestSharedState checks that two limiters on one prefix, as two server
// instances hold, count the same failures.
func TestSharedState(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	clock := clocktest.New(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	limit := ratelimit.Limit{Max: 2, Window: 2 * time.Minute}
	a, err := redislimit.New(c, limit, redislimit.Options{KeyPrefix: prefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := redislimit.New(c, limit, redislimit.Options{KeyPrefix: prefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := a.Fail(ctx, "account:alice"); err != nil {
		t.Fatal(err)
	}
	d, err := b.Fail(ctx, "account:alice")
	if err != nil || d.Allowed || d.RetryAfter != time.Minute {
		t.Fatalf("second failure, on the other instance: %+v, %v; want refused for 1m", d, err)
	}
	if d, _ := a.Allow(ctx, "account:alice"); d.Allowed {
		t.Error("first instance allows a key the second refused")
	}
}

// TestStateExpires checks that a key's state has a TTL of the time until
// its failures are forgotten, and that Reset removes it.
func TestStateExpires(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	clock := clocktest.New(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	l, err := redislimit.New(c, ratelimit.Limit{Max: 3, Window: 3 * time.Minute}, redislimit.Options{KeyPrefix: prefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for range 2 {
		if _, err := l.Fail(ctx, "ip:192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := redistest.Keys(ctx, c, prefix)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys = %v, %v; want one", keys, err)
	}
	ttl := c.PTTL(ctx, keys[0]).Val()
	if ttl <= 2*time.Minute-time.Second || ttl > 2*time.Minute {
		t.Errorf("TTL %v, want 2m (two failures of one minute each)", ttl)
	}
	if err := l.Reset(ctx, "ip:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, keys[0]).Val(); n != 0 {
		t.Error("Reset left the key")
	}
}

func TestNewInvalidLimit(t *testing.T) {
	for _, limit := range []ratelimit.Limit{
		{},
		{Max: 1, Window: -time.Second},
		{Max: 1, Window: redislimit.MaxWindow + 1},
	} {
		// No server needed: New refuses before any call.
		if l, err := redislimit.New(nil, limit, redislimit.Options{}); l != nil || !errors.Is(err, ratelimit.ErrInvalidLimit) {
			t.Errorf("New(%+v) = %v, %v; want ErrInvalidLimit", limit, l, err)
		}
	}
}
