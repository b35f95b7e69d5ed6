package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// These tests check shared/spec/http-api.md, "Operations" and the
// conventions every answer follows.

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHealthAndReadiness(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	for _, path := range []string{"/healthz", "/readyz"} {
		srv.NewClient().Do(t, http.MethodGet, path, nil).WantStatus(t, http.StatusOK)
	}
	// With the database gone, the server is alive but not ready.
	if err := srv.App.Close(); err != nil {
		t.Fatal(err)
	}
	srv.NewClient().Do(t, http.MethodGet, "/healthz", nil).WantStatus(t, http.StatusOK)
	r := srv.NewClient().Do(t, http.MethodGet, "/readyz", nil).WantStatus(t, http.StatusServiceUnavailable)
	if bytes.Contains(r.Body, []byte("sql")) || bytes.Contains(r.Body, []byte("closed")) {
		t.Errorf("/readyz shows internals: %s", r.Body)
	}
	// A request that needs the store is a 500 without internals.
	e := srv.NewClient().Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": "a@example.com", "password": "password123"}).
		WantError(t, http.StatusInternalServerError, "server_error")
	if strings.Contains(e.Description, "sql") || strings.Contains(e.Description, "closed") {
		t.Errorf("500 description shows internals: %q", e.Description)
	}
}

// metricValue returns the value of the sample whose name and labels are
// exactly series in Prometheus text format, and whether it is there.
func metricValue(t *testing.T, text []byte, series string) (float64, bool) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ') // label values may hold spaces
		if i > 0 && line[:i] == series {
			value := line[i+1:]
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metric %s: value %q: %v", series, value, err)
			}
			return f, true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	srv.Login(t, u.Email, u.Password)
	srv.Login(t, u.Email, u.Password)
	for range 3 {
		srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": "wrong password"})
	}
	srv.NewClient().Do(t, http.MethodGet, "/healthz", nil)

	// The live-session gauge is counted on a timer, not per scrape.
	if err := srv.App.Metrics.RefreshSessions(t.Context(), srv.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	r := srv.Admin().Do(t, http.MethodGet, "/metrics", nil).WantStatus(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type %q, want the Prometheus text format", ct)
	}
	want := map[string]float64{
		`gatehouse_logins_total{mode="session",outcome="success"}`:                        2,
		`gatehouse_logins_total{mode="session",outcome="invalid_credentials"}`:            3,
		`gatehouse_active_sessions`:                                                       2,
		`gatehouse_http_requests_total{code="200",method="GET",route="GET /healthz"}`:     1,
		`gatehouse_http_requests_total{code="401",method="POST",route="POST /v1/login"}`:  3,
		`gatehouse_http_requests_total{code="201",method="POST",route="POST /v1/signup"}`: 1,
	}
	for series, v := range want {
		got, ok := metricValue(t, r.Body, series)
		if !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, v)
		}
	}
	for _, name := range []string{"# TYPE gatehouse_http_requests_total counter", "# TYPE gatehouse_logins_total counter", "# TYPE gatehouse_active_sessions gauge"} {
		if !bytes.Contains(r.Body, []byte(name)) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	// Unmatched paths share one label, so scanners cannot blow up the
	// number of series.
	srv.NewClient().Do(t, http.MethodGet, "/no/such/path/1", nil)
	srv.NewClient().Do(t, http.MethodGet, "/no/such/path/2", nil)
	r = srv.Admin().Do(t, http.MethodGet, "/metrics", nil)
	if got, _ := metricValue(t, r.Body, `gatehouse_http_requests_total{code="404",method="GET",route="unmatched"}`); got != 2 {
		t.Errorf("unmatched 404s counted %v, want 2 under route=unmatched", got)
	}
	if bytes.Contains(r.Body, []byte("/no/such/path")) {
		t.Errorf("/metrics has a series per unmatched path")
	}
}

func TestNotFoundAndMethodNotAllowedAreJSON(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	cases := []struct {
		method, path string
		status       int
		code         string
		allow        string
	}{
		{http.MethodGet, "/nope", 404, "not_found", ""},
		{http.MethodGet, "/v1/nope", 404, "not_found", ""},
		{http.MethodPost, "/", 404, "not_found", ""},
		{http.MethodGet, "/v1/login", 405, "method_not_allowed", "POST"},
		{http.MethodPut, "/v1/me", 405, "method_not_allowed", "DELETE, GET, HEAD, PATCH"},
		{http.MethodPost, "/healthz", 405, "method_not_allowed", "GET, HEAD"},
		{http.MethodGet, "/v1/logout", 405, "method_not_allowed", "POST"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := srv.NewClient().Do(t, tc.method, tc.path, nil)
			r.WantError(t, tc.status, tc.code)
			if r.Header.Get("Allow") != tc.allow {
				t.Errorf("Allow %q, want %q", r.Header.Get("Allow"), tc.allow)
			}
		})
	}
}

// TestRoutedErrorsKeepTheirBody checks that the JSON fallback, which
// routes each request once and replaces only answers the router itself
// starts, leaves a matched handler's own 404 alone and answers an
// unmatched path with its single JSON 404 and no router text.
func TestRoutedErrorsKeepTheirBody(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	srv.NewClient().Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	srv.Admin().Do(t, http.MethodGet, "/admin/v1/users/no-such-user", nil).WantError(t, http.StatusNotFound, "not_found")
	r := srv.NewClient().Do(t, http.MethodGet, "/no/such/path", nil)
	r.WantError(t, http.StatusNotFound, "not_found")
	if bytes.Contains(r.Body, []byte("page not found")) || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("router text or type leaked: %q %q", r.Header.Get("Content-Type"), r.Body)
	}
}

// TestSecurityHeaders checks the headers every answer carries, success or
// failure, JSON or not.
func TestSecurityHeaders(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	requests := []struct {
		name string
		do   func() *apptest.Response
	}{
		{"healthz", func() *apptest.Response { return srv.NewClient().Do(t, http.MethodGet, "/healthz", nil) }},
		{"metrics", func() *apptest.Response { return srv.Admin().Do(t, http.MethodGet, "/metrics", nil) }},
		{"me", func() *apptest.Response { return c.Do(t, http.MethodGet, "/v1/me", nil) }},
		{"session with CSRF token", func() *apptest.Response { return c.Do(t, http.MethodGet, "/v1/session", nil) }},
		{"data", func() *apptest.Response { return c.Do(t, http.MethodGet, "/v1/session/data", nil) }},
		{"304", func() *apptest.Response {
			return c.Do(t, http.MethodGet, "/v1/session/data", nil, "If-None-Match", "*")
		}},
		{"401", func() *apptest.Response { return srv.NewClient().Do(t, http.MethodGet, "/v1/me", nil) }},
		{"404", func() *apptest.Response { return srv.NewClient().Do(t, http.MethodGet, "/nope", nil) }},
		{"405", func() *apptest.Response { return srv.NewClient().Do(t, http.MethodDelete, "/healthz", nil) }},
		{"413", func() *apptest.Response {
			return srv.NewClient().Do(t, http.MethodPost, "/v1/login", strings.Repeat(" ", 2<<20))
		}},
		{"login", func() *apptest.Response {
			u := srv.NewUser(t)
			return srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password})
		}},
	}
	want := map[string]string{
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			r := rq.do()
			for k, v := range want {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s: %s = %q, want %q", rq.name, k, got, v)
				}
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q: want frame-ancestors 'none'", csp)
			}
			if r.Header.Get("Strict-Transport-Security") != "" {
				t.Errorf("HSTS on an http issuer")
			}
		})
	}
}

func TestCORS(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--trusted-origins", "https://app.example.com"}})
	_, c := srv.NewSession(t)
	preflight := func(origin, method string) *apptest.Response {
		return srv.NewClient().Do(t, http.MethodOptions, "/v1/session/data", nil,
			"Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", "content-type, x-csrf-token, if-match")
	}
	for _, origin := range []string{"https://app.example.com", srv.Origin()} {
		r := preflight(origin, "PUT")
		if r.Status != http.StatusNoContent && r.Status != http.StatusOK {
			t.Errorf("preflight from %s: status %d", origin, r.Status)
		}
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("preflight from %s: Allow-Origin %q", origin, got)
		}
		if r.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("preflight from %s: want Allow-Credentials true", origin)
		}
		methods := r.Header.Get("Access-Control-Allow-Methods")
		for _, m := range []string{"PUT", "PATCH", "DELETE", "POST"} {
			if !strings.Contains(methods, m) {
				t.Errorf("Allow-Methods %q lacks %s", methods, m)
			}
		}
		allowed := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"content-type", "x-csrf-token", "if-match"} {
			if !strings.Contains(allowed, h) {
				t.Errorf("Allow-Headers %q lacks %s", allowed, h)
			}
		}
		if !strings.Contains(r.Header.Get("Vary"), "Origin") {
			t.Errorf("no Vary: Origin")
		}
		// An actual request from the origin may read the answer.
		g := c.Do(t, http.MethodGet, "/v1/session/data", nil, "Origin", origin).WantStatus(t, http.StatusOK)
		if g.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("GET from %s: Allow-Origin %q", origin, g.Header.Get("Access-Control-Allow-Origin"))
		}
		if !strings.Contains(g.Header.Get("Access-Control-Expose-Headers"), "ETag") {
			t.Errorf("GET from %s: ETag not exposed (Expose-Headers %q)", origin, g.Header.Get("Access-Control-Expose-Headers"))
		}
	}
	for _, origin := range []string{"https://evil.example", "null", "https://app.example.com.evil.example", "http://app.example.com"} {
		r := preflight(origin, "PUT")
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
			if v := r.Header.Get(h); v != "" {
				t.Errorf("preflight from %s: %s = %q, want none", origin, h, v)
			}
		}
		if r.Status < 400 {
			t.Errorf("preflight from %s: status %d, want a refusal", origin, r.Status)
		}
		g := c.Do(t, http.MethodGet, "/v1/session/data", nil, "Origin", origin)
		if v := g.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("GET from %s: Allow-Origin %q, want none", origin, v)
		}
	}
}
