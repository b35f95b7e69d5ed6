package redisnotify_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/revocation/redisnotify"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
)

// TestClusterFanOut checks announcements on a real three-master Redis
// Cluster: instances connected to different nodes (a plain client of each
// node) and instances with Cluster clients, which publish on any node and
// subscribe on the channel's slot master, all hear every announcement,
// since a Cluster forwards classic PUBLISH to every node.
func TestClusterFanOut(t *testing.T) {
	cc, nodes := redistest.Cluster(t, 3)
	const channel = "gatehouse-test:revocations"
	var clients []redis.UniversalClient
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr})
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
	}
	for range 2 {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cc.Options().Addrs})
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
	}

	heard := make([]chan struct{}, len(clients))
	notifiers := make([]*redisnotify.Notifier, len(clients))
	for i, c := range clients {
		notifiers[i] = redisnotify.New(c, channel)
		heard[i] = make(chan struct{}, 64)
		go notifiers[i].Listen(t.Context(), func() { heard[i] <- struct{}{} })
	}
	wait := func(i int, what string) {
		t.Helper()
		select {
		case <-heard[i]:
		case <-time.After(5 * time.Second):
			t.Fatalf("instance %d (%s): %s not heard", i, clientName(clients[i]), what)
		}
	}
	for i := range clients { // the first call follows the subscription
		wait(i, "subscription")
	}
	for from := range clients {
		if err := notifiers[from].Notify(t.Context()); err != nil {
			t.Fatalf("Notify from %d: %v", from, err)
		}
		for i := range clients {
			wait(i, fmt.Sprintf("announcement from instance %d (%s)", from, clientName(clients[from])))
		}
	}
}

func clientName(c redis.UniversalClient) string {
	if n, ok := c.(*redis.Client); ok {
		return "node " + n.Options().Addr
	}
	return "cluster client"
}
