package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// adminJSON sends a JSON request with the admin token of dataDir.
func adminJSON(t *testing.T, s *server, dataDir, method, path, body string) (int, []byte) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestWebhookSurvivesSIGKILL: events happen while the webhook receiver is
// down, the server is killed with SIGKILL right after answering, and
// restarted with the receiver up: every message arrives, signed, each
// exactly once (the receiver's count once the server has recorded every
// delivery as delivered, after which none is sent again).
func TestWebhookSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the delivery worker's retry")
	}
	dataDir := t.TempDir()
	rcvAddr := freeAddr(t) // nothing listens there yet: the receiver is down
	addr := freeAddr(t)
	args := []string{"--addr", addr, "--data-dir", dataDir}
	s := startServer(t, t.TempDir(), addr, cleanEnv(), args...)
	st, b := adminJSON(t, s, dataDir, http.MethodPost, "/admin/v1/webhooks",
		fmt.Sprintf(`{"url": "http://%s/hooks", "event_types": ["user.created"]}`, rcvAddr))
	want(t, "register webhook", st, http.StatusCreated, b)
	var hook struct{ ID, Secret string }
	if err := json.Unmarshal(b, &hook); err != nil {
		t.Fatal(err)
	}
	const users = 3
	for i := range users {
		st, b = adminJSON(t, s, dataDir, http.MethodPost, "/admin/v1/users", fmt.Sprintf(`{"email": "crash-hook-%d@example.com", "password": "crash test password"}`, i))
		want(t, "create user", st, http.StatusCreated, b)
	}
	s.kill(t)

	// The receiver comes up, then Gatehouse again.
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hook.Secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		accepted = map[string]int{}
		bad      int
	)
	ln, err := net.Listen("tcp", rcvAddr)
	if err != nil {
		t.Fatal(err)
	}
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, key)
		fmt.Fprintf(m, "%s.%s.%s", r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
		sig := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(" "+r.Header.Get("webhook-signature")+" ", " "+sig+" ") {
			bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		accepted[r.Header.Get("webhook-id")]++
	})}
	go func() { _ = rcv.Serve(ln) }()
	t.Cleanup(func() { _ = rcv.Close() })
	s2 := startServer(t, t.TempDir(), addr, cleanEnv(), args...)

	// A delivery that failed before the kill is retried after its backoff
	// (seconds); one cut off mid-delivery after its lease (30 s).
	count := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted), bad
	}
	deadline := time.Now().Add(2 * time.Minute)
	for n, _ := count(); n < users; n, _ = count() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages arrived within 2 minutes; stderr:\n%s", n, users, s2.stderr)
		}
		time.Sleep(100 * time.Millisecond) // polling a real process
	}
	// Once every delivery is recorded as delivered, none is sent again.
	for {
		st, b := adminJSON(t, s2, dataDir, http.MethodGet, "/admin/v1/webhooks/"+hook.ID+"/deliveries", "")
		want(t, "deliveries", st, http.StatusOK, b)
		var ds struct{ Deliveries []struct{ State string } }
		if err := json.Unmarshal(b, &ds); err != nil {
			t.Fatal(err)
		}
		done := len(ds.Deliveries) == users
		for _, d := range ds.Deliveries {
			done = done && d.State == "delivered"
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not all delivered: %s", b)
		}
		time.Sleep(100 * time.Millisecond) // polling a real process
	}
	mu.Lock()
	defer mu.Unlock()
	if bad != 0 || len(accepted) != users {
		t.Fatalf("accepted %v, %d with a bad signature", accepted, bad)
	}
	for id, n := range accepted {
		if n != 1 {
			t.Fatalf("message %s arrived %d times", id, n)
		}
	}
}
