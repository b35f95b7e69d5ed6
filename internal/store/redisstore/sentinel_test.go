package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	sessions "github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	redisstore "github.com/gatehouse-auth/gatehouse/internal/store/redisstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
)

// failoverRun is what one failover under traffic measured.
type failoverRun struct {
	// checkOutage and loginOutage are how long after the kill cookie checks
	// and logins (session creations) last failed; zero if none failed.
	checkOutage, loginOutage time.Duration
	checkFails, loginFails   int
	// acked is how many logins succeeded before the kill and during the
	// failover; lost how many of them the new master does not have.
	acked, lost int
	// recovered is whether both kinds of call succeed again on the same
	// clients, without a restart.
	recovered bool
	// loginLatency is the median latency of a login before the kill.
	loginLatency time.Duration
}

func (r failoverRun) String() string {
	return fmt.Sprintf("cookie checks failed %d times for %v, logins failed %d times for %v; %d of %d acknowledged logins lost; recovered without restart: %v; median login write before the kill %v",
		r.checkFails, r.checkOutage.Round(time.Millisecond), r.loginFails, r.loginOutage.Round(time.Millisecond), r.lost, r.acked, r.recovered, r.loginLatency.Round(time.Microsecond))
}

// TestSentinelFailover kills the master of a real Sentinel setup (a
// master, replicas, three sentinels on loopback ports) under traffic of
// logins and cookie checks, and measures how long each fails, whether the
// clients recover without a restart, and how many acknowledged logins the
// failover loses: first with asynchronous replication, then with
// WaitReplicas 1 (and two replicas, so that the new master still has one
// to wait for), where none may be lost.
func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	for _, tt := range []struct {
		name     string
		replicas int
		wait     int
	}{
		{"Async", 1, 0},
		{"WaitReplicas1", 2, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runFailover(t, tt.replicas, tt.wait)
			t.Log(r)
			if !r.recovered {
				t.Fatal("the clients did not recover")
			}
			if tt.wait > 0 && r.lost != 0 {
				t.Errorf("%d acknowledged logins lost with WaitReplicas %d", r.lost, tt.wait)
			}
		})
	}
}

func runFailover(t *testing.T, replicas, wait int) failoverRun {
	const downAfter = time.Second
	setup := redistest.Sentinel(t, replicas, downAfter)
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    setup.MasterName,
		SentinelAddrs: setup.SentinelAddrs(),
		DialTimeout:   250 * time.Millisecond,
		ReadTimeout:   250 * time.Millisecond,
		WriteTimeout:  250 * time.Millisecond,
		MaxRetries:    1,
	})
	t.Cleanup(func() { c.Close() })
	st := redisstore.New(c, redisstore.Options{WaitReplicas: wait, WaitTimeout: 500 * time.Millisecond})
	// No cache: every check asks Redis.
	m := sessions.NewManager(st, sessions.Config{CacheSize: -1}, nil, nil)

	type login struct {
		secret string
		at     time.Time
	}
	var (
		mu        sync.Mutex
		acked     []login
		latencies []time.Duration
		r         failoverRun
		killedAt  time.Time
		lastCheck time.Time // last failed check
		lastLogin time.Time // last failed login
		okCheck   time.Time // last successful check
		okLogin   time.Time
	)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			user := fmt.Sprintf("user-%d", w)
			var mine []string
			for i := 0; ctx.Err() == nil; i++ {
				start := time.Now()
				cctx, ccancel := context.WithTimeout(ctx, time.Second)
				created, err := m.CreateCookie(cctx, user, sessions.ClientInfo{UserAgent: "failover"})
				ccancel()
				now := time.Now()
				mu.Lock()
				if err == nil {
					acked = append(acked, login{created.Secret, now})
					mine = append(mine, created.Secret)
					okLogin = now
					if killedAt.IsZero() {
						latencies = append(latencies, now.Sub(start))
					}
				} else if ctx.Err() == nil {
					r.loginFails++
					lastLogin = now
				}
				mu.Unlock()
				if len(mine) == 0 {
					continue
				}
				cctx, ccancel = context.WithTimeout(ctx, time.Second)
				_, err = m.AuthenticateCookie(cctx, mine[i%len(mine)])
				ccancel()
				now = time.Now()
				mu.Lock()
				// A check of a login lost in the failover is no outage
				// of checks: count only errors, not ErrInvalid.
				if err == nil || errors.Is(err, sessions.ErrInvalid) {
					okCheck = now
				} else if ctx.Err() == nil {
					r.checkFails++
					lastCheck = now
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // traffic before the kill
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	setup.Master.Kill()
	// Wait until both kinds of call have succeeded for a while after the
	// failover, or give up.
	deadline := killedAt.Add(30 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		failedSince := !lastCheck.IsZero() || !lastLogin.IsZero()
		recovered := failedSince && okCheck.After(lastCheck.Add(time.Second)) && okLogin.After(lastLogin.Add(time.Second))
		mu.Unlock()
		if recovered {
			r.recovered = true
			break
		}
	}
	cancel()
	wg.Wait()
	if !lastCheck.IsZero() {
		r.checkOutage = lastCheck.Sub(killedAt)
	}
	if !lastLogin.IsZero() {
		r.loginOutage = lastLogin.Sub(killedAt)
	}
	if !r.recovered {
		return r
	}
	// Which acknowledged logins does the new master have?
	check := sessions.NewManager(st, sessions.Config{CacheSize: -1}, nil, nil)
	for _, l := range acked {
		_, err := check.AuthenticateCookie(t.Context(), l.secret)
		switch {
		case errors.Is(err, sessions.ErrInvalid):
			r.lost++
		case err != nil:
			t.Fatalf("AuthenticateCookie after the failover: %v", err)
		}
	}
	r.acked = len(acked)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if len(latencies) > 0 {
		r.loginLatency = latencies[len(latencies)/2]
	}
	return r
}

// TestWaitReplicasNoReplica checks that with WaitReplicas a write that no
// replica acknowledges fails with ErrNotReplicated, on a master without
// replicas.
func TestWaitReplicasNoReplica(t *testing.T) {
	nodes := redistest.Servers(t, 1)
	c := redis.NewClient(&redis.Options{Addr: nodes[0].Addr})
	t.Cleanup(func() { c.Close() })
	st := redisstore.New(c, redisstore.Options{WaitReplicas: 1, WaitTimeout: 10 * time.Millisecond})
	s := session("alice", time.Hour)
	if err := st.CreateSession(t.Context(), s); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("CreateSession = %v, want ErrNotReplicated", err)
	}
	if err := st.DeleteSession(t.Context(), s.ID); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("DeleteSession = %v, want ErrNotReplicated", err)
	}
	if _, err := st.GetSession(t.Context(), s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSession after the delete = %v, want ErrNotFound (the master has the write)", err)
	}
}
