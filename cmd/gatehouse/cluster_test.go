package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// clusterNode is one gatehouse process of a cluster.
type clusterNode struct {
	*server
	dataDir string
}

func (n *clusterNode) adminToken(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dataDir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// bearerCall sends a request with a bearer token.
func bearerCall(t *testing.T, s *server, method, path, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// tokenLoginAt logs in in token mode and returns the access token.
func tokenLoginAt(t *testing.T, s *server, email, password string) string {
	t.Helper()
	st, b, _ := call(t, s, http.MethodPost, "/v1/login", fmt.Sprintf(`{"email": %q, "password": %q, "mode": "token"}`, email, password), "", "")
	want(t, "token login", st, http.StatusOK, b)
	var p struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.AccessToken == "" {
		t.Fatalf("token login answered %s", b)
	}
	return p.AccessToken
}

// within polls check until it returns true, and fails t if that takes
// longer than bound; it returns how long it took.
func within(t *testing.T, what string, bound time.Duration, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > bound {
			t.Fatalf("%s: not within %v", what, bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestCluster runs three gatehouse processes on different loopback ports
// sharing one PostgreSQL database and one Redis, as behind a load
// balancer: a session made on one is honoured on the others, a revocation
// on one reaches the others within a second, a key rotated on one signs
// tokens the others accept, and killing one with SIGKILL in the middle of
// a stream of writes loses none that was acknowledged.
func TestCluster(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	rc := redistest.Client(t)
	prefix := redistest.Prefix(t, rc)
	ru, err := url.Parse(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := ru.Query()
	q.Set("key_prefix", prefix)
	ru.RawQuery = q.Encode()

	var kek [32]byte
	_, _ = rand.Read(kek[:])
	env := cleanEnv("GATEHOUSE_KEY_ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString(kek[:]))
	// One public issuer for all, as behind a load balancer. The periodic
	// poll is slowed to 30s so that only the fan-out can meet the bound.
	const issuer = "http://gatehouse.cluster.test"
	nodes := make([]*clusterNode, 3)
	ready := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i := range nodes {
		addr := freeAddr(t)
		dir := t.TempDir()
		nodes[i] = &clusterNode{dataDir: dir}
		nodes[i].server = launchServer(t, t.TempDir(), addr, env,
			"--addr", addr, "--data-dir", dir, "--db", dbURL, "--sessions", ru.String(),
			"--issuer", issuer, "--revocation-poll-interval", "30s", "--log-level", "debug")
		wg.Go(func() { ready[i] = nodes[i].server.waitReady() })
	}
	wg.Wait()
	if err := errors.Join(ready...); err != nil {
		t.Fatal(err)
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	// The banner names both stores (TestBannerNamesRedactedBackends
	// checks that passwords are hidden).
	for _, w := range []string{"  database:    PostgreSQL postgres", "  sessions:    Redis redis"} {
		if !strings.Contains(a.server.stdout.String(), w) {
			t.Errorf("banner lacks %q:\n%s", w, a.server.stdout.String())
		}
	}

	email, password := fmt.Sprintf("cluster-%d@example.com", time.Now().UnixNano()), "cluster password 1"
	st, body, _ := call(t, a.server, http.MethodPost, "/v1/signup", fmt.Sprintf(`{"email": %q, "password": %q}`, email, password), "", "")
	want(t, "signup on A", st, http.StatusCreated, body)

	t.Run("session made on one is honoured on all", func(t *testing.T) {
		la, cookie := login(t, b.server, email, password)
		for i, n := range nodes {
			st, body, _ := call(t, n.server, http.MethodGet, "/v1/me", "", cookie, "")
			want(t, fmt.Sprintf("/v1/me on node %d", i), st, http.StatusOK, body)
		}
		st, body, _ := call(t, c.server, http.MethodPut, "/v1/session/data", `{"cart":[1]}`, cookie, la.CSRF)
		want(t, "data PUT on C", st, http.StatusOK, body)
		st, body, _ = call(t, a.server, http.MethodGet, "/v1/session/data", "", cookie, "")
		want(t, "data GET on A", st, http.StatusOK, body)
		if !strings.Contains(string(body), `"cart":[1]`) {
			t.Errorf("data on A = %s, want the cart written on C", body)
		}
	})

	t.Run("revocation on B reaches A within a second", func(t *testing.T) {
		la, cookie := login(t, a.server, email, password)
		token := tokenLoginAt(t, a.server, email, password)
		// Warm A's caches with both credentials.
		st, body, _ := call(t, a.server, http.MethodGet, "/v1/me", "", cookie, "")
		want(t, "cookie on A", st, http.StatusOK, body)
		if st, _ := bearerCall(t, a.server, http.MethodGet, "/v1/me", token); st != http.StatusOK {
			t.Fatalf("bearer on A: %d", st)
		}
		st, body, _ = call(t, b.server, http.MethodDelete, "/v1/sessions/"+la.Session.ID, "", cookie, la.CSRF)
		want(t, "revoke the cookie session on B", st, http.StatusNoContent, body)
		d := within(t, "cookie session revoked on B rejected by A", time.Second, func() bool {
			st, _, _ := call(t, a.server, http.MethodGet, "/v1/me", "", cookie, "")
			return st == http.StatusUnauthorized
		})
		t.Logf("cookie revocation reached A in %v", d)
		if st, _ := bearerCall(t, b.server, http.MethodPost, "/v1/logout", token); st != http.StatusNoContent {
			t.Fatalf("bearer logout on B: %d", st)
		}
		d = within(t, "token grant revoked on B rejected by A", time.Second, func() bool {
			st, _ := bearerCall(t, a.server, http.MethodGet, "/v1/me", token)
			return st == http.StatusUnauthorized
		})
		t.Logf("token revocation reached A in %v", d)
	})

	t.Run("keys rotated on C verify everywhere", func(t *testing.T) {
		before := tokenLoginAt(t, a.server, email, password)
		if st, _ := bearerCall(t, c.server, http.MethodPost, "/admin/v1/keys/rotate", c.adminToken(t)); st != http.StatusOK {
			t.Fatalf("rotate on C: %d", st)
		}
		fromC := tokenLoginAt(t, c.server, email, password)
		fromA := tokenLoginAt(t, a.server, email, password)
		for name, tok := range map[string]string{"minted by A before": before, "minted by C after": fromC, "minted by A after": fromA} {
			if st, _ := bearerCall(t, b.server, http.MethodGet, "/v1/me", tok); st != http.StatusOK {
				t.Errorf("token %s: B answered %d", name, st)
			}
		}
	})

	t.Run("SIGKILL during writes loses nothing acknowledged", func(t *testing.T) {
		type acked struct {
			cookie, data string
		}
		var mu sync.Mutex
		var done []acked
		stop := make(chan struct{})
		var writers sync.WaitGroup
		for w := range 4 {
			writers.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					n := nodes[(w+i)%3].server
					if !tryWrite(n, email, password, fmt.Sprintf(`{"writer":%d,"i":%d}`, w, i), func(cookie, data string) {
						mu.Lock()
						done = append(done, acked{cookie, data})
						mu.Unlock()
					}) {
						continue // the node is down: nothing was acknowledged
					}
				}
			})
		}
		time.Sleep(1500 * time.Millisecond) // let writes flow before the kill
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // and keep them flowing after it
		close(stop)
		writers.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(done) < 6 {
			t.Fatalf("only %d writes were acknowledged; the survivors stopped serving", len(done))
		}
		for i, w := range done {
			n := nodes[i%2].server // A or B, the survivors
			st, body, _ := call(t, n, http.MethodGet, "/v1/session/data", "", w.cookie, "")
			if st != http.StatusOK || string(body) != w.data {
				t.Errorf("acknowledged write %d: %d %s, want %s", i, st, body, w.data)
			}
		}
		t.Logf("%d acknowledged logins and writes, all intact after SIGKILL of one node", len(done))
	})
}

// tryWrite logs in on n and writes data into the new session; it calls
// ack with the cookie and the stored data only if both were acknowledged.
// It reports false if the node did not answer.
func tryWrite(n *server, email, password, data string, ack func(cookie, data string)) bool {
	req, _ := http.NewRequest(http.MethodPost, n.url+"/v1/login", strings.NewReader(fmt.Sprintf(`{"email": %q, "password": %q}`, email, password)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	var la loginAnswer
	err = json.NewDecoder(res.Body).Decode(&la)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return false
	}
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == "gatehouse_session" {
			cookie = c.Value
		}
	}
	req, _ = http.NewRequest(http.MethodPut, n.url+"/v1/session/data", strings.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", la.CSRF)
	req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: cookie})
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	var stored json.RawMessage
	err = json.NewDecoder(res.Body).Decode(&stored)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return false
	}
	ack(cookie, string(stored))
	return true
}
