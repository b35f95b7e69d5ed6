package session

import (
	"sync"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// cache keeps the authentication part of live cookie sessions in memory,
// keyed by the hash of their secret, so that a cookie check reads no
// store. Entries leave it when the session is revoked, expires, or is
// evicted to respect the size bound; a miss falls back to the store.
type cache struct {
	mu     sync.RWMutex
	max    int
	byHash map[[32]byte]store.Session
	byID   map[string][32]byte
}

func newCache(max int) *cache {
	return &cache{max: max, byHash: make(map[[32]byte]store.Session), byID: make(map[string][32]byte)}
}

func (c *cache) get(hash [32]byte) (store.Session, bool) {
	c.mu.RLock()
	s, ok := c.byHash[hash]
	c.mu.RUnlock()
	return s, ok
}

// put stores s without its data, which the cache never serves.
func (c *cache) put(hash [32]byte, s store.Session) {
	if c.max <= 0 {
		return
	}
	s.Data = nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byHash[hash]; !ok && len(c.byHash) >= c.max {
		// Evict an arbitrary entry: Go's map iteration order is random, so
		// this is random eviction, which needs no bookkeeping per hit.
		for h, old := range c.byHash {
			delete(c.byHash, h)
			delete(c.byID, old.ID)
			break
		}
	}
	c.byHash[hash] = s
	c.byID[s.ID] = hash
}

// deleteID drops the session with the given public id, if cached.
func (c *cache) deleteID(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.byID[id]; ok {
		delete(c.byHash, h)
		delete(c.byID, id)
	}
}

// deleteUser drops every cached session of the user except exceptID.
func (c *cache) deleteUser(userID, exceptID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, s := range c.byHash {
		if s.UserID == userID && s.ID != exceptID {
			delete(c.byHash, h)
			delete(c.byID, s.ID)
		}
	}
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byHash)
}
