package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// BenchmarkHotPath measures, in process through the fully wired server
// (app.New on SQLite, the whole middleware chain and router), the
// requests issue 18 holds to a bare handler's cost: GET /v1/me by cookie
// and by bearer, client credentials, introspection, JWKS and discovery.
// It is the before/after benchmark of docs/benchmark-notes.md:
//
//	go test -run '^$' -bench HotPath -benchmem -count 6 ./internal/httpapi/
//
// Besides ns/op it reports cpu-ns/op, the process's CPU time per request.
// The recorder and its header map are allocated per request, as a real
// connection's would be; the request is a shallow copy of a template.
func BenchmarkHotPath(b *testing.B) {
	srv := apptest.Start(b, apptest.Options{})
	h := srv.Handler()
	_, browser := srv.NewSession(b)
	u := srv.NewUser(b)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	srv.NewClient().Do(b, http.MethodPost, "/v1/login",
		map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(b, http.StatusOK).Decode(b, &login)
	if login.AccessToken == "" {
		b.Fatal("token login answered no access token")
	}
	_, newTokenReq := benchClientCredentialsOn(b, srv)
	id, secret, _ := newTokenReq().BasicAuth()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newTokenReq())
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil || tr.AccessToken == "" {
		b.Fatalf("token: %s", rec.Body)
	}
	introspectForm := url.Values{"token": {tr.AccessToken}}.Encode()

	cases := []struct {
		name   string
		newReq func() *http.Request
	}{
		{"me_cookie", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
			r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0")
			r.AddCookie(&http.Cookie{Name: srv.CookieName(), Value: browser.Cookie})
			return r
		}},
		{"me_bearer", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
			r.Header.Set("Authorization", "Bearer "+login.AccessToken)
			return r
		}},
		{"token_cc", newTokenReq},
		{"introspect", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/oauth2/introspect", strings.NewReader(introspectForm))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth(id, secret)
			return r
		}},
		{"jwks", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil) }},
		{"discovery", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/.well-known/openid-configuration", nil)
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			// One template per case, shallow-copied with a fresh body per
			// request: httptest.NewRequest's parsing would otherwise be
			// most of what is measured.
			tmpl := c.newReq()
			var body []byte
			if tmpl.Body != nil {
				body, _ = io.ReadAll(tmpl.Body)
			}
			serveLoop(b, h, tmpl, body, http.StatusOK)
		})
	}
}

// serveLoop serves shallow copies of tmpl, each with body, to h for the
// benchmark's iterations, fails on another status than want, and reports
// allocations and cpu-ns/op.
func serveLoop(b *testing.B, h http.Handler, tmpl *http.Request, body []byte, want int) {
	b.ReportAllocs()
	cpu0 := processCPU(b)
	for b.Loop() {
		r := new(http.Request)
		*r = *tmpl
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != want {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU returns the CPU time (user and system) the test process has
// used, in ns: beside wall time per op, the cost per request that other
// load on a shared machine moves much less (GC workers included).
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
