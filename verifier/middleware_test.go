package verifier

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/jose"
)

func TestMiddleware(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, func(cfg *Config) { cfg.Realm = "api" })
	var seen *Principal
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if !ok {
			t.Error("no principal in the context")
		}
		seen = p
		w.WriteHeader(http.StatusOK)
	}))
	good := f.mint(f.claims(c.Now()))
	expiredClaims := f.claims(c.Now().Add(-time.Hour))
	expired := f.mint(expiredClaims)

	tests := []struct {
		name      string
		auth      []string
		status    int
		challenge string
		code      string
	}{
		{"valid token", []string{"Bearer " + good}, 200, "", ""},
		{"scheme is case-insensitive", []string{"bearer " + good}, 200, "", ""},
		{"no credentials", nil, 401, `Bearer realm="api"`, "unauthenticated"},
		{"another scheme", []string{"Basic dXNlcjpwdw=="}, 401, `Bearer realm="api"`, "unauthenticated"},
		{"garbage token", []string{"Bearer garbage"}, 401,
			`Bearer realm="api", error="invalid_token", error_description="the access token is invalid"`, "invalid_token"},
		{"expired token", []string{"Bearer " + expired}, 401,
			`Bearer realm="api", error="invalid_token", error_description="the access token expired"`, "invalid_token"},
		{"empty bearer", []string{"Bearer "}, 400,
			`Bearer realm="api", error="invalid_request", error_description="the Authorization header is malformed"`, "invalid_request"},
		{"two Authorization headers", []string{"Bearer " + good, "Bearer " + good}, 400,
			`Bearer realm="api", error="invalid_request", error_description="the Authorization header is malformed"`, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			r := httptest.NewRequest("GET", "http://api.example.test/hello", nil)
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if tt.status == 200 {
				if seen == nil || seen.Subject != "user-1" || seen.Method != MethodJWT {
					t.Errorf("principal %+v", seen)
				}
				return
			}
			if seen != nil {
				t.Error("the handler ran")
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != tt.code || body["error_description"] == "" || len(body) != 2 {
				t.Errorf("body %s (%v), want error %q with a description", w.Body, err, tt.code)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
		})
	}
}

func TestMiddlewareScopes(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, func(cfg *Config) { cfg.RequiredScopes = []string{"read"} })
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	cl := f.claims(c.Now())
	cl["scope"] = "write"
	writeOnly := f.mint(cl)
	good := f.mint(f.claims(c.Now()))

	tests := []struct {
		name      string
		h         http.Handler
		token     string
		status    int
		challenge string
	}{
		{"config scope missing", v.Middleware(ok), writeOnly, 403,
			`Bearer realm="https://api.example.test", error="insufficient_scope", error_description="the access token lacks a required scope", scope="read"`},
		{"config scope present", v.Middleware(ok), good, 200, ""},
		{"route scope missing", v.Middleware(v.RequireScope("admin")(ok)), good, 403,
			`Bearer realm="https://api.example.test", error="insufficient_scope", error_description="the access token lacks a required scope", scope="admin"`},
		{"route scope present", v.Middleware(v.RequireScope("write")(ok)), good, 200, ""},
		{"RequireScope without Middleware", v.RequireScope("write")(ok), good, 401, `Bearer realm="https://api.example.test"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Errorf("status %d, WWW-Authenticate %q; want %d, %q", w.Code, w.Header().Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
		})
	}
}

func TestMiddlewareUnavailable(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, func(cfg *Config) { cfg.Revocations.Mode = RevocationOff })
	stranger, err := jose.GenerateKey(jose.EdDSA, "new-kid")
	if err != nil {
		t.Fatal(err)
	}
	tok := mintWith(t, stranger, "at+jwt", f.claims(c.Now()))
	f.close() // the issuer is gone
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	v.Middleware(http.NotFoundHandler()).ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503; body %s", w.Code, w.Body)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{`api`: `"api"`, `a"b\c`: `"a\"b\\c"`, "x\ny": `"x?y"`} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
