package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// acked is what the server acknowledged before it was killed.
type acked struct {
	mu       sync.Mutex
	signups  []string // user ids answered 201
	logouts  []string // session ids answered 204
	passwChg []string // user ids whose password change answered 200
}

// crashWorker signs up, logs in, changes the password and logs out, over
// and over, recording every acknowledged change, until a request fails
// (the server is gone) or stop is closed.
func crashWorker(base string, n int, stop <-chan struct{}, a *acked) {
	c := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body, cookie, csrf string) (int, []byte, []*http.Cookie, error) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: cookie})
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := c.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, res.Cookies(), err
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		email := fmt.Sprintf("crash-audit-%d-%d@example.com", n, i)
		st, b, _, err := do(http.MethodPost, "/v1/signup", fmt.Sprintf(`{"email": %q, "password": "first password"}`, email), "", "")
		if err != nil || st != http.StatusCreated {
			return
		}
		var su struct {
			User struct{ ID string } `json:"user"`
		}
		if json.Unmarshal(b, &su) != nil {
			return
		}
		a.mu.Lock()
		a.signups = append(a.signups, su.User.ID)
		a.mu.Unlock()
		st, b, cookies, err := do(http.MethodPost, "/v1/login", fmt.Sprintf(`{"email": %q, "password": "first password"}`, email), "", "")
		if err != nil || st != http.StatusOK {
			return
		}
		var la loginAnswer
		if json.Unmarshal(b, &la) != nil {
			return
		}
		var cookie string
		for _, ck := range cookies {
			if ck.Name == "gatehouse_session" {
				cookie = ck.Value
			}
		}
		st, _, _, err = do(http.MethodPatch, "/v1/me", `{"password": "second password", "current_password": "first password"}`, cookie, la.CSRF)
		if err != nil || st != http.StatusOK {
			return
		}
		a.mu.Lock()
		a.passwChg = append(a.passwChg, su.User.ID)
		a.mu.Unlock()
		st, _, _, err = do(http.MethodPost, "/v1/logout", "", cookie, la.CSRF)
		if err != nil || st != http.StatusNoContent {
			return
		}
		a.mu.Lock()
		a.logouts = append(a.logouts, la.Session.ID)
		a.mu.Unlock()
	}
}

// TestAuditSurvivesSIGKILL kills the server with SIGKILL in the middle
// of a burst of signups, password changes and logouts from four clients,
// restarts it on the same data directory, and checks that every change
// it acknowledged has its event in GET /admin/v1/events: an acknowledged
// change never lacks its event.
func TestAuditSurvivesSIGKILL(t *testing.T) {
	dataDir := t.TempDir()
	s := serveOn(t, dataDir)
	var a acked
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for n := range 4 {
		wg.Go(func() { crashWorker(s.url, n, stop, &a) })
	}
	deadline := time.Now().Add(time.Minute)
	for {
		a.mu.Lock()
		enough := len(a.logouts) >= 12
		a.mu.Unlock()
		if enough || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the workers' progress, not proving an absence
	}
	// Killed with requests in flight.
	s.kill(t)
	close(stop)
	wg.Wait()
	if len(a.logouts) == 0 {
		t.Fatalf("no logout was acknowledged before the kill")
	}

	s2 := serveOn(t, dataDir)
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	events := map[string]map[string]bool{} // type → user id or session id
	cursor := ""
	for {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, _ := http.NewRequest(http.MethodGet, s2.url+"/admin/v1/events?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+string(bytes.TrimSpace(tok)))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events []struct {
				Type      string            `json:"type"`
				UserID    string            `json:"user_id"`
				SessionID string            `json:"session_id"`
				Detail    map[string]string `json:"detail"`
			} `json:"events"`
			NextCursor string `json:"next_cursor"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/v1/events: %d %v", res.StatusCode, err)
		}
		for _, e := range page.Events {
			key := e.UserID
			if e.Type == "session.ended" {
				if e.Detail["reason"] != "logout" {
					continue
				}
				key = e.SessionID
			}
			if events[e.Type] == nil {
				events[e.Type] = map[string]bool{}
			}
			events[e.Type][key] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	for _, c := range []struct {
		typ  string
		keys []string
	}{{"user.signed_up", a.signups}, {"user.password_changed", a.passwChg}, {"session.ended", a.logouts}} {
		for _, k := range c.keys {
			if !events[c.typ][k] {
				t.Errorf("acknowledged %s of %s has no event after the crash", c.typ, k)
			}
		}
	}
	t.Logf("acknowledged before SIGKILL: %d signups, %d password changes, %d logouts; all have their events",
		len(a.signups), len(a.passwChg), len(a.logouts))
}
