package redisnotify_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/revocation/redisnotify"
	"github.com/gatehouse-auth/gatehouse/internal/store/redis/redistest"
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
