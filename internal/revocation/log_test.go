package revocation_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/revocation"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

func newStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// hub is an in-process Notifier shared by the instances of one test.
type hub struct {
	mu        sync.Mutex
	listeners []func()
}

func (h *hub) Notify(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.listeners {
		f()
	}
	return nil
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.listeners)
}

func (h *hub) Listen(ctx context.Context, f func()) {
	h.mu.Lock()
	h.listeners = append(h.listeners, f)
	h.mu.Unlock()
	<-ctx.Done()
}

func TestLogAcrossInstances(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	now := func() time.Time { return time.Now() }
	h := &hub{}
	cfg := revocation.Config{MaxTokenLifetime: 5 * time.Minute, Notifier: h}
	a := revocation.NewLog(st, cfg, nil, now)
	b := revocation.NewLog(st, cfg, nil, now)
	// b polls only once an hour: only the notification can wake it.
	go b.Run(ctx, time.Hour)
	sub := b.Subscribe(b.Published())
	defer sub.Close()
	for h.count() == 0 {
		time.Sleep(time.Millisecond) // wait until b listens
	}

	if err := a.RevokeSessions(ctx, []store.Session{{ID: "sid-1"}}); err != nil {
		t.Fatal(err)
	}
	if !a.Revoked("sid-1", "", "", time.Time{}) {
		t.Fatal("the revoking instance does not know its own revocation")
	}
	var evs []store.Revocation
	timeout := time.After(5 * time.Second)
	for len(evs) == 0 {
		select {
		case <-sub.Ready():
		case <-timeout:
			t.Fatal("instance b did not learn of the revocation")
		}
		var err error
		if evs, err = sub.Next(ctx, 10); err != nil {
			t.Fatal(err)
		}
	}
	if len(evs) != 1 || evs[0].SessionID != "sid-1" || evs[0].Seq == 0 {
		t.Errorf("b's subscriber got %+v", evs)
	}
	if !b.Revoked("sid-1", "", "", time.Time{}) {
		t.Error("b published the event but its set does not hold it")
	}

	// A third instance starting later loads the live events with Sync.
	c := revocation.NewLog(st, cfg, nil, now)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.Revoked("sid-1", "", "", time.Time{}) {
		t.Error("a new instance did not load the existing revocation")
	}
}
