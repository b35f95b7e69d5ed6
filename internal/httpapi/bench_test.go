package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

// The benchmarks in this file answer one question: what does it cost to
// authenticate a request by its session cookie, compared with verifying
// the Ed25519 signature of one access token? docs/benchmark-notes.md records
// the numbers and the command:
//
//	go test -run '^$' -bench 'CookieAuth|Ed25519' -count 5 ./internal/...
//
// On a shared machine whose load changes faster than a benchmark lasts,
// back-to-back benchmarks are not comparable with each other;
// BenchmarkCookieAuthInterleaved times both contenders in the same
// iterations and reports their medians and ratio.

// benchAuthPath is a route mounted only by these benchmarks: the same
// middleware chain and the same user wrapper (cookie lookup, CSRF rules,
// principal in the context) as every /v1 user route, with a handler that
// does nothing but answer 204, so the measurement is the authentication
// and not a handler's own store reads.
const benchAuthPath = "/bench/cookie-auth"

// benchCookieServer starts a Server on a fresh SQLite database in a temp
// dir, signs a user up and logs it in through the real /v1/signup and
// /v1/login handlers, and returns the server and a request template that
// carries the session cookie. The session cache is warm on return: the
// login put the session in it and one authenticated request has run.
func benchCookieServer(b *testing.B) (*Server, *http.Cookie) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, b.TempDir()+"/gatehouse.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	// The cheapest Argon2id parameters: hashing is not what is measured,
	// and the signup and login below run once per benchmark.
	hasher, err := password.NewHasher(password.Config{Params: password.Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		b.Fatal(err)
	}
	users := identity.NewService(st, hasher, identity.Config{SignupOpen: true}, nil, nil)
	sessions := session.NewManager(st, session.Config{}, nil, nil)
	srv := New(Config{Issuer: "http://127.0.0.1:8080"}, Deps{
		Accounts: accounts.New(accounts.Deps{Users: users, Sessions: sessions}),
		Users:    users,
		Sessions: sessions,
		Metrics:  metrics.New(sessions.Count),
		Ready:    st.Ping,
	})
	srv.mux.Handle("GET "+benchAuthPath, srv.user(func(w http.ResponseWriter, r *http.Request, p authn.Principal) {
		if p.UserID == "" {
			panic("no user in principal")
		}
		w.WriteHeader(http.StatusNoContent)
	}))

	creds := `{"email":"bench@example.com","password":"correct horse battery staple"}`
	if rec := benchServe(srv, benchJSONRequest("/v1/signup", creds)); rec.Code != http.StatusCreated {
		b.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	rec := benchServe(srv, benchJSONRequest("/v1/login", creds))
	if rec.Code != http.StatusOK {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieName {
			cookie = c
		}
	}
	if cookie == nil {
		b.Fatal("login set no session cookie")
	}
	if rec := benchServe(srv, benchAuthRequest(cookie)); rec.Code != http.StatusNoContent {
		b.Fatalf("warm-up request: %d %s", rec.Code, rec.Body)
	}
	return srv, cookie
}

func benchJSONRequest(path, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// benchAuthRequest is a request as a browser sends it: a User-Agent, an
// Accept header and the session cookie.
func benchAuthRequest(cookie *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, benchAuthPath, nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0")
	r.Header.Set("Accept", "application/json")
	r.AddCookie(cookie)
	return r
}

func benchServe(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// BenchmarkCookieAuth measures one request through Server.ServeHTTP, the
// whole middleware chain (recovery, metrics and access log, security
// headers, CORS, routing) and the user wrapper, which reads the cookie,
// hashes its secret, finds the session in the warm in-process cache and
// puts the principal in the request context. The handler only answers
// 204. The ResponseRecorder and its header map are allocated per request,
// as a real connection's would be.
func BenchmarkCookieAuth(b *testing.B) {
	srv, cookie := benchCookieServer(b)
	r := benchAuthRequest(cookie)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkCookieAuthParallel is BenchmarkCookieAuth from GOMAXPROCS
// goroutines at once, all with the same session (the worst case for the
// cache's lock). ns/op is wall time divided by requests: per-request cost
// at full load of every CPU.
func BenchmarkCookieAuthParallel(b *testing.B) {
	srv, cookie := benchCookieServer(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := benchAuthRequest(cookie)
		for pb.Next() {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, r)
			if rec.Code != http.StatusNoContent {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// BenchmarkCookieAuthStep measures the authentication step alone,
// Server.authenticate (cookie to principal), without the middleware chain,
// routing or response writing.
func BenchmarkCookieAuthStep(b *testing.B) {
	srv, cookie := benchCookieServer(b)
	r := benchAuthRequest(cookie)
	b.ReportAllocs()
	for b.Loop() {
		p, err := srv.authenticate(r)
		if err != nil || p.UserID == "" {
			b.Fatalf("authenticate: %+v, %v", p, err)
		}
	}
}

// benchJWT returns an Ed25519 key pair and a typical access token's
// signing input (base64url header "." base64url payload) of exactly 300
// bytes, signed.
func benchJWT(b *testing.B) (ed25519.PublicKey, []byte, []byte) {
	b.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	enc := base64.RawURLEncoding
	claims := `{"iss":"https://id.example.com","sub":"3d767426c4cc7acbcf7a0f107822c370",` +
		`"aud":"https://id.example.com","exp":1795931318,"iat":1795931018,` +
		`"sid":"5c5d99f97e8a0523eee76a855404e838"`
	// Pad the key id and a custom claim until the signing input is exactly
	// 300 bytes (unpadded base64url cannot have every length, hence both).
	for k := range 4 {
		header := enc.EncodeToString([]byte(`{"alg":"EdDSA","kid":"k1` + strings.Repeat("a", k) + `"}`))
		for n := 0; ; n++ {
			payload := claims + `,"jti":"` + strings.Repeat("0", n) + `"}`
			input := header + "." + enc.EncodeToString([]byte(payload))
			if len(input) == 300 {
				msg := []byte(input)
				return priv.Public().(ed25519.PublicKey), msg, ed25519.Sign(priv, msg)
			}
			if len(input) > 300 {
				break
			}
		}
	}
	b.Fatal("cannot build a 300-byte signing input")
	return nil, nil, nil
}

// BenchmarkEd25519Verify300 measures one crypto/ed25519.Verify of a
// 300-byte JWT signing input: the signature check alone, the cheapest part
// of accepting a bearer token.
func BenchmarkEd25519Verify300(b *testing.B) {
	pub, msg, sig := benchJWT(b)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkEd25519Verify300Parallel is BenchmarkEd25519Verify300 from
// GOMAXPROCS goroutines, to compare with BenchmarkCookieAuthParallel.
func BenchmarkEd25519Verify300Parallel(b *testing.B) {
	pub, msg, sig := benchJWT(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Error("signature does not verify")
				return
			}
		}
	})
}

// BenchmarkCookieAuthInterleaved runs, in every iteration, one request of
// BenchmarkCookieAuth, one call of BenchmarkCookieAuthStep and one
// verification of BenchmarkEd25519Verify300, timing each call on its own,
// so that all three see the same machine load. It reports the median time
// of each (request-ns, step-ns, ed25519-ns) and the ratios of the cookie
// check to the Ed25519 verification (request/ed25519, step/ed25519). Each
// timed call includes one time.Now pair (tens of nanoseconds). ns/op is
// the sum of the three plus the timing overhead and means nothing.
func BenchmarkCookieAuthInterleaved(b *testing.B) {
	srv, cookie := benchCookieServer(b)
	r := benchAuthRequest(cookie)
	pub, msg, sig := benchJWT(b)
	var request, step, verify []time.Duration
	for b.Loop() {
		t0 := time.Now()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		t1 := time.Now()
		p, err := srv.authenticate(r)
		t2 := time.Now()
		ok := ed25519.Verify(pub, msg, sig)
		t3 := time.Now()
		if rec.Code != http.StatusNoContent || err != nil || p.UserID == "" || !ok {
			b.Fatalf("request %d, authenticate %v, verify %v", rec.Code, err, ok)
		}
		request = append(request, t1.Sub(t0))
		step = append(step, t2.Sub(t1))
		verify = append(verify, t3.Sub(t2))
	}
	req, st, ver := benchMedian(request), benchMedian(step), benchMedian(verify)
	b.ReportMetric(req, "request-ns")
	b.ReportMetric(st, "step-ns")
	b.ReportMetric(ver, "ed25519-ns")
	b.ReportMetric(req/ver, "request/ed25519")
	b.ReportMetric(st/ver, "step/ed25519")
}

// benchMedian returns the median of ds in nanoseconds.
func benchMedian(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[len(ds)/2])
}
