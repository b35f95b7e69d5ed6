package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// waitFor polls cond for up to two seconds and fails t if it never holds.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// hostOf returns the host:port of a URL.
func hostOf(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestBearerAuthNeedsNoNetwork runs the high-availability layout
// (PostgreSQL and Redis) with both reached through proxies it can cut.
// Checking an access token must send nothing to either, and must still
// succeed once both are cut: the signing keys and the revocation set are
// in process. As a control, a cookie check that misses the session cache
// must fail once Redis is cut, which shows the cut is real.
func TestBearerAuthNeedsNoNetwork(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	rc := redistest.Client(t)
	prefix := redistest.Prefix(t, rc)
	sessionsURL := withKeyPrefix(t, redistest.URL(), prefix)
	pg := newCutProxy(t, hostOf(t, dbURL))
	rd := newCutProxy(t, hostOf(t, sessionsURL))
	srv := apptest.Start(t, apptest.Options{Args: []string{
		"--db", pg.through(t, dbURL),
		"--sessions", rd.through(t, sessionsURL),
	}})

	u, c := srv.NewSession(t)
	var pair tokenPair
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(t, http.StatusOK).Decode(t, &pair)
	bearer := srv.NewClient()
	bearer.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	bearer.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)

	// Control for the counter: GET /v1/me reads the user from PostgreSQL
	// after the bearer check when it is not cached, and that shows.
	srv.App.Users.Forget(u.ID)
	pgBefore, rdBefore := pg.sent.Load(), rd.sent.Load()
	bearer.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	waitFor(t, func() bool { return pg.sent.Load() > pgBefore }, "GET /v1/me to send its user read through the PostgreSQL proxy")
	if d := rd.sent.Load() - rdBefore; d != 0 {
		t.Errorf("GET /v1/me with a bearer token sent %d bytes to Redis, want 0", d)
	}
	// Once the user is cached, GET /v1/me by bearer reaches neither. The
	// proxies count a byte before they pass it on (see countingWriter), and
	// nothing in a request's path sends in the background, so the counts
	// are complete when the requests have returned: no sleep.
	pgBefore, rdBefore = pg.sent.Load(), rd.sent.Load()
	for range 100 {
		bearer.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	}
	if d, e := pg.sent.Load()-pgBefore, rd.sent.Load()-rdBefore; d != 0 || e != 0 {
		t.Errorf("100 GET /v1/me with a cached user sent %d bytes to PostgreSQL and %d to Redis, want 0", d, e)
	}

	// A thousand bearer checks send not one byte to PostgreSQL or Redis.
	ctx := context.Background()
	pgBefore, rdBefore = pg.sent.Load(), rd.sent.Load()
	for range 1000 {
		p, err := srv.App.Tokens.AuthenticateBearer(ctx, pair.AccessToken)
		if err != nil || p.UserID != u.ID {
			t.Fatalf("AuthenticateBearer = %+v, %v; want user %s", p, err, u.ID)
		}
	}
	if d := pg.sent.Load() - pgBefore; d != 0 {
		t.Errorf("bearer checks sent %d bytes to PostgreSQL, want 0", d)
	}
	if d := rd.sent.Load() - rdBefore; d != 0 {
		t.Errorf("bearer checks sent %d bytes to Redis, want 0", d)
	}

	// Cut both. The bearer check still answers.
	pg.Cut()
	rd.Cut()
	if p, err := srv.App.Tokens.AuthenticateBearer(ctx, pair.AccessToken); err != nil || p.UserID != u.ID {
		t.Fatalf("AuthenticateBearer with PostgreSQL and Redis cut = %+v, %v; want user %s", p, err, u.ID)
	}

	// Control: a cookie check that has to read Redis fails now, and not
	// as an invalid session.
	srv.App.Sessions.Forget(c.SessionID)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := srv.App.Sessions.AuthenticateCookie(cctx, c.Cookie)
	if err == nil || errors.Is(err, session.ErrInvalid) {
		t.Fatalf("cold cookie check with Redis cut = %v, want a store error", err)
	}
}

// BenchmarkBearerAuthNetwork runs the high-availability layout
// (PostgreSQL and Redis, each behind a counting proxy) and, per
// iteration, checks an access token (token.Service.AuthenticateBearer)
// and serves GET /v1/me with it through the whole handler. It reports the
// bytes each iteration sent to PostgreSQL and to Redis (the target: none,
// the keys, the revocation set and the account are in process) and the
// median cost of each step. ghbench turns the byte counts into a row of
// its targets.
func BenchmarkBearerAuthNetwork(b *testing.B) {
	dbURL := pgtest.NewDatabase(b)
	rc := redistest.Client(b)
	prefix := redistest.Prefix(b, rc)
	sessionsURL := withKeyPrefix(b, redistest.URL(), prefix)
	pg := newCutProxy(b, hostOf(b, dbURL))
	rd := newCutProxy(b, hostOf(b, sessionsURL))
	srv := apptest.Start(b, apptest.Options{Args: []string{
		"--db", pg.through(b, dbURL),
		"--sessions", rd.through(b, sessionsURL),
	}})
	u := srv.NewUser(b)
	var pair tokenPair
	srv.NewClient().Do(b, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(b, http.StatusOK).Decode(b, &pair)
	ctx := context.Background()
	me := func() {
		r := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
		r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET /v1/me: %d %s", w.Code, w.Body)
		}
	}
	check := func() {
		if p, err := srv.App.Tokens.AuthenticateBearer(ctx, pair.AccessToken); err != nil || p.UserID != u.ID {
			b.Fatalf("AuthenticateBearer = %+v, %v", p, err)
		}
	}
	me() // the first GET /v1/me reads the account; later ones find it cached
	time.Sleep(100 * time.Millisecond)
	pgBefore, rdBefore := pg.sent.Load(), rd.sent.Load()
	t := timings{}
	for b.Loop() {
		t.time("check", check)
		t.time("me", me)
	}
	time.Sleep(100 * time.Millisecond) // let the proxies count anything in flight
	t.report(b)
	b.ReportMetric(float64(pg.sent.Load()-pgBefore)/float64(b.N), "pg-bytes/op")
	b.ReportMetric(float64(rd.sent.Load()-rdBefore)/float64(b.N), "redis-bytes/op")
}
