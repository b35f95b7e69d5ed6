package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// WorkerConfig configures a Worker. Zero fields take the defaults given.
type WorkerConfig struct {
	// Instance names this process among the outbox's lease holders
	// (required).
	Instance string
	// Interval (default 1s) is how often the outbox is polled; a mail
	// enqueued through this process's Queue is picked up at once.
	Interval time.Duration
	// Lease (default 2m) is how long a claimed mail stays with this
	// instance. It must be at least twice one delivery's longest time
	// (the SMTP SendTimeout, 60s by default): a mail of the batch whose
	// lease has less than half left when its turn comes is handed back
	// rather than sent, so its delivery always ends inside its lease and
	// no other instance can claim it meanwhile.
	Lease time.Duration
	// Batch (default 10) is how many mails one claim takes.
	Batch int
	// MaxAttempts (default 10) is how many deliveries a mail gets before
	// it is marked dead.
	MaxAttempts int
	// BackoffBase (default 30s) and BackoffMax (default 1h) space the
	// retries: attempt n waits a random time between half and all of
	// min(BackoffMax, BackoffBase·2^(n-1)).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Retention (default 168h) is how long sent and dead mails are kept
	// (without their content) before the sweep deletes them.
	Retention time.Duration
	// Log receives a line per failure; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Worker delivers the outbox's mails. Each instance of a cluster runs
// one; leases keep two from sending the same mail.
type Worker struct {
	q         *Queue
	sender    Sender
	cfg       WorkerConfig
	lastSweep time.Time
}

// NewWorker returns a worker that claims from q's outbox and delivers
// through sender.
func NewWorker(q *Queue, sender Sender, cfg WorkerConfig) (*Worker, error) {
	if cfg.Instance == "" {
		return nil, errors.New("mail: worker needs an instance name")
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
	return &Worker{q: q, sender: sender, cfg: cfg}, nil
}

// Run delivers due mails until ctx ends. Stopping is graceful: a
// delivery in flight finishes (bounded by the sender's own timeout) and
// is recorded; mails claimed but not yet started are handed back, due at
// once, for another instance or the next start.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.cfg.Log.WarnContext(ctx, "mail: outbox round failed", "err", err)
			}
			if n < w.cfg.Batch || err != nil {
				break // the outbox is drained for now
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.q.ready:
		}
	}
}

// RunOnce claims one batch of due mails and delivers them, and sweeps old
// finished mails now and then. It returns how many mails it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	now := w.cfg.Now()
	if now.Sub(w.lastSweep) >= time.Hour {
		w.lastSweep = now
		if n, err := w.q.st.DeleteFinishedMails(ctx, now.Add(-w.cfg.Retention)); err != nil {
			w.cfg.Log.WarnContext(ctx, "mail: sweeping finished mails failed", "err", err)
		} else if n > 0 {
			w.cfg.Log.DebugContext(ctx, "mail: swept finished mails", "count", n)
		}
	}
	claimed, err := w.q.st.ClaimMails(ctx, w.cfg.Instance, now, w.cfg.Lease, w.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("mail: claiming: %w", err)
	}
	var errs []error
	for i, om := range claimed {
		if ctx.Err() != nil || w.cfg.Now().Add(w.cfg.Lease/2).After(om.LeaseUntil) {
			w.handBack(claimed[i:])
			break
		}
		if err := w.deliver(ctx, om); err != nil {
			errs = append(errs, err)
		}
	}
	return len(claimed), errors.Join(errs...)
}

// deliver sends one claimed mail and records the outcome. Neither the
// send nor its record is cut short by ctx: a stop waits for both.
func (w *Worker) deliver(ctx context.Context, om store.OutboxMail) error {
	ctx = context.WithoutCancel(ctx)
	log := w.cfg.Log.With("mail", om.ID, "kind", om.Kind, "attempt", om.Attempts)
	m, err := w.q.open(om)
	if err == nil {
		err = w.sender.Send(ctx, m)
		if err == nil {
			if err := w.q.st.MarkMailSent(ctx, om.ID, w.cfg.Now()); err != nil {
				// Sent but not recorded: once the lease lapses another
				// claim sends it again. Nothing better can be done here.
				return fmt.Errorf("mail: %s was sent but not marked sent: %w", om.ID, err)
			}
			log.DebugContext(ctx, "mail: sent")
			return nil
		}
	} else {
		err = fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	now := w.cfg.Now()
	f := store.MailFailure{At: now, Error: err.Error()}
	switch {
	case errors.Is(err, ErrPermanent):
		f.Dead = true
		log.ErrorContext(ctx, "mail: delivery refused for good; the mail is dead and will not be retried", "err", err)
	case om.Attempts >= w.cfg.MaxAttempts:
		f.Dead = true
		log.ErrorContext(ctx, "mail: delivery failed on the last attempt; the mail is dead and will not be retried", "max_attempts", w.cfg.MaxAttempts, "err", err)
	default:
		f.NextAttemptAt = now.Add(w.backoff(om.Attempts))
		log.WarnContext(ctx, "mail: delivery failed; will retry", "next_attempt", f.NextAttemptAt, "err", err)
	}
	if err := w.q.st.MarkMailFailed(ctx, om.ID, w.cfg.Instance, f); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("mail: recording the failure of %s: %w", om.ID, err)
	}
	return nil
}

// handBack returns claimed mails that this worker will not start (it is
// stopping, or their leases run short), due at once.
func (w *Worker) handBack(ms []store.OutboxMail) {
	ctx := context.Background()
	now := w.cfg.Now()
	for _, om := range ms {
		f := store.MailFailure{At: now, NextAttemptAt: now, Error: "handed back: the worker stopped before sending"}
		if err := w.q.st.MarkMailFailed(ctx, om.ID, w.cfg.Instance, f); err != nil && !errors.Is(err, store.ErrNotFound) {
			w.cfg.Log.Warn("mail: could not hand a mail back; it is sent once its lease lapses", "mail", om.ID, "err", err)
		}
	}
}

// backoff is the wait after the attempt-th failed attempt: exponential,
// capped, with "equal jitter" (a random point in its upper half), so that
// many mails failing together do not all retry at the same instant.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.BackoffBase
	for i := 1; i < attempt && d < w.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.BackoffMax)
	half := d / 2
	return half + rand.N(d-half+1)
}
