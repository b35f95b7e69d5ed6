// Package redisnotify fans revocation-log announcements out to every
// Gatehouse instance through Redis pub/sub, so they sync at once rather
// than at their next poll.
package redisnotify

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/revocation"
)

var _ revocation.Notifier = (*Notifier)(nil)

// Notifier publishes and receives announcements on one Redis channel.
type Notifier struct {
	client  redis.UniversalClient
	channel string
}

// New returns a Notifier on channel (instances of one deployment share
// it; the key prefix of the deployment makes a good one).
func New(client redis.UniversalClient, channel string) *Notifier {
	return &Notifier{client: client, channel: channel}
}

// Notify publishes an announcement.
func (n *Notifier) Notify(ctx context.Context) error {
	if err := n.client.Publish(ctx, n.channel, "1").Err(); err != nil {
		return fmt.Errorf("redisnotify: publish: %w", err)
	}
	return nil
}

// Listen calls onNotify for every announcement until ctx ends. It also
// calls it after each (re)subscription, since announcements made while
// the subscription was down are lost.
func (n *Notifier) Listen(ctx context.Context, onNotify func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		sub := n.client.Subscribe(ctx, n.channel)
		// A blocked Receive does not return when ctx ends; closing the
		// subscription makes it, so that Listen returns promptly (Log.Run
		// waits for it at shutdown).
		stop := context.AfterFunc(ctx, func() { _ = sub.Close() })
		if _, err := sub.Receive(ctx); err == nil {
			backoff = 100 * time.Millisecond
			onNotify()
			n.receive(ctx, sub, onNotify)
		}
		stop()
		_ = sub.Close()
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// receive delivers messages until the subscription fails or ctx ends.
func (n *Notifier) receive(ctx context.Context, sub *redis.PubSub, onNotify func()) {
	for {
		msg, err := sub.Receive(ctx)
		if err != nil {
			return
		}
		if _, ok := msg.(*redis.Message); ok {
			onNotify()
		}
	}
}
