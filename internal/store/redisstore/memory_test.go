package redisstore_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	redisstore "github.com/gatehouse-auth/gatehouse/internal/store/redisstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
)

// chromeUA is a common browser User-Agent, 111 bytes: longer than the 64
// bytes up to which Redis keeps a hash's values in its compact encoding.
const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// usedMemory returns the server's used_memory.
func usedMemory(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	info, err := c.Info(t.Context(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no used_memory in INFO memory")
	return 0
}

// TestBytesPerCookieSession measures what a cookie session costs in a
// Redis server of default settings that the test starts (Redis 7): the
// growth of used_memory over 20,000 sessions of 2,000 users, as the
// session manager writes them (a routed id, a browser User-Agent, an IPv4
// address). The target is 700 bytes. GATEHOUSE_MEMORY_USERS sets another
// number of users (of ten sessions each), to measure at scale.
func TestBytesPerCookieSession(t *testing.T) {
	nodes := redistest.Servers(t, 1)
	// No retries and a long read timeout: on a busy machine a pipeline
	// of 1,000 creates can take longer than the default 3 s, and a retry
	// would find its own records and report their ids as taken.
	c := redis.NewClient(&redis.Options{Addr: nodes[0].Addr, MaxRetries: -1, ReadTimeout: time.Minute})
	t.Cleanup(func() { c.Close() })
	st := redisstore.New(c, redisstore.Options{})
	users, perUser := 2000, 10
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_MEMORY_USERS")); err == nil && n > 0 {
		users = n // for docs/scaling.md: more sessions per route
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	var batch []store.Session
	before := usedMemory(t, c)
	for u := range users {
		user := fmt.Sprintf("%032x", u)
		for range perUser {
			var b [48]byte
			_, _ = rand.Read(b[:])
			hash := sha256.Sum256(b[:32])
			batch = append(batch, store.Session{
				ID:         st.SessionRoute(user) + "." + hex.EncodeToString(b[32:]),
				SecretHash: hash[:], Kind: store.KindCookie, UserID: user,
				CreatedAt: now, LastSeenAt: now,
				IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(12 * time.Hour),
				UserAgent: chromeUA, IP: "203.0.113.77",
			})
		}
		if len(batch) >= 1000 {
			if err := st.CreateSessions(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	per := (usedMemory(t, c) - before) / int64(users*perUser)
	// Token grants: no secret hash, a client, a scope and an audience.
	beforeGrants := usedMemory(t, c)
	for u := range users {
		user := fmt.Sprintf("%032x", u)
		for range perUser {
			var b [16]byte
			_, _ = rand.Read(b[:])
			batch = append(batch, store.Session{
				ID:   st.SessionRoute(user) + "." + hex.EncodeToString(b[:]),
				Kind: store.KindToken, UserID: user, ClientID: "client-0123456789abcdef",
				Scope: "openid profile email offline_access", Audience: []string{"https://api.example.com"},
				CreatedAt: now, LastSeenAt: now,
				IdleExpiresAt: now.Add(30 * 24 * time.Hour), ExpiresAt: now.Add(90 * 24 * time.Hour),
				UserAgent: chromeUA, IP: "203.0.113.77",
			})
		}
		if len(batch) >= 1000 {
			if err := st.CreateSessions(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	t.Logf("bytes per token grant: %d", (usedMemory(t, c)-beforeGrants)/int64(users*perUser))
	if testing.Verbose() {
		seen := map[string]bool{}
		iter := c.Scan(t.Context(), 0, "*", 100).Iterator()
		for iter.Next(t.Context()) {
			k := iter.Val()
			kind := k[strings.Index(k, "}:")+2:][:1]
			if seen[kind] {
				continue
			}
			seen[kind] = true
			m := c.MemoryUsage(t.Context(), k, 0).Val()
			enc := c.ObjectEncoding(t.Context(), k).Val()
			n := c.Do(t.Context(), "ZCARD", k).Val()
			t.Logf("%s: %d bytes, %s, %v", k, m, enc, n)
		}
	}
	t.Logf("bytes per cookie session: %d (%d sessions)", per, users*perUser)
	if per > 700 {
		t.Errorf("a cookie session costs %d bytes, want at most 700", per)
	}
}
