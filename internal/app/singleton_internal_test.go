package app

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/password"
)

// TestSingletonRunsOnOneInstance starts two instances on one database and
// checks that a singleton job runs on one of them only, and that the other
// takes over once the first stops.
func TestSingletonRunsOnOneInstance(t *testing.T) {
	dir := t.TempDir()
	cheap := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	open := func() *App {
		cfg, err := config.Parse([]string{"--data-dir", dir}, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(t.Context(), cfg, Options{PasswordParams: cheap})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	a, b := open(), open()
	var runsA, runsB atomic.Int32
	ctxA, stopA := context.WithCancel(t.Context())
	ctxB, stopB := context.WithCancel(t.Context())
	defer stopB()
	// The lease lasts two intervals: long enough here that a loaded CI
	// machine's slow SQLite write does not let it lapse while a holds it.
	const interval = 100 * time.Millisecond
	doneA := make(chan struct{})
	go func() {
		defer close(doneA)
		a.singleton(ctxA, "test-job", interval, func(context.Context) error { runsA.Add(1); return nil })
	}()
	for runsA.Load() == 0 {
		time.Sleep(time.Millisecond) // let a take the lease first
	}
	go b.singleton(ctxB, "test-job", interval, func(context.Context) error { runsB.Add(1); return nil })
	for runsA.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	if n := runsB.Load(); n != 0 {
		t.Fatalf("b ran the job %d times while a held the lease", n)
	}
	stopA()
	<-doneA
	deadline := time.Now().Add(10 * time.Second)
	for runsB.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("b never took over the lease after a stopped")
		}
		time.Sleep(time.Millisecond)
	}
}
