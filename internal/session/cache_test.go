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
