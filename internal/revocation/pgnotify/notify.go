// Package pgnotify fans revocation-log announcements out to every
// Gatehouse instance through PostgreSQL LISTEN/NOTIFY, for deployments
// without Redis.
package pgnotify

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-auth/gatehouse/internal/revocation"
)

var _ revocation.Notifier = (*Notifier)(nil)

// Channel is the NOTIFY channel; notifications are scoped to one
// database, so instances of different deployments never meet.
const Channel = "gatehouse_revocations"

// Notifier sends and receives announcements on Channel.
type Notifier struct {
	pool *pgxpool.Pool
}

// New returns a Notifier on pool.
func New(pool *pgxpool.Pool) *Notifier { return &Notifier{pool: pool} }

// Notify sends an announcement.
func (n *Notifier) Notify(ctx context.Context) error {
	if _, err := n.pool.Exec(ctx, "SELECT pg_notify($1, '')", Channel); err != nil {
		return fmt.Errorf("pgnotify: notify: %w", err)
	}
	return nil
}

// Listen holds one pooled connection that LISTENs, and calls onNotify for
// every announcement until ctx ends. It also calls it after each
// (re)connection, since announcements made meanwhile are lost.
func (n *Notifier) Listen(ctx context.Context, onNotify func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if n.listenOnce(ctx, onNotify) {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listenOnce listens on one connection until it fails; it reports whether
// it got as far as listening.
func (n *Notifier) listenOnce(ctx context.Context, onNotify func()) bool {
	conn, err := n.pool.Acquire(ctx)
	if err != nil {
		return false
	}
	defer func() {
		// A connection that was listening must not go back to the pool
		// still subscribed.
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return false
	}
	onNotify()
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return true
		}
		onNotify()
	}
}
