package redisstore_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	redisstore "github.com/gatehouse-auth/gatehouse/internal/store/redisstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
)

// redisCPU returns the server's used CPU (user + system).
func redisCPU(t *testing.T, c *redis.Client) time.Duration {
	t.Helper()
	info, err := c.Info(t.Context(), "cpu").Result()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
	}
	return time.Duration(total * float64(time.Second))
}

// TestRedisCostPerCall measures, for docs/scaling.md, the Redis server CPU
// that each store call costs and the calls per second one connection pool
// gets from one redis-server, on a server the test starts: creating a
// cookie session, checking a cookie (GetSessionBySecretHashRoute), and
// touching a session. Set GATEHOUSE_CAPACITY=1 to run it.
func TestRedisCostPerCall(t *testing.T) {
	if os.Getenv("GATEHOUSE_CAPACITY") == "" {
		t.Skip("set GATEHOUSE_CAPACITY=1 to measure")
	}
	nodes := redistest.Servers(t, 1)
	c := redis.NewClient(&redis.Options{Addr: nodes[0].Addr, PoolSize: 32})
	t.Cleanup(func() { c.Close() })
	st := redisstore.New(c, redisstore.Options{})
	const n, workers = 40000, 32
	now := time.Now().UTC().Truncate(time.Millisecond)
	recs := make([]store.Session, n)
	for i := range recs {
		user := fmt.Sprintf("%032x", i%4000)
		var b [48]byte
		_, _ = rand.Read(b[:])
		h := sha256.Sum256(b[:32])
		recs[i] = store.Session{
			ID: st.SessionRoute(user) + "." + hex.EncodeToString(b[32:]), SecretHash: h[:], Kind: store.KindCookie, UserID: user,
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(12 * time.Hour),
			UserAgent: chromeUA, IP: "203.0.113.77",
		}
	}
	measure := func(name string, call func(i int) error) {
		cpu0, t0 := redisCPU(t, c), time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < n; i += workers {
					if err := call(i); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		wall, cpu := time.Since(t0), redisCPU(t, c)-cpu0
		t.Logf("%s: %.0f calls/s, Redis CPU %.1f µs per call", name, float64(n)/wall.Seconds(), float64(cpu.Microseconds())/n)
	}
	measure("create cookie session", func(i int) error { return st.CreateSession(t.Context(), recs[i]) })
	measure("cookie check (HGETALL)", func(i int) error {
		_, err := st.GetSessionBySecretHashRoute(t.Context(), recs[i].ID[:3], recs[i].SecretHash)
		return err
	})
	measure("touch", func(i int) error {
		return st.TouchSession(t.Context(), recs[i].ID, now.Add(time.Minute), now.Add(31*time.Minute))
	})
	measure("delete (revoke)", func(i int) error { return st.DeleteSession(t.Context(), recs[i].ID) })
}
