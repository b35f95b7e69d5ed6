package ratelimit_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit/ratelimittest"
)

func newMemory(t *testing.T, limit ratelimit.Limit, cfg ratelimit.MemoryConfig) *ratelimit.Memory {
	t.Helper()
	m, err := ratelimit.NewMemory(limit, cfg)
	if err != nil {
		t.Fatalf("NewMemory: %v", err)
	}
	return m
}

func TestMemoryConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, limit ratelimit.Limit, now func() time.Time) ratelimit.Limiter {
		return newMemory(t, limit, ratelimit.MemoryConfig{Now: now})
	})
}

func TestNewMemoryInvalidLimit(t *testing.T) {
	tests := []struct {
		name  string
		limit ratelimit.Limit
	}{
		{"zero", ratelimit.Limit{}},
		{"max zero", ratelimit.Limit{Max: 0, Window: time.Minute}},
		{"max negative", ratelimit.Limit{Max: -1, Window: time.Minute}},
		{"window zero", ratelimit.Limit{Max: 1}},
		{"window negative", ratelimit.Limit{Max: 1, Window: -time.Minute}},
		{"interval zero", ratelimit.Limit{Max: 10, Window: 9 * time.Nanosecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.limit.Validate(); !errors.Is(err, ratelimit.ErrInvalidLimit) {
				t.Errorf("Validate() = %v, want ErrInvalidLimit", err)
			}
			m, err := ratelimit.NewMemory(tt.limit, ratelimit.MemoryConfig{})
			if m != nil || !errors.Is(err, ratelimit.ErrInvalidLimit) {
				t.Errorf("NewMemory = %v, %v, want nil, ErrInvalidLimit", m, err)
			}
		})
	}
}

func TestLimitDefaults(t *testing.T) {
	tests := []struct {
		name     string
		limit    ratelimit.Limit
		want     ratelimit.Limit
		interval time.Duration
	}{
		{"account", ratelimit.DefaultAccountLimit(), ratelimit.Limit{Max: 10, Window: 15 * time.Minute}, 90 * time.Second},
		{"ip", ratelimit.DefaultIPLimit(), ratelimit.Limit{Max: 100, Window: 15 * time.Minute}, 9 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.limit != tt.want {
				t.Errorf("limit = %+v, want %+v", tt.limit, tt.want)
			}
			if err := tt.limit.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
			if got := tt.limit.Interval(); got != tt.interval {
				t.Errorf("Interval() = %v, want %v", got, tt.interval)
			}
		})
	}
}

func TestMemorySweepsForgottenKeys(t *testing.T) {
	clock := clocktest.New(time.Unix(1_700_000_000, 0))
	// One failure is forgotten after a minute.
	m := newMemory(t, ratelimit.Limit{Max: 5, Window: 5 * time.Minute}, ratelimit.MemoryConfig{Now: clock.Now})
	ctx := t.Context()
	steps := []struct {
		advance time.Duration
		fail    []string
		wantLen int
	}{
		{0, []string{"a", "b"}, 2},
		{30 * time.Second, []string{"c", "c"}, 3}, // a, b until +1m; c until +2m30s
		{30*time.Second - time.Nanosecond, nil, 3},
		{time.Nanosecond, nil, 1}, // +1m: a and b forgotten
		{90*time.Second - time.Nanosecond, nil, 1},
		{time.Nanosecond, nil, 0}, // +2m30s: c forgotten
		{0, []string{"d"}, 1},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		for _, key := range s.fail {
			if _, err := m.Fail(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if got := m.Len(); got != s.wantLen {
			t.Fatalf("step %d: Len() = %d, want %d", i+1, got, s.wantLen)
		}
	}
	if err := m.Reset(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if got := m.Len(); got != 0 {
		t.Errorf("Len() after Reset = %d, want 0", got)
	}
}

func TestMemoryMaxEntries(t *testing.T) {
	ctx := t.Context()
	// Two failures lock a key out; one is forgotten per minute.
	limit := ratelimit.Limit{Max: 2, Window: 2 * time.Minute}
	mustFail := func(t *testing.T, m *ratelimit.Memory, key string) {
		t.Helper()
		if _, err := m.Fail(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	isAllowed := func(t *testing.T, m *ratelimit.Memory, key string) bool {
		t.Helper()
		d, err := m.Allow(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}

	t.Run("spraying keys does not free a locked out key", func(t *testing.T) {
		clock := clocktest.New(time.Unix(1_700_000_000, 0))
		m := newMemory(t, limit, ratelimit.MemoryConfig{MaxEntries: 3, Now: clock.Now})
		mustFail(t, m, "victim")
		mustFail(t, m, "victim")
		for i := range 100 {
			mustFail(t, m, fmt.Sprintf("spray-%d", i))
			if got := m.Len(); got > 3 {
				t.Fatalf("Len() = %d after %d keys, want at most MaxEntries = 3", got, i+2)
			}
		}
		if isAllowed(t, m, "victim") {
			t.Error("victim allowed after spraying: its entry was evicted")
		}
		if !isAllowed(t, m, "spray-0") {
			t.Error("spray-0 refused: it was not evicted")
		}
	})

	t.Run("the entry closest to being forgotten is evicted", func(t *testing.T) {
		clock := clocktest.New(time.Unix(1_700_000_000, 0))
		m := newMemory(t, limit, ratelimit.MemoryConfig{MaxEntries: 2, Now: clock.Now})
		mustFail(t, m, "old") // forgotten at +1m
		clock.Advance(10 * time.Second)
		mustFail(t, m, "new") // forgotten at +1m10s
		mustFail(t, m, "old") // now forgotten at +2m: the oldest failure is not the soonest forgotten
		mustFail(t, m, "third")
		if got := m.Len(); got != 2 {
			t.Fatalf("Len() = %d, want 2", got)
		}
		// "new" was evicted: one more failure does not lock it out.
		mustFail(t, m, "new")
		if !isAllowed(t, m, "new") {
			t.Error(`"new" refused after one failure: it was not the one evicted`)
		}
		if isAllowed(t, m, "old") {
			t.Error(`"old" allowed: it was evicted`)
		}
	})

	t.Run("zero means DefaultMaxEntries", func(t *testing.T) {
		clock := clocktest.New(time.Unix(1_700_000_000, 0))
		m := newMemory(t, limit, ratelimit.MemoryConfig{Now: clock.Now})
		for i := range ratelimit.DefaultMaxEntries + 10 {
			mustFail(t, m, fmt.Sprint(i))
		}
		if got := m.Len(); got != ratelimit.DefaultMaxEntries {
			t.Errorf("Len() = %d, want DefaultMaxEntries = %d", got, ratelimit.DefaultMaxEntries)
		}
	})
}

func TestMemoryConcurrentSpray(t *testing.T) {
	const maxEntries = 64
	clock := clocktest.New(time.Unix(1_700_000_000, 0))
	m := newMemory(t, ratelimit.DefaultIPLimit(), ratelimit.MemoryConfig{MaxEntries: maxEntries, Now: clock.Now})
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				key := fmt.Sprintf("ip:%d.%d", g, i)
				_, _ = m.Fail(ctx, key)
				_, _ = m.Allow(ctx, key)
				if i%7 == 0 {
					_ = m.Reset(ctx, key)
				}
				if i%50 == 0 {
					clock.Advance(time.Second)
				}
				if n := m.Len(); n > maxEntries {
					t.Errorf("Len() = %d, want at most %d", n, maxEntries)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestMemoryRealClock(t *testing.T) {
	m := newMemory(t, ratelimit.Limit{Max: 1, Window: time.Hour}, ratelimit.MemoryConfig{})
	d, err := m.Fail(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.RetryAfter <= 59*time.Minute || d.RetryAfter > time.Hour {
		t.Errorf("Fail = %+v, want refused for about an hour", d)
	}
}
