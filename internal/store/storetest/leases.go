package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunLeaseStoreTests runs the conformance suite for store.LeaseStore.
// newStore must return a store that is empty or shared: every case uses
// lease names of its own.
func RunLeaseStoreTests(t *testing.T, newStore func(t *testing.T) store.LeaseStore) {
	t0 := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	ttl := time.Minute
	acquire := func(t *testing.T, s store.LeaseStore, name, holder string, now time.Time, want bool) {
		t.Helper()
		got, err := s.AcquireLease(t.Context(), name, holder, now, ttl)
		if err != nil {
			t.Fatalf("AcquireLease(%s, %s, %v): %v", name, holder, now, err)
		}
		if got != want {
			t.Fatalf("AcquireLease(%s, %s, %v) = %v, want %v", name, holder, now, got, want)
		}
	}
	t.Run("free lease is granted", func(t *testing.T) {
		s := newStore(t)
		acquire(t, s, randomID(t, "job-"), "a", t0, true)
	})
	t.Run("live lease is refused to others", func(t *testing.T) {
		s := newStore(t)
		name := randomID(t, "job-")
		acquire(t, s, name, "a", t0, true)
		acquire(t, s, name, "b", t0.Add(ttl-time.Millisecond), false)
	})
	t.Run("holder renews", func(t *testing.T) {
		s := newStore(t)
		name := randomID(t, "job-")
		acquire(t, s, name, "a", t0, true)
		acquire(t, s, name, "a", t0.Add(50*time.Second), true)
		// The renewal moved the expiry: at the first expiry b is refused.
		acquire(t, s, name, "b", t0.Add(ttl), false)
	})
	t.Run("expired lease passes to another holder", func(t *testing.T) {
		s := newStore(t)
		name := randomID(t, "job-")
		acquire(t, s, name, "a", t0, true)
		acquire(t, s, name, "b", t0.Add(ttl), true) // expired at exactly now
		acquire(t, s, name, "a", t0.Add(ttl+time.Second), false)
	})
	t.Run("leases are independent", func(t *testing.T) {
		s := newStore(t)
		x, y := randomID(t, "job-"), randomID(t, "job-")
		acquire(t, s, x, "a", t0, true)
		acquire(t, s, y, "b", t0, true)
	})
}
