package redisstore_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	redislimit "github.com/gatehouse-auth/gatehouse/internal/ratelimit/redislimit"
	sessions "github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	redisstore "github.com/gatehouse-auth/gatehouse/internal/store/redisstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// TestCluster runs the store on a real three-master Redis Cluster that it
// starts on loopback ports: the conformance suite, in both key layouts;
// the spread of sessions and rate-limit keys over the masters; and the
// session manager's routed cookies and ids.
func TestCluster(t *testing.T) {
	c, _ := redistest.Cluster(t, 3)

	t.Run("SessionStoreLegacyLayout", func(t *testing.T) {
		storetest.RunSessionStoreTests(t, func(t *testing.T) store.SessionStore {
			return redisstore.New(c, redisstore.Options{KeyPrefix: redistest.Prefix(t, c)})
		})
	})
	t.Run("SessionStoreRouted", func(t *testing.T) {
		storetest.RunSessionStoreTests(t, func(t *testing.T) store.SessionStore {
			return newRouted(redisstore.New(c, redisstore.Options{KeyPrefix: redistest.Prefix(t, c)}))
		})
	})
	t.Run("Spread", func(t *testing.T) { testSpread(t, c) })
	t.Run("RateLimitSpread", func(t *testing.T) { testRateLimitSpread(t, c) })
	t.Run("Manager", func(t *testing.T) { testClusterManager(t, c) })
}

// perMaster returns how many keys that match pattern each master holds.
func perMaster(t *testing.T, c *redis.ClusterClient, pattern string) map[string]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[string]int{}
	err := c.ForEachMaster(t.Context(), func(ctx context.Context, m *redis.Client) error {
		n := 0
		iter := m.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			n++
		}
		mu.Lock()
		counts[m.Options().Addr] = n
		mu.Unlock()
		return iter.Err()
	})
	if err != nil {
		t.Fatalf("scan masters: %v", err)
	}
	return counts
}

// checkFair fails t if a master holds more than half of the keys, or none.
func checkFair(t *testing.T, counts map[string]int, what string) {
	t.Helper()
	total := 0
	for _, n := range counts {
		total += n
	}
	t.Logf("%s per master: %v (total %d)", what, counts, total)
	if len(counts) != 3 || total == 0 {
		t.Fatalf("%s: %d masters, %d keys", what, len(counts), total)
	}
	for addr, n := range counts {
		if n*2 > total || n == 0 {
			t.Errorf("%s: master %s holds %d of %d keys", what, addr, n, total)
		}
	}
}

// testSpread creates 10,000 cookie sessions of 1,000 users through the
// session manager and checks that no master holds more than half of the
// keys, nor of the sessions.
func testSpread(t *testing.T, c *redis.ClusterClient) {
	prefix := redistest.Prefix(t, c)
	st := redisstore.New(c, redisstore.Options{KeyPrefix: prefix})
	m := sessions.NewManager(st, sessions.Config{}, nil, nil)
	const users, perUser = 1000, 10
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for u := w; u < users; u += 16 {
				for range perUser {
					if _, err := m.CreateCookie(t.Context(), fmt.Sprintf("user-%d", u), sessions.ClientInfo{UserAgent: "spread"}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("CreateCookie: %v", err)
	}
	n, err := st.CountSessions(t.Context(), time.Now())
	if err != nil || n != users*perUser {
		t.Fatalf("CountSessions = %d, %v; want %d", n, err, users*perUser)
	}
	checkFair(t, perMaster(t, c, prefix+"*"), "keys")
	// The sessions themselves: their records, named by the secret hash.
	checkFair(t, perMaster(t, c, prefix+"{*}:h:*"), "sessions")
}

// testRateLimitSpread checks that the login limiter's keys spread too.
func testRateLimitSpread(t *testing.T, c *redis.ClusterClient) {
	prefix := redistest.Prefix(t, c)
	l, err := redislimit.New(c, ratelimit.Limit{Max: 5, Window: time.Minute}, redislimit.Options{KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := l.Fail(t.Context(), fmt.Sprintf("account:user-%d@example.com", i)); err != nil {
			t.Fatalf("Fail: %v", err)
		}
	}
	checkFair(t, perMaster(t, c, prefix+"*"), "rate-limit keys")
}

// commandCounter counts the commands a client sends.
type commandCounter struct{ n atomic.Int64 }

func (cc *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (cc *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		cc.n.Add(1)
		return next(ctx, cmd)
	}
}
func (cc *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		cc.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// testClusterManager checks the session manager on the Cluster: routed
// cookie values and ids; a cold cookie check of one command; listing and
// revoking a user's records; and removing a client's grants of users on
// different routes.
func testClusterManager(t *testing.T, c *redis.ClusterClient) {
	ctx := t.Context()
	prefix := redistest.Prefix(t, c)
	st := redisstore.New(c, redisstore.Options{KeyPrefix: prefix})
	m := sessions.NewManager(st, sessions.Config{}, nil, nil)
	created, err := m.CreateCookie(ctx, "alice", sessions.ClientInfo{UserAgent: "ua", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	route := st.SessionRoute("alice")
	if !strings.HasPrefix(created.Secret, route+".") || !sessions.ValidSecretSyntax(created.Secret[len(route)+1:]) {
		t.Fatalf("cookie value %q: want %q, a dot and a secret", created.Secret, route)
	}
	if !strings.HasPrefix(created.Session.ID, route+".") {
		t.Fatalf("id %q does not start with the route %q", created.Session.ID, route)
	}

	// A fresh manager (a cold cache, another instance) checks the cookie
	// with one command.
	counter := &commandCounter{}
	c2 := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Options().Addrs})
	t.Cleanup(func() { c2.Close() })
	if err := c2.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.Ping(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	c2.AddHook(counter)
	m2 := sessions.NewManager(redisstore.New(c2, redisstore.Options{KeyPrefix: prefix}), sessions.Config{}, nil, nil)
	got, err := m2.AuthenticateCookie(ctx, created.Secret)
	if err != nil || got.ID != created.Session.ID {
		t.Fatalf("AuthenticateCookie = %q, %v", got.ID, err)
	}
	if n := counter.n.Load(); n != 1 {
		t.Errorf("cold cookie check sent %d commands, want 1", n)
	}
	// A changed route, or a route with the secret of another, finds nothing.
	other := "000"
	if route == other {
		other = "001"
	}
	for _, v := range []string{other + created.Secret[len(route):], created.Secret[len(route)+1:], "fff" + created.Secret[len(route):]} {
		if _, err := m2.AuthenticateCookie(ctx, v); err == nil {
			t.Errorf("AuthenticateCookie(%q) succeeded", v)
		}
	}

	// Grants of one client, for users on different routes.
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	routes := map[string]bool{}
	for _, u := range users {
		routes[st.SessionRoute(u)] = true
		if _, err := m.CreateGrant(ctx, sessions.GrantSpec{UserID: u, ClientID: "app"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(routes) < 2 {
		t.Fatalf("users on %d routes", len(routes))
	}
	list, err := m.List(ctx, "alice")
	if err != nil || len(list) != 2 {
		t.Fatalf("List(alice) = %d records, %v; want 2", len(list), err)
	}
	removed, err := st.DeleteClientSessions(ctx, "app")
	if err != nil || len(removed) != len(users) {
		t.Fatalf("DeleteClientSessions = %d records, %v; want %d", len(removed), err, len(users))
	}
	if _, err := m.RevokeUser(ctx, "alice", "", "revoked"); err != nil {
		t.Fatal(err)
	}
	m3 := sessions.NewManager(st, sessions.Config{}, nil, nil)
	if _, err := m3.AuthenticateCookie(ctx, created.Secret); err == nil {
		t.Fatal("cookie still works after RevokeUser")
	}
}

// routed runs the conformance suite on a Store's routed layout: it gives
// each record the id "<route>.<id>", and finds cookie records with their
// route, as session.Manager does, and shows callers the ids they chose. In
// the routed layout an id or a secret hash is unique within its route; a
// caller can choose a taken one only by choosing another user's route, so
// this adapter refuses those (store.ErrConflict) as the suite expects.
type routed struct {
	*redisstore.Store
	mu     sync.Mutex
	ids    map[string]string // the caller's id: the stored one
	hashes map[string]string // hex secret hash: route
}

func newRouted(st *redisstore.Store) *routed {
	return &routed{Store: st, ids: map[string]string{}, hashes: map[string]string{}}
}

func (r *routed) id(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rid, ok := r.ids[id]; ok {
		return rid
	}
	return "000.absent-" + id
}

// out shows a record with the caller's id.
func out(s store.Session) store.Session {
	if i := strings.IndexByte(s.ID, '.'); i >= 0 {
		s.ID = s.ID[i+1:]
	}
	return s
}

func outs(ss []store.Session, err error) ([]store.Session, error) {
	for i := range ss {
		ss[i] = out(ss[i])
	}
	return ss, err
}

func (r *routed) CreateSession(ctx context.Context, s store.Session) error {
	route := r.SessionRoute(s.UserID)
	h := hex.EncodeToString(s.SecretHash)
	r.mu.Lock()
	rid, taken := r.ids[s.ID]
	hr, hashTaken := r.hashes[h]
	if (taken && rid[:3] != route) || (len(s.SecretHash) > 0 && hashTaken && hr != route) {
		r.mu.Unlock()
		return fmt.Errorf("routed: %w", store.ErrConflict)
	}
	r.mu.Unlock()
	s.ID = route + "." + s.ID
	if err := r.Store.CreateSession(ctx, s); err != nil {
		return err
	}
	r.mu.Lock()
	r.ids[s.ID[4:]] = s.ID
	if len(s.SecretHash) > 0 {
		r.hashes[h] = route
	}
	r.mu.Unlock()
	return nil
}

func (r *routed) GetSession(ctx context.Context, id string) (store.Session, error) {
	s, err := r.Store.GetSession(ctx, r.id(id))
	return out(s), err
}

func (r *routed) GetSessionBySecretHash(ctx context.Context, hash []byte) (store.Session, error) {
	r.mu.Lock()
	route, ok := r.hashes[hex.EncodeToString(hash)]
	r.mu.Unlock()
	if !ok {
		route = "000"
	}
	s, err := r.Store.GetSessionBySecretHashRoute(ctx, route, hash)
	return out(s), err
}

func (r *routed) ListUserSessions(ctx context.Context, userID string) ([]store.Session, error) {
	return outs(r.Store.ListUserSessions(ctx, userID))
}

func (r *routed) TouchSession(ctx context.Context, id string, lastSeen, idle time.Time) error {
	return r.Store.TouchSession(ctx, r.id(id), lastSeen, idle)
}

func (r *routed) UpdateSessionData(ctx context.Context, id string, update func(json.RawMessage, int64) (json.RawMessage, error)) (store.Session, error) {
	s, err := r.Store.UpdateSessionData(ctx, r.id(id), update)
	return out(s), err
}

func (r *routed) DeleteSession(ctx context.Context, id string) error {
	return r.Store.DeleteSession(ctx, r.id(id))
}

func (r *routed) DeleteSessions(ctx context.Context, ids []string) ([]string, error) {
	removed := []string{}
	for _, id := range ids {
		err := r.DeleteSession(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return removed, err
		}
		removed = append(removed, id)
	}
	return removed, nil
}

func (r *routed) DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]store.Session, error) {
	if exceptID != "" {
		exceptID = r.id(exceptID)
	}
	return outs(r.Store.DeleteUserSessions(ctx, userID, exceptID))
}

func (r *routed) ListClientSessions(ctx context.Context, clientID string) ([]store.Session, error) {
	return outs(r.Store.ListClientSessions(ctx, clientID))
}

func (r *routed) DeleteClientSessions(ctx context.Context, clientID string) ([]store.Session, error) {
	return outs(r.Store.DeleteClientSessions(ctx, clientID))
}
