package identity

import (
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// userCache keeps recently read accounts in memory for a short time, so
// that a read-only path that runs on every request (GET /v1/me) does not
// read the user store each time. It holds no password hashes.
//
// Freshness: this instance drops an entry when it changes or deletes the
// account, and the server drops it when the revocation log reports a
// user-wide revocation from any instance (a disable, a delete, a password
// change); other changes made on another instance (custom claims) show
// after at most the TTL.
//
// A forget bumps a generation counter; a read from the store that started
// before a forget is not cached, so a concurrent reader cannot put back a
// record that was just dropped.
type userCache struct {
	ttl time.Duration
	max int

	mu    sync.RWMutex
	gen   uint64
	users map[string]cachedUser
}

type cachedUser struct {
	user  store.User
	until time.Time
}

func newUserCache(ttl time.Duration, max int) *userCache {
	if ttl <= 0 || max <= 0 {
		return nil
	}
	return &userCache{ttl: ttl, max: max, users: make(map[string]cachedUser)}
}

// get returns the cached account if it is still fresh at now, and the
// generation to pass to put after a miss.
func (c *userCache) get(id string, now time.Time) (store.User, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.users[id]
	if ok && now.Before(e.until) {
		return e.user, c.gen, true
	}
	return store.User{}, c.gen, false
}

// put caches u, read from the store when the generation was gen, unless
// something was forgotten since.
func (c *userCache) put(u store.User, gen uint64, now time.Time) {
	u.PasswordHash = ""
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.users[u.ID]; !ok && len(c.users) >= c.max {
		// Random eviction (map order is random): no bookkeeping per hit.
		for id := range c.users {
			delete(c.users, id)
			break
		}
	}
	c.users[u.ID] = cachedUser{user: u, until: now.Add(c.ttl)}
}

// forget drops the account, if cached, and invalidates reads in flight.
func (c *userCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.users, id)
}
