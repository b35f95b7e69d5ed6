package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// The real queues (mail, webhooks) run this worker against SQLite,
// PostgreSQL and real receivers in their own packages' tests; these tests
// hold the worker's own rules on a queue kept in memory, where every
// outcome can be arranged: what is delivered, retried, given up or handed
// back, and when.

type testItem struct {
	id       string
	attempts int
	until    time.Time
}

// memQueue is a Queue whose items live in a map; deliver decides each
// delivery's outcome.
type memQueue struct {
	mu        sync.Mutex
	due       map[string]time.Time // not finished: when due
	attempts  map[string]int
	delivered map[string]int // id → status
	failures  map[string][]Failure
	sweeps    []time.Time
	deliver   func(testItem) (int, error)
	failedErr error
	now       func() time.Time
}

func newMemQueue(now func() time.Time, ids ...string) *memQueue {
	q := &memQueue{due: map[string]time.Time{}, attempts: map[string]int{}, delivered: map[string]int{},
		failures: map[string][]Failure{}, now: now, deliver: func(testItem) (int, error) { return 200, nil }}
	for _, id := range ids {
		q.due[id] = now()
	}
	return q
}

func (q *memQueue) Claim(_ context.Context, _ string, now time.Time, lease time.Duration, limit int) ([]testItem, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []testItem
	for id := range q.due {
		if len(out) == limit {
			break
		}
		if q.due[id].After(now) {
			continue
		}
		q.attempts[id]++
		q.due[id] = now.Add(lease) // leased: not due until the lease lapses
		out = append(out, testItem{id: id, attempts: q.attempts[id], until: now.Add(lease)})
	}
	return out, nil
}

func (q *memQueue) Lease(it testItem) Lease {
	return Lease{ID: it.id, Attempts: it.attempts, Until: it.until}
}

func (q *memQueue) Deliver(_ context.Context, it testItem) (int, error) { return q.deliver(it) }

func (q *memQueue) Delivered(_ context.Context, it testItem, status int, _ time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.due, it.id)
	q.delivered[it.id] = status
	return nil
}

func (q *memQueue) Failed(_ context.Context, it testItem, _ string, f Failure) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.failures[it.id] = append(q.failures[it.id], f)
	if f.Dead {
		delete(q.due, it.id)
	} else {
		q.due[it.id] = f.NextAttemptAt
	}
	return q.failedErr
}

func (q *memQueue) Sweep(_ context.Context, before time.Time) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sweeps = append(q.sweeps, before)
	return 0, nil
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestWorker(t *testing.T, q *memQueue, c *clock, cfg Config) *Worker[testItem] {
	t.Helper()
	cfg.Instance, cfg.Now = "test-instance", c.Now
	w, err := NewWorker[testItem](q, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestNewWorkerNeedsAnInstanceAndFillsDefaults(t *testing.T) {
	if _, err := NewWorker[testItem](newMemQueue(time.Now), Config{Name: "x"}); err == nil {
		t.Fatal("a worker without an instance name was accepted")
	}
	w, err := NewWorker[testItem](newMemQueue(time.Now), Config{Instance: "i"})
	if err != nil {
		t.Fatal(err)
	}
	got := w.Config()
	if got.Interval != time.Second || got.Lease != 2*time.Minute || got.Batch != 10 || got.MaxAttempts != 10 ||
		got.BackoffBase != 30*time.Second || got.BackoffMax != time.Hour || got.Retention != 7*24*time.Hour || got.Log == nil || got.Now == nil {
		t.Fatalf("defaults: %+v", got)
	}
}

// TestRunOnceOutcomes: one claim, each item's outcome recorded as the
// worker's rules say.
func TestRunOnceOutcomes(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	transient := errors.New("connection refused")
	for _, tc := range []struct {
		name       string
		attempts   int // claims before this one
		result     error
		status     int
		wantDead   bool
		wantRetry  bool
		wantStatus int
	}{
		{name: "delivered", status: 204, wantStatus: 204},
		{name: "transient failure is retried", result: transient, status: 503, wantRetry: true},
		{name: "permanent failure is dead at once", result: fmt.Errorf("550 no such user: %w", ErrPermanent), wantDead: true},
		{name: "last attempt's failure is dead", attempts: 4, result: transient, status: 500, wantDead: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newMemQueue(c.Now, "a")
			q.attempts["a"] = tc.attempts
			q.deliver = func(testItem) (int, error) { return tc.status, tc.result }
			w := newTestWorker(t, q, c, Config{MaxAttempts: 5, BackoffBase: 10 * time.Second, BackoffMax: time.Minute})
			n, err := w.RunOnce(context.Background())
			if err != nil || n != 1 {
				t.Fatalf("RunOnce: %d, %v", n, err)
			}
			if tc.wantStatus != 0 {
				if q.delivered["a"] != tc.wantStatus || len(q.failures["a"]) != 0 {
					t.Fatalf("delivered %v, failures %+v", q.delivered, q.failures["a"])
				}
				return
			}
			fs := q.failures["a"]
			if len(fs) != 1 || len(q.delivered) != 0 {
				t.Fatalf("failures %+v, delivered %v", fs, q.delivered)
			}
			f := fs[0]
			if f.Dead != tc.wantDead || f.Status != tc.status || !errors.Is(f.Err, tc.result) || !f.At.Equal(c.Now()) {
				t.Fatalf("failure %+v", f)
			}
			if tc.wantRetry {
				// Attempt 1 waits between half and all of the base.
				if wait := f.NextAttemptAt.Sub(c.Now()); wait < 5*time.Second || wait > 10*time.Second {
					t.Fatalf("retry after %v, want 5s to 10s", wait)
				}
			}
		})
	}
}

// TestShortLeaseIsHandedBack: an item whose lease has less than half left
// when its turn comes is not delivered but handed back, due at once, and
// so is the rest of the batch.
func TestShortLeaseIsHandedBack(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	q := newMemQueue(c.Now, "a", "b", "c")
	var delivered int
	q.deliver = func(testItem) (int, error) {
		delivered++
		c.Advance(40 * time.Second) // a slow receiver: the first delivery uses most of the lease
		return 200, nil
	}
	w := newTestWorker(t, q, c, Config{Lease: time.Minute, Batch: 3})
	if n, err := w.RunOnce(context.Background()); err != nil || n != 3 {
		t.Fatalf("RunOnce: %d, %v", n, err)
	}
	if delivered != 1 || len(q.delivered) != 1 {
		t.Fatalf("delivered %d (%v), want 1: the others' leases ran short", delivered, q.delivered)
	}
	handed := 0
	for id, fs := range q.failures {
		if len(fs) != 1 || fs[0].Dead || !fs[0].NextAttemptAt.Equal(c.Now()) {
			t.Fatalf("%s handed back as %+v", id, fs)
		}
		handed++
	}
	if handed != 2 {
		t.Fatalf("%d items handed back, want 2", handed)
	}
	// Handed back, they are due at once: the next round delivers them.
	q.deliver = func(testItem) (int, error) { return 200, nil }
	if n, err := w.RunOnce(context.Background()); err != nil || n != 2 || len(q.delivered) != 3 {
		t.Fatalf("next round: %d, %v, delivered %v", n, err, q.delivered)
	}
}

// TestFailedNotFoundIsIgnored: another instance took the item over (its
// store says not found); any other error of Failed is the round's error.
func TestFailedNotFoundIsIgnored(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		failedErr error
		wantErr   bool
	}{{fmt.Errorf("gone: %w", store.ErrNotFound), false}, {errors.New("database is locked"), true}} {
		q := newMemQueue(c.Now, "a")
		q.deliver = func(testItem) (int, error) { return 0, errors.New("timeout") }
		q.failedErr = tc.failedErr
		w := newTestWorker(t, q, c, Config{})
		if _, err := w.RunOnce(context.Background()); (err != nil) != tc.wantErr {
			t.Fatalf("Failed returning %v: RunOnce error %v", tc.failedErr, err)
		}
	}
}

// TestBackoff: exponential from the base, capped, jittered in the upper
// half of each step.
func TestBackoff(t *testing.T) {
	w := newTestWorker(t, newMemQueue(time.Now), &clock{}, Config{BackoffBase: 30 * time.Second, BackoffMax: time.Hour})
	for attempt, step := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 8: 64 * time.Minute, 20: time.Hour} {
		step = min(step, time.Hour)
		for range 200 {
			if d := w.Backoff(attempt); d < step/2 || d > step {
				t.Fatalf("Backoff(%d) = %v, want %v to %v", attempt, d, step/2, step)
			}
		}
	}
}

// TestRunDrainsThenSweepsHourly: Run claims batch after batch until the
// queue is drained, and sweeps finished items at most once an hour,
// before now minus the retention.
func TestRunDrainsThenSweepsHourly(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	ids := make([]string, 7)
	for i := range ids {
		ids[i] = fmt.Sprint("item-", i)
	}
	q := newMemQueue(c.Now, ids...)
	w := newTestWorker(t, q, c, Config{Batch: 2, Interval: time.Hour, Retention: 24 * time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q.mu.Lock()
		n := len(q.delivered)
		q.mu.Unlock()
		if n == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d of %d with a one-hour poll interval: Run did not drain the queue batch after batch", n, len(ids))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(q.sweeps) != 1 || !q.sweeps[0].Equal(c.Now().Add(-24*time.Hour)) {
		t.Fatalf("sweeps %v, want one before %v", q.sweeps, c.Now().Add(-24*time.Hour))
	}
	// Within the hour no second sweep; past it, one more.
	c.Advance(59 * time.Minute)
	if _, err := w.RunOnce(context.Background()); err != nil || len(q.sweeps) != 1 {
		t.Fatalf("sweeps after 59 min: %v (%v)", q.sweeps, err)
	}
	c.Advance(time.Minute)
	if _, err := w.RunOnce(context.Background()); err != nil || len(q.sweeps) != 2 {
		t.Fatalf("sweeps after 60 min: %v (%v)", q.sweeps, err)
	}
}
