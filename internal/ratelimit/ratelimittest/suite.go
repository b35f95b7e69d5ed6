package ratelimittest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// NewLimiter returns a new, empty Limiter applying limit that reads the
// time from now, and nothing else: a backend that keeps state in a shared
// store must decide from the stored state and now alone, using the store's
// own expiry only to reclaim space, and must isolate the state of each
// Limiter it returns (a fresh key prefix, say). It calls t.Fatal if it
// cannot build one and t.Skip, loudly, if its backend is absent.
type NewLimiter func(t *testing.T, limit ratelimit.Limit, now func() time.Time) ratelimit.Limiter

// Run runs the conformance suite against the limiters that newLimiter
// returns.
func Run(t *testing.T, newLimiter NewLimiter) {
	t.Run("Scripts", func(t *testing.T) { testScripts(t, newLimiter) })
	t.Run("SingleFailureLimit", func(t *testing.T) { testSingleFailureLimit(t, newLimiter) })
	t.Run("UnevenInterval", func(t *testing.T) { testUnevenInterval(t, newLimiter) })
	t.Run("ConcurrentFailures", func(t *testing.T) { testConcurrentFailures(t, newLimiter) })
}

// newClock returns a fake clock at an arbitrary time that is not the zero
// time.
func newClock() *clocktest.Clock { return clocktest.New(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)) }

// op is one operation of a script.
type op int

const (
	opAllow op = iota
	opFail
	opReset
)

func (o op) String() string {
	return [...]string{"Allow", "Fail", "Reset"}[o]
}

// step advances the clock by advance, then applies op to key and expects
// want (ignored for Reset, which returns only an error).
type step struct {
	advance time.Duration
	op      op
	key     string
	want    ratelimit.Decision
}

// allowed and refused build the expected decisions.
func allowed() ratelimit.Decision                { return ratelimit.Decision{Allowed: true} }
func refused(d time.Duration) ratelimit.Decision { return ratelimit.Decision{RetryAfter: d} }

func allow(key string, want ratelimit.Decision) step { return step{op: opAllow, key: key, want: want} }
func fail(key string, want ratelimit.Decision) step  { return step{op: opFail, key: key, want: want} }
func reset(key string) step                          { return step{op: opReset, key: key} }
func after(d time.Duration, s step) step             { s.advance = d; return s }

func testScripts(t *testing.T, newLimiter NewLimiter) {
	// 3 failures, one regained every minute.
	limit := ratelimit.Limit{Max: 3, Window: 3 * time.Minute}
	const a, b = "account:alice@example.com", "account:bob@example.com"
	tests := []struct {
		name  string
		steps []step
	}{
		{"new key is allowed", []step{
			allow(a, allowed()),
		}},
		{"under the limit", []step{
			fail(a, allowed()),
			fail(a, allowed()),
			allow(a, allowed()),
		}},
		{"over the limit", []step{
			fail(a, allowed()),
			fail(a, allowed()),
			fail(a, refused(time.Minute)),
			allow(a, refused(time.Minute)),
			after(20*time.Second, allow(a, refused(40*time.Second))),
		}},
		{"allowed exactly at RetryAfter", []step{
			fail(a, allowed()),
			fail(a, allowed()),
			fail(a, refused(time.Minute)),
			after(time.Minute-time.Nanosecond, allow(a, refused(time.Nanosecond))),
			after(time.Nanosecond, allow(a, allowed())),
		}},
		{"one attempt regained per interval", []step{
			fail(a, allowed()),
			fail(a, allowed()),
			fail(a, refused(time.Minute)),
			after(time.Minute, allow(a, allowed())),
			fail(a, refused(time.Minute)),
		}},
		{"window expiry restores the whole budget", []step{
			fail(a, allowed()),
			fail(a, allowed()),
			fail(a, refused(time.Minute)),
			after(3*time.Minute, allow(a, allowed())),
			fail(a, allowed()),
			fail(a, allowed()),
			fail(a, refused(time.Minute)),
		}},
		{"old failures are partly forgotten", []step{
			fail(a, allowed()),
			fail(a, allowed()),
			after(30*time.Second, fail(a, refused(30*time.Second))),
		}},
		{"failures at the sustained rate are never refused", []step{
			fail(a, allowed()),
			after(time.Minute, fail(a, allowed())),
			after(time.Minute, fail(a, allowed())),
			after(time.Minute, fail(a, allowed())),
			after(time.Minute, fail(a, allowed())),
			allow(a, allowed()),
		}},
		{"Allow records nothing", []step{
			allow(a, allowed()),
			allow(a, allowed()),
			allow(a, allowed()),
			allow(a, allowed()),
			fail(a, allowed()),
			allow(a, allowed()),
			allow(a, allowed()),
			fail(a, allowed()),
			allow(a, allowed()),
		}},
		{"failures while refused do not extend the wait", []step{
			fail(a, allowed()),
			fail(a, allowed()),
			fail(a, refused(time.Minute)),
			fail(a, refused(time.Minute)),
			fail(a, refused(time.Minute)),
			after(30*time.Second, fail(a, refused(time.Minute))),
			allow(a, refused(time.Minute)),
			after(time.Minute, allow(a, allowed())),
		}},
		{"Reset forgets failures", []step{
			fail(a, allowed()),
			fail(a, allowed()),
			fail(a, refused(time.Minute)),
			reset(a),
			allow(a, allowed()),
			fail(a, allowed()),
			fail(a, allowed()),
			fail(a, refused(time.Minute)),
		}},
		{"Reset of a key without failures", []step{
			reset(a),
			allow(a, allowed()),
			fail(a, allowed()),
		}},
		{"keys are independent", []step{
			fail(a, allowed()),
			fail(a, allowed()),
			fail(a, refused(time.Minute)),
			allow(b, allowed()),
			fail(b, allowed()),
			reset(b),
			allow(a, refused(time.Minute)),
			reset(a),
			fail(b, allowed()),
			fail(b, allowed()),
			fail(b, refused(time.Minute)),
			allow(a, allowed()),
		}},
		{"keys are opaque strings", []step{
			fail("", allowed()),
			fail("", allowed()),
			fail("", refused(time.Minute)),
			fail("ip:2001:db8::1", allowed()),
			fail("account:ü@example.com\x00$*{}", allowed()),
			fail(strings.Repeat("k", 10_000), allowed()),
			allow(strings.Repeat("k", 9_999), allowed()),
			allow("ip:2001:db8::1", allowed()),
			allow("", refused(time.Minute)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			begin := clock.Now()
			l := newLimiter(t, limit, clock.Now)
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				where := fmt.Sprintf("step %d: at +%v, %v(%.40q)", i+1, clock.Now().Sub(begin), s.op, s.key)
				var got ratelimit.Decision
				var err error
				switch s.op {
				case opAllow:
					got, err = l.Allow(t.Context(), s.key)
				case opFail:
					got, err = l.Fail(t.Context(), s.key)
				case opReset:
					err = l.Reset(t.Context(), s.key)
				}
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				if s.op != opReset && got != s.want {
					t.Fatalf("%s = %+v, want %+v", where, got, s.want)
				}
			}
		})
	}
}

func testSingleFailureLimit(t *testing.T, newLimiter NewLimiter) {
	clock := newClock()
	limit := ratelimit.Limit{Max: 1, Window: 10 * time.Minute}
	l := newLimiter(t, limit, clock.Now)
	ctx := t.Context()
	mustDecide(t, "Allow", l.Allow, ctx, "k", allowed())
	mustDecide(t, "Fail", l.Fail, ctx, "k", refused(10*time.Minute))
	clock.Advance(10*time.Minute - time.Second)
	mustDecide(t, "Allow", l.Allow, ctx, "k", refused(time.Second))
	clock.Advance(time.Second)
	mustDecide(t, "Allow", l.Allow, ctx, "k", allowed())
}

func testUnevenInterval(t *testing.T, newLimiter NewLimiter) {
	// 10s/3 is not a whole number of nanoseconds: Interval rounds down,
	// and the budget is still exactly 3 failures.
	clock := newClock()
	limit := ratelimit.Limit{Max: 3, Window: 10 * time.Second}
	interval := limit.Interval()
	l := newLimiter(t, limit, clock.Now)
	ctx := t.Context()
	mustDecide(t, "Fail", l.Fail, ctx, "k", allowed())
	mustDecide(t, "Fail", l.Fail, ctx, "k", allowed())
	mustDecide(t, "Fail", l.Fail, ctx, "k", refused(interval))
	clock.Advance(interval)
	mustDecide(t, "Allow", l.Allow, ctx, "k", allowed())
	clock.Advance(2 * interval)
	mustDecide(t, "Fail", l.Fail, ctx, "k", allowed())
	mustDecide(t, "Fail", l.Fail, ctx, "k", allowed())
	mustDecide(t, "Fail", l.Fail, ctx, "k", refused(interval))
}

func testConcurrentFailures(t *testing.T, newLimiter NewLimiter) {
	// The clock stands still, so a lost update would leave a key allowed.
	const n = 50
	clock := newClock()
	limit := ratelimit.Limit{Max: n, Window: n * time.Minute}
	l := newLimiter(t, limit, clock.Now)
	ctx := t.Context()
	keys := []string{"account:a", "account:b", "ip:192.0.2.1"}
	var wg sync.WaitGroup
	errs := make(chan error, n*len(keys)*2)
	for range n {
		for _, key := range keys {
			wg.Go(func() {
				if _, err := l.Fail(ctx, key); err != nil {
					errs <- err
				}
			})
			wg.Go(func() {
				if _, err := l.Allow(ctx, key); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	for _, key := range keys {
		mustDecide(t, "Allow", l.Allow, ctx, key, refused(time.Minute))
	}
}

// mustDecide calls f (a Limiter method) for key and checks its decision.
func mustDecide(t *testing.T, name string, f func(context.Context, string) (ratelimit.Decision, error), ctx context.Context, key string, want ratelimit.Decision) {
	t.Helper()
	got, err := f(ctx, key)
	if err != nil {
		t.Fatalf("%s(%q): %v", name, key, err)
	}
	if got != want {
		t.Fatalf("%s(%q) = %+v, want %+v", name, key, got, want)
	}
}
