package pgnotify_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-auth/gatehouse/internal/revocation/pgnotify"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

func TestNotifyReachesListeners(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	a, b := pgnotify.New(pool), pgnotify.New(pool)
	got := make(chan struct{}, 16)
	go b.Listen(t.Context(), func() { got <- struct{}{} })
	select { // the first call follows LISTEN
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no call after LISTEN")
	}
	if err := a.Notify(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("announcement not received")
	}
}
