package session

import (
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// cache keeps the authentication part of live cookie sessions in memory,
// keyed by the hash of their secret, so that a cookie check reads no
// store. Entries leave it when the session is revoked, expires, or is
// evicted to respect the size bound; a miss falls back to the store.
//
// A revocation leaves a tombstone for a while, so that a request that read
// the record from the store just before it was deleted cannot put it back
// into the cache afterwards.
type cache struct {
	mu     sync.RWMutex
	max    int
	byHash map[[32]byte]store.Session
	byID   map[string][32]byte
	// byUser indexes the cached ids of each user, so that a user-wide
	// revocation drops them without scanning the cache.
	byUser map[string]map[string]struct{}
	// tombs holds revoked session ids until the given time; userTombs
	// holds user-wide revocations.
	tombs     map[string]time.Time
	userTombs map[string]userTomb
	// nextPrune is when expired tombstones are next dropped: at most once
	// per tombPruneEvery, not on every revocation, so that a burst of
	// revocations does not scan every tombstone each under the lock.
	// Expired ones left meanwhile are ignored by put.
	nextPrune time.Time
}

// tombPruneEvery is how often at most expired tombstones are dropped.
const tombPruneEvery = time.Second

// userTomb refuses the user's sessions created at or before at, except
// the one whose id is except, until until.
type userTomb struct {
	at, until time.Time
	except    string
}

func newCache(max int) *cache {
	return &cache{
		max: max, byHash: make(map[[32]byte]store.Session), byID: make(map[string][32]byte),
		byUser: make(map[string]map[string]struct{}),
		tombs:  make(map[string]time.Time), userTombs: make(map[string]userTomb),
	}
}

func (c *cache) get(hash [32]byte) (store.Session, bool) {
	c.mu.RLock()
	s, ok := c.byHash[hash]
	c.mu.RUnlock()
	return s, ok
}

// put stores s without its data, which the cache never serves, unless a
// live tombstone says it was revoked.
func (c *cache) put(hash [32]byte, s store.Session, now time.Time) {
	if c.max <= 0 {
		return
	}
	s.Data = nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if until, ok := c.tombs[s.ID]; ok && now.Before(until) {
		return
	}
	if ut, ok := c.userTombs[s.UserID]; ok && now.Before(ut.until) && s.ID != ut.except && !s.CreatedAt.After(ut.at) {
		return
	}
	if _, ok := c.byHash[hash]; !ok && len(c.byHash) >= c.max {
		// Evict an arbitrary entry: Go's map iteration order is random, so
		// this is random eviction, which needs no bookkeeping per hit.
		for _, old := range c.byHash {
			c.removeLocked(old.ID)
			break
		}
	}
	c.byHash[hash] = s
	c.byID[s.ID] = hash
	ids := c.byUser[s.UserID]
	if ids == nil {
		ids = make(map[string]struct{})
		c.byUser[s.UserID] = ids
	}
	ids[s.ID] = struct{}{}
}

// removeLocked drops the session with the given id, if cached; c.mu is
// held.
func (c *cache) removeLocked(id string) {
	h, ok := c.byID[id]
	if !ok {
		return
	}
	user := c.byHash[h].UserID
	delete(c.byHash, h)
	delete(c.byID, id)
	if ids := c.byUser[user]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(c.byUser, user)
		}
	}
}

// deleteID drops the session with the given public id, if cached.
func (c *cache) deleteID(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(id)
}

// revoke drops the session with the given id and keeps it out until
// until.
func (c *cache) revoke(id string, now, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(id)
	c.pruneTombs(now)
	c.tombs[id] = until
}

// revokeUser drops every cached session of the user except exceptID, and
// keeps those created until now out until until. Both happen under one
// lock, so that no put can slip between them and cache a revoked session;
// the user index makes it cost the user's sessions, not the cache's.
func (c *cache) revokeUser(userID, exceptID string, now, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.byUser[userID] {
		if id != exceptID {
			c.removeLocked(id)
		}
	}
	c.pruneTombs(now)
	c.userTombs[userID] = userTomb{at: now, until: until, except: exceptID}
}

// pruneTombs drops tombstones that expired, if it has not done so in the
// last tombPruneEvery; c.mu is held.
func (c *cache) pruneTombs(now time.Time) {
	if now.Before(c.nextPrune) {
		return
	}
	c.nextPrune = now.Add(tombPruneEvery)
	for id, until := range c.tombs {
		if !now.Before(until) {
			delete(c.tombs, id)
		}
	}
	for u, t := range c.userTombs {
		if !now.Before(t.until) {
			delete(c.userTombs, u)
		}
	}
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byHash)
}
