package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// ErrPermanent marks a delivery error that no retry can cure (a refused
// recipient, an undecodable item): the item is dead at once.
var ErrPermanent = errors.New("outbox: permanent failure")

// Lease is what the worker needs to know of a claimed item.
type Lease struct {
	// ID names the item in logs and in the store's calls.
	ID string
	// Attempts counts claims, this one included.
	Attempts int
	// Until is when the claim lapses.
	Until time.Time
}

// Failure is a failed attempt, for Queue.Failed.
type Failure struct {
	// At is when the attempt failed.
	At time.Time
	// Err is why; its text is stored for operators (no secrets).
	Err error
	// Status is the delivery's protocol status (an HTTP status), 0 if
	// none came back.
	Status int
	// Dead gives the item up for good; otherwise it is due again at
	// NextAttemptAt.
	Dead          bool
	NextAttemptAt time.Time
}

// Queue is one durable queue of items of type T: its store's methods,
// and the delivery of one item.
type Queue[T any] interface {
	// Claim leases up to limit due items to holder until now+lease, adding
	// one to their attempts.
	Claim(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]T, error)
	// Lease describes a claimed item.
	Lease(item T) Lease
	// Deliver delivers one item and returns the receiver's status (an
	// HTTP status; 0 where there is none); an error wrapping ErrPermanent
	// makes it dead at once. It must return within half the worker's
	// lease.
	Deliver(ctx context.Context, item T) (status int, err error)
	// Delivered records a successful delivery at now, with its status.
	Delivered(ctx context.Context, item T, status int, now time.Time) error
	// Failed records a failed attempt of an item leased to holder; an
	// error wrapping store.ErrNotFound (another instance took the item
	// over, or it was delivered) is ignored.
	Failed(ctx context.Context, item T, holder string, f Failure) error
	// Sweep deletes finished items that finished before before.
	Sweep(ctx context.Context, before time.Time) (int, error)
}

// Config configures a Worker. Zero fields take the defaults given.
type Config struct {
	// Name prefixes log lines ("mail", "webhook").
	Name string
	// Instance names this process among the lease holders (required).
	Instance string
	// Interval (default 1s) is how often the queue is polled; Wake picks
	// up an item at once.
	Interval time.Duration
	// Lease (default 2m) is how long a claimed item stays with this
	// instance. It must be at least twice one delivery's longest time: an
	// item of the batch whose lease has less than half left when its turn
	// comes is handed back rather than delivered, so its delivery always
	// ends inside its lease and no other instance can claim it meanwhile.
	Lease time.Duration
	// Batch (default 10) is how many items one claim takes.
	Batch int
	// MaxAttempts (default 10) is how many deliveries an item gets before
	// it is dead.
	MaxAttempts int
	// BackoffBase (default 30s) and BackoffMax (default 1h) space the
	// retries: attempt n waits a random time between half and all of
	// min(BackoffMax, BackoffBase·2^(n-1)).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Retention (default 168h) is how long finished items are kept
	// (without their content) before the sweep deletes them.
	Retention time.Duration
	// Log receives a line per failure; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Worker delivers a queue's items. Each instance of a cluster runs one
// per queue; leases keep two from delivering the same item.
type Worker[T any] struct {
	q         Queue[T]
	cfg       Config
	ready     chan struct{}
	lastSweep time.Time
}

// NewWorker returns a worker on q.
func NewWorker[T any](q Queue[T], cfg Config) (*Worker[T], error) {
	if cfg.Instance == "" {
		return nil, fmt.Errorf("%s: worker needs an instance name", cfg.Name)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Interval, time.Second)
	def(&cfg.Lease, 2*time.Minute)
	def(&cfg.BackoffBase, 30*time.Second)
	def(&cfg.BackoffMax, time.Hour)
	def(&cfg.Retention, 7*24*time.Hour)
	if cfg.Batch <= 0 {
		cfg.Batch = 10
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Worker[T]{q: q, cfg: cfg, ready: make(chan struct{}, 1)}, nil
}

// Config returns the worker's configuration with its defaults applied.
func (w *Worker[T]) Config() Config { return w.cfg }

// Wake makes a running worker poll at once (an item was just queued).
func (w *Worker[T]) Wake() {
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// Run delivers due items until ctx ends. Stopping is graceful: a
// delivery in flight finishes and is recorded; items claimed but not yet
// started are handed back, due at once. wake, if not nil, also makes it
// poll at once.
func (w *Worker[T]) Run(ctx context.Context, wake <-chan struct{}) error {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.cfg.Log.WarnContext(ctx, w.cfg.Name+": queue round failed", "err", err)
			}
			if n < w.cfg.Batch || err != nil {
				break // drained for now
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.ready:
		case <-wake:
		}
	}
}

// RunOnce claims one batch of due items and delivers them, and sweeps
// old finished items now and then. It returns how many it claimed.
func (w *Worker[T]) RunOnce(ctx context.Context) (int, error) {
	now := w.cfg.Now()
	if now.Sub(w.lastSweep) >= time.Hour {
		w.lastSweep = now
		if n, err := w.q.Sweep(ctx, now.Add(-w.cfg.Retention)); err != nil {
			w.cfg.Log.WarnContext(ctx, w.cfg.Name+": sweeping finished items failed", "err", err)
		} else if n > 0 {
			w.cfg.Log.DebugContext(ctx, w.cfg.Name+": swept finished items", "count", n)
		}
	}
	claimed, err := w.q.Claim(ctx, w.cfg.Instance, now, w.cfg.Lease, w.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("%s: claiming: %w", w.cfg.Name, err)
	}
	var errs []error
	for i, item := range claimed {
		if ctx.Err() != nil || w.cfg.Now().Add(w.cfg.Lease/2).After(w.q.Lease(item).Until) {
			w.handBack(claimed[i:])
			break
		}
		if err := w.deliver(ctx, item); err != nil {
			errs = append(errs, err)
		}
	}
	return len(claimed), errors.Join(errs...)
}

// deliver delivers one claimed item and records the outcome. Neither is
// cut short by ctx: a stop waits for both.
func (w *Worker[T]) deliver(ctx context.Context, item T) error {
	ctx = context.WithoutCancel(ctx)
	l := w.q.Lease(item)
	log := w.cfg.Log.With("id", l.ID, "attempt", l.Attempts)
	status, err := w.q.Deliver(ctx, item)
	if err == nil {
		if err := w.q.Delivered(ctx, item, status, w.cfg.Now()); err != nil {
			// Delivered but not recorded: once the lease lapses another
			// claim delivers it again. Nothing better can be done here.
			return fmt.Errorf("%s: %s was delivered but not marked so: %w", w.cfg.Name, l.ID, err)
		}
		log.DebugContext(ctx, w.cfg.Name+": delivered")
		return nil
	}
	now := w.cfg.Now()
	f := Failure{At: now, Err: err, Status: status}
	switch {
	case errors.Is(err, ErrPermanent):
		f.Dead = true
		log.ErrorContext(ctx, w.cfg.Name+": delivery refused for good; it is dead and will not be retried", "err", err)
	case l.Attempts >= w.cfg.MaxAttempts:
		f.Dead = true
		log.ErrorContext(ctx, w.cfg.Name+": delivery failed on the last attempt; it is dead and will not be retried", "max_attempts", w.cfg.MaxAttempts, "err", err)
	default:
		f.NextAttemptAt = now.Add(w.Backoff(l.Attempts))
		log.WarnContext(ctx, w.cfg.Name+": delivery failed; will retry", "next_attempt", f.NextAttemptAt, "err", err)
	}
	if err := w.q.Failed(ctx, item, w.cfg.Instance, f); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: recording the failure of %s: %w", w.cfg.Name, l.ID, err)
	}
	return nil
}

// handBack returns claimed items that this worker will not start (it is
// stopping, or their leases run short), due at once.
func (w *Worker[T]) handBack(items []T) {
	ctx := context.Background()
	now := w.cfg.Now()
	for _, item := range items {
		f := Failure{At: now, NextAttemptAt: now, Err: errors.New("handed back: the worker stopped before delivering")}
		if err := w.q.Failed(ctx, item, w.cfg.Instance, f); err != nil && !errors.Is(err, store.ErrNotFound) {
			w.cfg.Log.Warn(w.cfg.Name+": could not hand an item back; it is delivered once its lease lapses", "id", w.q.Lease(item).ID, "err", err)
		}
	}
}

// Backoff is the wait after the attempt-th failed attempt: exponential,
// capped, with "equal jitter" (a random point in its upper half), so that
// many items failing together do not all retry at the same instant.
func (w *Worker[T]) Backoff(attempt int) time.Duration {
	d := w.cfg.BackoffBase
	for i := 1; i < attempt && d < w.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.BackoffMax)
	half := d / 2
	return half + rand.N(d-half+1)
}
