package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
)

// redisSessionsURL returns the test server's URL with a key_prefix of the
// test's own, whose keys are deleted when the test ends, and that prefix.
func redisSessionsURL(t *testing.T) (string, string) {
	t.Helper()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	u, err := url.Parse(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("key_prefix", prefix)
	u.RawQuery = q.Encode()
	return u.String(), prefix
}

// TestRedisSessionsSmoke starts the whole server with --sessions redis://…
// and runs the session flows through it: login, /v1/me, session data with
// If-Match, a refused login counted in Redis, logout. Sessions must live
// in Redis, not in the database.
func TestRedisSessionsSmoke(t *testing.T) {
	sessionsURL, prefix := redisSessionsURL(t)
	srv := apptest.Start(t, apptest.Options{Args: []string{"--sessions", sessionsURL}})
	rc := redistest.Client(t)
	keys := func(sub string) []string {
		t.Helper()
		ks, err := redistest.Keys(t.Context(), rc, prefix+sub)
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	srv.NewClient().Do(t, http.MethodGet, "/readyz", nil).WantStatus(t, http.StatusOK)

	u, c := srv.NewSession(t)
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	var records []string
	for _, k := range keys("{") {
		if strings.Contains(k, "}:h:") {
			records = append(records, k)
		}
	}
	if len(records) != 1 || strings.HasPrefix(records[0], prefix+"{sessions}") {
		t.Fatalf("session records in Redis: %v, want one, under its user's route", records)
	}
	if ks := keys("{sessions}:h:"); len(ks) != 0 {
		t.Fatalf("session records in Redis: %v, want one", ks)
	}
	var rows int
	if err := srv.OpenDB(t).QueryRowContext(t.Context(), `SELECT count(*) FROM sessions`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("sessions in SQLite: %d, %v; want none", rows, err)
	}

	// Session data, with If-Match.
	r := c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK)
	etag0 := r.Header.Get("ETag")
	r = c.Do(t, http.MethodPut, "/v1/session/data", `{"cart": ["a"], "step": "pay"}`, "If-Match", etag0).WantStatus(t, http.StatusOK)
	etag1 := r.Header.Get("ETag")
	if etag1 == "" || etag1 == etag0 {
		t.Fatalf("ETag after PUT = %q, want a new one (was %q)", etag1, etag0)
	}
	c.Do(t, http.MethodPut, "/v1/session/data", `{"lost": true}`, "If-Match", etag0).WantError(t, http.StatusPreconditionFailed, "precondition_failed")
	c.Do(t, http.MethodPatch, "/v1/session/data", `{"step": null, "done": true}`,
		"Content-Type", "application/merge-patch+json", "If-Match", etag1).WantStatus(t, http.StatusOK)
	got := c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK).JSON(t)
	if _, ok := got["step"]; ok || got["done"] != true || got["cart"] == nil {
		t.Errorf("data after PATCH = %v, want step removed, done added, cart kept", got)
	}

	// A wrong password is counted in Redis.
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": "wrong", "mode": "session"}).
		WantStatus(t, http.StatusUnauthorized)
	if ks := keys("rl:"); len(ks) != 2 {
		t.Errorf("rate limit keys in Redis: %v, want two (account and address)", ks)
	}

	// Logout removes the record, and with the user's last one every key
	// of the session store.
	stale := srv.NewClient()
	stale.Cookie = c.Cookie
	c.Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
	stale.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	if ks := keys("{"); len(ks) != 0 {
		t.Errorf("session store keys after logout: %v, want none", ks)
	}
}

// TestRedisSessionsShared starts two servers on one database and one Redis
// prefix, as two instances behind a load balancer: a login on one is a
// session on the other, and failed logins on one count on the other.
func TestRedisSessionsShared(t *testing.T) {
	sessionsURL, _ := redisSessionsURL(t)
	a := apptest.Start(t, apptest.Options{Args: []string{"--sessions", sessionsURL, "--login-limit-account", "2/15m"}})
	b := apptest.Start(t, apptest.Options{Args: []string{"--sessions", sessionsURL, "--login-limit-account", "2/15m", "--data-dir", a.DataDir}, Clock: a.Clock})

	u, c := a.NewSession(t)
	onB := b.NewClient()
	onB.Cookie, onB.CSRF = c.Cookie, c.CSRF
	onB.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)

	wrong := map[string]string{"email": u.Email, "password": "wrong", "mode": "session"}
	a.NewClient().Do(t, http.MethodPost, "/v1/login", wrong).WantStatus(t, http.StatusUnauthorized)
	b.NewClient().Do(t, http.MethodPost, "/v1/login", wrong).WantStatus(t, http.StatusUnauthorized)
	// Two failures, one on each: the account is locked on both.
	a.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "session"}).
		WantError(t, http.StatusTooManyRequests, "rate_limited")
}

// TestRedisUnreachable checks that a server that cannot reach its Redis
// refuses to start, and says where it looked without the password.
func TestRedisUnreachable(t *testing.T) {
	cfg, err := config.Parse([]string{"--data-dir", t.TempDir(), "--sessions", "redis://user:s3cret@127.0.0.1:1/0?dial_timeout=1s&max_retries=-1"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, app.Options{})
	if err == nil {
		a.Close()
		t.Fatal("app.New succeeded without Redis")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q: want the address, not the password", err)
	}
}

// TestRedisDeleteUserClearsSessions checks that deleting a user through
// the admin API removes every key of theirs from the Redis session store,
// and only theirs, and that their cookie stops working at once.
func TestRedisDeleteUserClearsSessions(t *testing.T) {
	sessionsURL, prefix := redisSessionsURL(t)
	srv := apptest.Start(t, apptest.Options{Args: []string{"--sessions", sessionsURL}})
	rc := redistest.Client(t)
	records := func() []string {
		t.Helper()
		all, err := redistest.Keys(t.Context(), rc, prefix)
		if err != nil {
			t.Fatal(err)
		}
		// Cookie session records, on any route.
		var ks []string
		for _, k := range all {
			if strings.Contains(k, "}:h:") {
				ks = append(ks, k)
			}
		}
		return ks
	}
	u, c := srv.NewSession(t)
	second := srv.Login(t, u.Email, u.Password)
	_, other := srv.NewSession(t)
	if ks := records(); len(ks) != 3 {
		t.Fatalf("session records in Redis: %v, want three", ks)
	}
	srv.Admin().Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID, nil).WantStatus(t, http.StatusNoContent)
	c.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	second.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	other.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	if ks := records(); len(ks) != 1 {
		t.Errorf("session records in Redis after the delete: %v, want the other user's only", ks)
	}
}
