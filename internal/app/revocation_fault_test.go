package app_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// faultLogin logs u in with mode "token" on srv and returns the access
// token and its grant's id.
func faultLogin(t *testing.T, srv *apptest.Server, u apptest.User) (tok, sid string) {
	t.Helper()
	var res struct {
		AccessToken string `json:"access_token"`
	}
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(t, http.StatusOK).Decode(t, &res)
	var me struct {
		Auth struct {
			SessionID string `json:"session_id"`
		} `json:"auth"`
	}
	c := srv.NewClient()
	c.Header.Set("Authorization", "Bearer "+res.AccessToken)
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
	return res.AccessToken, me.Auth.SessionID
}

// bearerStatus sends method path with the bearer token and returns the
// status, or 0 if the request failed.
func bearerStatus(srv *apptest.Server, method, path, tok string) int {
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// waitReady waits until srv answers /readyz with 200: its pool has
// replaced the connections the proxy cut.
func waitReady(t *testing.T, srv *apptest.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for bearerStatus(srv, http.MethodGet, "/readyz", "") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the instance did not recover after PostgreSQL came back")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLogoutDuringPostgresOutage cuts instance A's connection to
// PostgreSQL (through a proxy the test controls) before and during bearer
// logouts. A logout may fail, but it may answer 2xx only if the
// revocation event is stored: then instance B (straight on PostgreSQL)
// and an instance started afterwards refuse the token. A failed logout
// changes nothing anywhere, and can be retried; RFC 7009 revocation
// answers 503 temporarily_unavailable. The old server answered 204 from
// memory with nothing stored, and 200 at /oauth2/revoke.
func TestLogoutDuringPostgresOutage(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	proxy := newCutProxy(t, hostOf(t, dbURL))
	a := apptest.Start(t, apptest.Options{Args: []string{"--db", proxy.through(t, dbURL)}})
	direct := []string{"--db", dbURL, "--data-dir", a.DataDir, "--issuer", a.URL}
	b := apptest.Start(t, apptest.Options{Args: direct, Clock: a.Clock})
	log, err := sqlstore.OpenPostgres(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	user := a.NewUser(t)

	stored := func(sid string) bool {
		t.Helper()
		evs, err := log.ListRevocations(context.Background(), 0, a.Clock.Now(), 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.SessionID == sid {
				return true
			}
		}
		return false
	}
	// accepted reports whether srv accepts tok at /v1/me once it has read
	// the log.
	accepted := func(srv *apptest.Server, tok string) bool {
		t.Helper()
		if err := srv.App.Revocations.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		switch st := bearerStatus(srv, http.MethodGet, "/v1/me", tok); st {
		case http.StatusOK:
			return true
		case http.StatusUnauthorized:
			return false
		default:
			t.Fatalf("/v1/me answered %d", st)
			return false
		}
	}

	// How long a logout takes, to spread the cuts below over it.
	var took time.Duration
	for range 3 {
		tok, _ := faultLogin(t, a, user)
		begin := time.Now()
		if st := bearerStatus(a, http.MethodPost, "/v1/logout", tok); st != http.StatusNoContent {
			t.Fatalf("logout answered %d", st)
		}
		took = max(took, time.Since(begin))
	}

	// PostgreSQL cut before the logout: refused, nothing revoked.
	tok, sid := faultLogin(t, a, user)
	proxy.Cut()
	st := bearerStatus(a, http.MethodPost, "/v1/logout", tok)
	// RFC 7009 revocation of the access token itself: its only store
	// access is the append, which fails.
	res, err := http.Post(a.URL+"/oauth2/revoke", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	var oe struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&oe)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || oe.Error != "temporarily_unavailable" || res.Header.Get("Retry-After") == "" {
		t.Errorf("RFC 7009 revocation with PostgreSQL unreachable answered %d %q (Retry-After %q), want 503 temporarily_unavailable",
			res.StatusCode, oe.Error, res.Header.Get("Retry-After"))
	}
	proxy.Restore()
	waitReady(t, a)
	if st >= 200 && st < 300 {
		t.Fatalf("logout answered %d with PostgreSQL unreachable", st)
	}
	if stored(sid) {
		t.Fatal("a logout that failed stored a revocation")
	}
	if !accepted(a, tok) || !accepted(b, tok) {
		t.Fatal("a logout that failed revoked the token on one instance")
	}
	// The retry, with PostgreSQL back, revokes it everywhere.
	if st := bearerStatus(a, http.MethodPost, "/v1/logout", tok); st != http.StatusNoContent {
		t.Fatalf("retried logout answered %d", st)
	}
	if !stored(sid) || accepted(b, tok) || accepted(a, tok) {
		t.Fatal("the acknowledged logout is not stored, or another instance accepts the token")
	}

	// PostgreSQL cut at a random moment during each logout.
	type outcome struct {
		tok    string
		status int
	}
	var acked []outcome
	// Cuts land anywhere from before the request to after its answer.
	const rounds = 20
	for i := range rounds {
		tok, sid := faultLogin(t, a, user)
		delay := time.Duration(rand.Int64N(int64(took) * 3 / 2))
		cutDone := make(chan struct{})
		cut := time.AfterFunc(delay, func() { proxy.Cut(); close(cutDone) })
		st := bearerStatus(a, http.MethodPost, "/v1/logout", tok)
		if !cut.Stop() {
			// The cut fired: its goroutine may not have run yet, and a
			// Cut after the Restore below would leave the proxy cut.
			<-cutDone
		}
		proxy.Restore()
		waitReady(t, a)
		ok := st >= 200 && st < 300
		if ok && !stored(sid) {
			t.Fatalf("round %d: logout answered %d but no revocation is stored", i, st)
		}
		if !ok && st != http.StatusServiceUnavailable && st != http.StatusInternalServerError {
			t.Errorf("round %d: logout answered %d, want 2xx, 503 or 500", i, st)
		}
		if accepted(a, tok) != accepted(b, tok) {
			t.Errorf("round %d (logout %d): instances A and B disagree about the token", i, st)
		}
		if ok {
			acked = append(acked, outcome{tok, st})
		}
	}
	// A new instance (a restart) refuses every token whose logout was
	// acknowledged.
	c := apptest.Start(t, apptest.Options{Args: direct, Clock: a.Clock})
	for _, o := range acked {
		if accepted(c, o.tok) {
			t.Errorf("a restarted instance accepts a token whose logout answered %d", o.status)
		}
	}
	t.Logf("%d of %d logouts with a cut were acknowledged (a logout takes %s)", len(acked), rounds, took)
}

// TestRefreshTokenRevokeDuringSessionStoreOutage: RFC 7009 revocation of
// a refresh token whose grant cannot be read (Redis sessions cut through
// a proxy, while the refresh token's row still reads from the database)
// answers 503 temporarily_unavailable, not 200 as if there were nothing
// to revoke; the grant lives on, and the retry with Redis back ends it.
func TestRefreshTokenRevokeDuringSessionStoreOutage(t *testing.T) {
	sessionsURL, _ := redisSessionsURL(t)
	proxy := newCutProxy(t, hostOf(t, sessionsURL))
	a := apptest.Start(t, apptest.Options{Args: []string{"--sessions", proxy.through(t, sessionsURL)}})
	user := a.NewUser(t)
	var login struct {
		RefreshToken string `json:"refresh_token"`
	}
	a.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": user.Email, "password": user.Password, "mode": "token"}).
		WantStatus(t, http.StatusOK).Decode(t, &login)
	revoke := func() (int, string) {
		t.Helper()
		res, err := http.Post(a.URL+"/oauth2/revoke", "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"token": {login.RefreshToken}, "token_type_hint": {"refresh_token"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var oe struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&oe)
		return res.StatusCode, oe.Error
	}
	grants := func() int {
		t.Helper()
		var list struct {
			Sessions []struct{} `json:"sessions"`
		}
		a.Admin().Do(t, http.MethodGet, "/admin/v1/users/"+user.ID+"/sessions", nil).WantStatus(t, http.StatusOK).Decode(t, &list)
		return len(list.Sessions)
	}

	proxy.Cut()
	st, code := revoke()
	proxy.Restore()
	waitReady(t, a)
	if st != http.StatusServiceUnavailable || code != "temporarily_unavailable" {
		t.Fatalf("refresh-token revocation with the session store unreachable answered %d %q, want 503 temporarily_unavailable", st, code)
	}
	if n := grants(); n != 1 {
		t.Fatalf("after the failed revocation the user has %d grants, want the 1 still live", n)
	}
	if st, code := revoke(); st != http.StatusOK {
		t.Fatalf("retried revocation answered %d %q, want 200", st, code)
	}
	if n := grants(); n != 0 {
		t.Fatalf("after the acknowledged revocation the user has %d grants, want 0", n)
	}
}
