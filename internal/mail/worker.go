package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// WorkerConfig configures a Worker: package outbox's Config, whose
// fields document their defaults. Its Lease (default 2m) must be at least
// twice the SMTP SendTimeout (60s by default); Name is set to "mail".
type WorkerConfig = outbox.Config

// Worker delivers the outbox's mails. Each instance of a cluster runs
// one; leases keep two from sending the same mail. The claim, lease,
// backoff and sweep rules are package outbox's.
type Worker struct {
	q *Queue
	w *outbox.Worker[store.OutboxMail]
}

// NewWorker returns a worker that claims from q's outbox and delivers
// through sender.
func NewWorker(q *Queue, sender Sender, cfg WorkerConfig) (*Worker, error) {
	cfg.Name = "mail"
	w, err := outbox.NewWorker[store.OutboxMail](mailQueue{q: q, sender: sender}, cfg)
	if err != nil {
		return nil, err
	}
	return &Worker{q: q, w: w}, nil
}

// Run delivers due mails until ctx ends. Stopping is graceful: a
// delivery in flight finishes (bounded by the sender's own timeout) and
// is recorded; mails claimed but not yet started are handed back, due at
// once, for another instance or the next start.
func (w *Worker) Run(ctx context.Context) error { return w.w.Run(ctx, w.q.ready) }

// RunOnce claims one batch of due mails and delivers them, and sweeps old
// finished mails now and then. It returns how many mails it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) { return w.w.RunOnce(ctx) }

// backoff is the wait after the attempt-th failed attempt (see
// outbox.Worker.Backoff).
func (w *Worker) backoff(attempt int) time.Duration { return w.w.Backoff(attempt) }

// mailQueue is the outbox.Queue of the mail outbox.
type mailQueue struct {
	q      *Queue
	sender Sender
}

func (m mailQueue) Claim(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]store.OutboxMail, error) {
	return m.q.st.ClaimMails(ctx, holder, now, lease, limit)
}

func (mailQueue) Lease(om store.OutboxMail) outbox.Lease {
	return outbox.Lease{ID: om.ID, Attempts: om.Attempts, Until: om.LeaseUntil}
}

// Deliver opens and sends one mail; a mail that cannot be opened, or
// that the server refuses for good, is a permanent failure.
func (m mailQueue) Deliver(ctx context.Context, om store.OutboxMail) (int, error) {
	msg, err := m.q.open(om)
	if err != nil {
		return 0, permanent{fmt.Errorf("%w: %w", ErrPermanent, err)}
	}
	if err := m.sender.Send(ctx, msg); err != nil {
		if errors.Is(err, ErrPermanent) {
			return 0, permanent{err}
		}
		return 0, err
	}
	return 0, nil
}

func (m mailQueue) Delivered(ctx context.Context, om store.OutboxMail, _ int, now time.Time) error {
	return m.q.st.MarkMailSent(ctx, om.ID, now)
}

func (m mailQueue) Failed(ctx context.Context, om store.OutboxMail, holder string, f outbox.Failure) error {
	return m.q.st.MarkMailFailed(ctx, om.ID, holder, store.MailFailure{
		At: f.At, Error: f.Err.Error(), Dead: f.Dead, NextAttemptAt: f.NextAttemptAt})
}

func (m mailQueue) Sweep(ctx context.Context, before time.Time) (int, error) {
	return m.q.st.DeleteFinishedMails(ctx, before)
}

// permanent marks a mail error as outbox.ErrPermanent without changing
// its text.
type permanent struct{ error }

func (p permanent) Is(target error) bool { return target == outbox.ErrPermanent }
func (p permanent) Unwrap() error        { return p.error }
