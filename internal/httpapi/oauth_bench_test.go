package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// benchClientCredentials starts a wired server, registers a client
// credentials client, and returns the handler and a function that builds
// a token request authenticated with client_secret_basic.
func benchClientCredentials(b *testing.B) (http.Handler, func() *http.Request) {
	b.Helper()
	return benchClientCredentialsOn(b, apptest.Start(b, apptest.Options{}))
}

// benchClientCredentialsOn is benchClientCredentials on a running server.
func benchClientCredentialsOn(b *testing.B, srv *apptest.Server) (http.Handler, func() *http.Request) {
	b.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/admin/v1/clients",
		strings.NewReader(`{"grant_types":["client_credentials"],"scope":"reports:read reports:write"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+srv.AdminToken)
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		b.Fatalf("register client: %d %s", rec.Code, rec.Body)
	}
	var c struct{ ClientID, ClientSecret string }
	body := rec.Body.String()
	c.ClientID = jsonString(b, body, "client_id")
	c.ClientSecret = jsonString(b, body, "client_secret")
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"reports:read"}}.Encode()
	newReq := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(c.ClientID, c.ClientSecret)
		return r
	}
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, newReq())
	if rec.Code != http.StatusOK {
		b.Fatalf("token request: %d %s", rec.Code, rec.Body)
	}
	return srv.Handler(), newReq
}

// jsonString extracts a string member from a flat JSON object.
func jsonString(b *testing.B, body, name string) string {
	b.Helper()
	_, after, ok := strings.Cut(body, `"`+name+`":"`)
	v, _, ok2 := strings.Cut(after, `"`)
	if !ok || !ok2 {
		b.Fatalf("no %s in %s", name, body)
	}
	return v
}

// BenchmarkClientCredentials measures one client credentials token request
// through the whole handler (middleware, form parsing, client lookup in
// SQLite, SHA-256 of the secret, signing): the path a service takes for
// every token. A password hash in its place would cost tens of
// milliseconds per request.
func BenchmarkClientCredentials(b *testing.B) {
	h, newReq := benchClientCredentials(b)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq())
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkClientCredentialsParallel is BenchmarkClientCredentials from
// GOMAXPROCS goroutines at once.
func BenchmarkClientCredentialsParallel(b *testing.B) {
	h, newReq := benchClientCredentials(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, newReq())
			if rec.Code != http.StatusOK {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
}
