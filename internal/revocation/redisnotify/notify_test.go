package redisnotify_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/revocation/redisnotify"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
)

func TestNotifyReachesListeners(t *testing.T) {
	c := redistest.Client(t)
	channel := redistest.Prefix(t, c) + "revocations"
	a, b := redisnotify.New(c, channel), redisnotify.New(c, channel)
	got := make(chan struct{}, 16)
	go b.Listen(t.Context(), func() { got <- struct{}{} })
	select { // the first call follows the subscription
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no call after subscribing")
	}
	if err := a.Notify(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("announcement not received")
	}
}

// TestListenReturnsWhenContextEnds: Log.Run waits for Listen at shutdown,
// so Listen must return once its context ends, even while it is blocked
// waiting for a message (go-redis's Receive ignores the context there).
func TestListenReturnsWhenContextEnds(t *testing.T) {
	c := redistest.Client(t)
	n := redisnotify.New(c, redistest.Prefix(t, c)+"revocations")
	ctx, cancel := context.WithCancel(t.Context())
	listening := make(chan struct{}, 1)
	returned := make(chan struct{})
	go func() {
		n.Listen(ctx, func() {
			select {
			case listening <- struct{}{}:
			default:
			}
		})
		close(returned)
	}()
	<-listening // subscribed, and now blocked in Receive
	cancel()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
}
