package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/webhook"
)

// HooksStore is what webhooks and back-channel logout run on: their own
// records, the clients, and the audit trail they tail. The SQL store
// implements it.
type HooksStore interface {
	webhook.DispatchStore
	webhook.EventSource
	store.ClientStore
}

// hooks are the webhook and back-channel logout jobs Serve runs.
type hooks struct {
	dispatcher *webhook.Dispatcher
	worker     *outbox.Worker[store.Delivery]
}

// wireHooks builds the webhook endpoint manager, the dispatcher that
// tails the audit trail, and the delivery worker. Without a hooks store
// both features stay off.
func (a *App) wireHooks(st HooksStore, kek [seal.KeySize]byte, log *slog.Logger, now func() time.Time, timeout time.Duration) error {
	if st == nil {
		return nil
	}
	sender, err := webhook.NewSender(st, kek, webhook.SenderConfig{Logout: a.IDTokens, Timeout: timeout, Now: now})
	if err != nil {
		return err
	}
	w, err := outbox.NewWorker[store.Delivery](sender, outbox.Config{
		Name: "webhook", Instance: a.instanceID, Log: log, Now: now,
		// A delivery takes at most the sender's timeout; the lease is
		// more than twice that.
		Lease: 30 * time.Second, BackoffBase: 5 * time.Second, MaxAttempts: 12,
	})
	if err != nil {
		return fmt.Errorf("webhook worker: %w", err)
	}
	d, err := webhook.NewDispatcher(st, st, webhook.DispatcherConfig{Instance: a.instanceID, Queued: w.Wake, Log: log, Now: now})
	if err != nil {
		return err
	}
	a.Webhooks, err = webhook.NewEndpoints(st, kek, webhook.EndpointsConfig{Now: now, Wake: w.Wake})
	if err != nil {
		return err
	}
	a.hooks = &hooks{dispatcher: d, worker: w}
	return nil
}

// runHooks runs the dispatcher and the delivery worker until ctx ends.
func (h *hooks) run(ctx context.Context, start func(func())) {
	start(func() { _ = h.dispatcher.Run(ctx) })
	start(func() { _ = h.worker.Run(ctx, nil) })
}

// DeliverHooks runs one dispatch round and one delivery round now, as
// Serve's jobs do every second, and returns how many deliveries it
// claimed. Tests call it instead of waiting.
func (a *App) DeliverHooks(ctx context.Context) (int, error) {
	if a.hooks == nil {
		return 0, nil
	}
	if _, err := a.hooks.dispatcher.RunOnce(ctx); err != nil {
		return 0, err
	}
	return a.hooks.worker.RunOnce(ctx)
}
