package session

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestCacheTombstones checks that a revoked record cannot come back into
// the cache from a request that read it from the store before the
// revocation, for as long as the tombstone lives.
func TestCacheTombstones(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	until := t0.Add(2 * time.Minute)
	c := newCache(10)
	old := store.Session{ID: "s1", UserID: "u1", CreatedAt: t0.Add(-time.Hour)}
	h1 := [32]byte{1}
	c.put(h1, old, t0)

	c.revoke("s1", t0, until)
	if _, ok := c.get(h1); ok {
		t.Fatal("revoke left the record cached")
	}
	c.put(h1, old, t0.Add(time.Second)) // a request that read the store before the revocation
	if _, ok := c.get(h1); ok {
		t.Fatal("a revoked record was put back into the cache")
	}
	c.put(h1, old, until) // the tombstone has expired
	if _, ok := c.get(h1); !ok {
		t.Fatal("the tombstone outlived its time")
	}

	// User-wide: older sessions stay out, the excepted one and newer ones
	// come in.
	keep := store.Session{ID: "s2", UserID: "u2", CreatedAt: t0.Add(-time.Hour)}
	other := store.Session{ID: "s3", UserID: "u2", CreatedAt: t0.Add(-time.Hour)}
	newer := store.Session{ID: "s4", UserID: "u2", CreatedAt: t0.Add(time.Second)}
	c.revokeUser("u2", "s2", t0, until)
	c.put([32]byte{2}, keep, t0.Add(time.Second))
	c.put([32]byte{3}, other, t0.Add(time.Second))
	c.put([32]byte{4}, newer, t0.Add(2*time.Second))
	if _, ok := c.get([32]byte{2}); !ok {
		t.Error("the excepted session was refused")
	}
	if _, ok := c.get([32]byte{3}); ok {
		t.Error("a session of the revoked user was put back")
	}
	if _, ok := c.get([32]byte{4}); !ok {
		t.Error("a session created after the user revocation was refused")
	}
}

// TestCacheRevokeUserRacesPut races a request putting a session it read
// before the revocation against the user-wide revocation: once revokeUser
// has returned, the session must not be cached. The old revokeUser
// dropped the entries and set the tombstone under two separate locks, so
// a put between them re-cached the revoked session.
func TestCacheRevokeUserRacesPut(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := store.Session{ID: "s1", UserID: "u1", CreatedAt: t0.Add(-time.Hour)}
	h := [32]byte{1}
	for i := range 5000 {
		c := newCache(10)
		// Other users' sessions, as in a real cache.
		for j := range 8 {
			c.put([32]byte{2, byte(j)}, store.Session{ID: "o" + string(rune('a'+j)), UserID: "other"}, t0)
		}
		c.put(h, s, t0)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
					c.put(h, s, t0)
				}
			}
		}()
		c.revokeUser("u1", "", t0, t0.Add(time.Minute))
		close(stop)
		<-done
		if _, ok := c.get(h); ok {
			t.Fatalf("iteration %d: a session put while its user was revoked is cached", i)
		}
		if got := c.len(); got != 8 {
			t.Fatalf("iteration %d: revokeUser left %d entries, want the 8 of the other user", i, got)
		}
	}
}

// TestCacheUserIndex checks that the per-user index follows puts,
// evictions and revocations.
func TestCacheUserIndex(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCache(2)
	c.put([32]byte{1}, store.Session{ID: "a", UserID: "u"}, t0)
	c.put([32]byte{2}, store.Session{ID: "b", UserID: "u"}, t0)
	c.put([32]byte{3}, store.Session{ID: "c", UserID: "v"}, t0) // evicts a or b
	n := 0
	for _, ids := range c.byUser {
		n += len(ids)
	}
	if n != 2 || len(c.byUser["u"]) != 1 || len(c.byUser["v"]) != 1 {
		t.Fatalf("index %v after an eviction", c.byUser)
	}
	c.revokeUser("u", "", t0, t0.Add(time.Minute))
	if _, ok := c.byUser["u"]; ok || c.len() != 1 {
		t.Fatalf("index %v, %d entries after revoking u", c.byUser, c.len())
	}
	c.deleteID("c")
	if len(c.byUser) != 0 || c.len() != 0 {
		t.Fatalf("index %v, %d entries, want none", c.byUser, c.len())
	}
}
