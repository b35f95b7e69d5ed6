package app_test

// Scale-out benchmarks: the same flows on each backend a deployment can
// choose, in one run, so that the numbers sit side by side.
//
//	go test -run '^$' -bench . ./internal/app/
//
// Backends (sub-benchmark names):
//
//   - sqlite: the default, one file in the data dir.
//   - postgres: --db postgres://… (a fresh database from pgtest), sessions
//     in PostgreSQL too.
//   - redis: the high-availability layout, --db postgres://… and
//     --sessions redis://… (a key prefix of the benchmark's own): users,
//     keys, clients and refresh grants in PostgreSQL, cookie sessions and
//     login limits in Redis.
//
// Requests go through the server's real handler (httpapi.Server.ServeHTTP)
// in process, into an httptest.ResponseRecorder: no TCP between client and
// server, so the numbers are the server's own cost plus its store calls.
// Passwords use apptest.CheapPasswordParams unless a name says "owasp", so
// that a login's cost is the backend's, not Argon2id's.
//
// The machine these run on is shared and its load moves faster than a
// benchmark lasts (see docs/benchmark-notes.md, "Reading the numbers"), so
// every benchmark times each call and reports medians (…-µs metrics), and
// where several contenders are compared they run once each per iteration.
// ns/op of a benchmark with several contenders is their sum and means
// little.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// benchBackends are the sub-benchmarks of every scale-out benchmark.
var benchBackends = []string{"sqlite", "postgres", "redis"}

// benchServer is a server on one backend with one user signed up.
type benchServer struct {
	*apptest.Server
	user apptest.User
	// redis is a client of the server's Redis and prefix its key prefix,
	// for the redis backend only.
	redis  *redis.Client
	prefix string
}

// startBench starts a server on the named backend. Without PostgreSQL or
// Redis the benchmark is skipped, loudly (or fails under CI=true).
func startBench(b *testing.B, backend string, params password.Params, extra ...string) *benchServer {
	b.Helper()
	bs := &benchServer{}
	var args []string
	switch backend {
	case "sqlite":
	case "postgres":
		args = []string{"--db", pgtest.NewDatabase(b)}
	case "redis":
		bs.redis = redistest.Client(b)
		bs.prefix = redistest.Prefix(b, bs.redis)
		args = []string{"--db", pgtest.NewDatabase(b), "--sessions", withKeyPrefix(b, redistest.URL(), bs.prefix)}
	default:
		b.Fatalf("unknown backend %q", backend)
	}
	bs.Server = apptest.Start(b, apptest.Options{Args: append(args, extra...), PasswordParams: params})
	bs.user = bs.NewUser(b)
	return bs
}

// withKeyPrefix returns the Redis URL u with the key_prefix parameter set.
func withKeyPrefix(tb testing.TB, u, prefix string) string {
	tb.Helper()
	p, err := url.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	q := p.Query()
	q.Set("key_prefix", prefix)
	p.RawQuery = q.Encode()
	return p.String()
}

// serve sends r through the server's handler and fails b unless the
// answer has the status want.
func (bs *benchServer) serve(b *testing.B, r *http.Request, want int) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	bs.Handler().ServeHTTP(w, r)
	if w.Code != want {
		b.Fatalf("%s %s: %d %s, want %d", r.Method, r.URL.Path, w.Code, w.Body, want)
	}
	return w
}

func jsonRequest(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "bench/1.0")
	return r
}

func formRequest(path string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// loginBody is the JSON of a login in the given mode.
func (bs *benchServer) loginBody(mode string) string {
	j, _ := json.Marshal(map[string]string{"email": bs.user.Email, "password": bs.user.Password, "mode": mode})
	return string(j)
}

// cookieLogin logs the user in with a session and returns the cookie and
// the session id.
func (bs *benchServer) cookieLogin(b *testing.B) (*http.Cookie, string) {
	w := bs.serve(b, jsonRequest(http.MethodPost, "/v1/login", bs.loginBody("session")), http.StatusOK)
	var res struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		b.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == bs.CookieName() {
			return c, res.Session.ID
		}
	}
	b.Fatalf("login set no %s cookie", bs.CookieName())
	return nil, ""
}

// tokenPair is a token-mode login's or a refresh's answer.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func decodePair(b *testing.B, w *httptest.ResponseRecorder) tokenPair {
	var p tokenPair
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.AccessToken == "" {
		b.Fatalf("token answer %s: %v", w.Body, err)
	}
	return p
}

// tokenLogin logs the user in in token mode.
func (bs *benchServer) tokenLogin(b *testing.B) tokenPair {
	return decodePair(b, bs.serve(b, jsonRequest(http.MethodPost, "/v1/login", bs.loginBody("token")), http.StatusOK))
}

// registerClient registers a client_credentials client through
// POST /admin/v1/clients and returns its id and secret.
func (bs *benchServer) registerClient(b *testing.B) (id, secret string) {
	r := jsonRequest(http.MethodPost, "/admin/v1/clients",
		`{"client_name":"bench","grant_types":["client_credentials"],"scope":"reports:read","audience":["https://reports.example.com"]}`)
	r.Header.Set("Authorization", "Bearer "+bs.AdminToken)
	var cl struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(bs.serve(b, r, http.StatusCreated).Body.Bytes(), &cl); err != nil || cl.Secret == "" {
		b.Fatalf("client registration %s: %v", r.URL.Path, err)
	}
	return cl.ID, cl.Secret
}

// timings collects the duration of each contender's calls.
type timings map[string][]time.Duration

// time runs f and records its duration under name.
func (t timings) time(name string, f func()) {
	t0 := time.Now()
	f()
	t[name] = append(t[name], time.Since(t0))
}

// median returns the median of name's durations in microseconds.
func (t timings) median(name string) float64 {
	ds := slices.Clone(t[name])
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[len(ds)/2].Nanoseconds()) / 1e3
}

// report reports each contender's median as "<name>-µs".
func (t timings) report(b *testing.B) {
	for name := range t {
		b.ReportMetric(t.median(name), name+"-µs")
	}
}

// BenchmarkCookieAuth authenticates one request by its session cookie.
// Each iteration runs, in turn:
//
//   - me-warm: GET /v1/me through the handler, session and account in the
//     in-process caches (the common case: no store call);
//   - check-warm: Sessions.AuthenticateCookie alone, cached;
//   - check-cold: the same after Sessions.Evict, so the session store is
//     read (the first request after a restart, an eviction, or a session
//     made on another instance);
//   - me-cold: GET /v1/me after Evict;
//   - on redis only, get: a bare GET of a string as long as the session's
//     hash (its fields and values), and hgetall: a bare HGETALL of the
//     session's own key; the floor for one round trip.
//
// Evict runs outside the timed calls. The clock stands still, so no call
// writes last_seen_at (a live server does, once a minute per session).
// The Redis target is check-cold/get ≤ 1.3, reported as cold-x-get.
func BenchmarkCookieAuth(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend, func(b *testing.B) {
			bs := startBench(b, backend, password.Params{})
			cookie, sid := bs.cookieLogin(b)
			me := func() {
				r := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
				r.Header.Set("User-Agent", "bench/1.0")
				r.AddCookie(cookie)
				bs.serve(b, r, http.StatusOK)
			}
			ctx := context.Background()
			check := func() {
				if _, err := bs.App.Sessions.AuthenticateCookie(ctx, cookie.Value); err != nil {
					b.Fatal(err)
				}
			}
			var getKey, hashKey string
			var valueBytes int
			if bs.redis != nil {
				h := session.HashSecret(cookie.Value)
				// A routed cookie ("<route>.<secret>") lives under its
				// user's route; see internal/store/redisstore.
				base := "{sessions}"
				if route, _, ok := strings.Cut(cookie.Value, "."); ok {
					base = "{" + route + "}"
				}
				hashKey = fmt.Sprintf("%s%s:h:%x", bs.prefix, base, h[:])
				fields, err := bs.redis.HGetAll(ctx, hashKey).Result()
				if err != nil || len(fields) == 0 {
					b.Fatalf("HGETALL %s: %v, %v", hashKey, fields, err)
				}
				size := 0
				for k, v := range fields {
					size += len(k) + len(v)
				}
				getKey = bs.prefix + "bench:bare"
				if err := bs.redis.Set(ctx, getKey, strings.Repeat("x", size), time.Hour).Err(); err != nil {
					b.Fatal(err)
				}
				valueBytes = size
			}
			me()
			t := timings{}
			for b.Loop() {
				t.time("me-warm", me)
				t.time("check-warm", check)
				bs.App.Sessions.Evict(sid)
				t.time("check-cold", check)
				bs.App.Sessions.Evict(sid)
				bs.App.Users.Forget(bs.user.ID)
				t.time("me-cold", me)
				if bs.redis != nil {
					t.time("get", func() {
						if err := bs.redis.Get(ctx, getKey).Err(); err != nil {
							b.Fatal(err)
						}
					})
					t.time("hgetall", func() {
						if err := bs.redis.HGetAll(ctx, hashKey).Err(); err != nil {
							b.Fatal(err)
						}
					})
				}
			}
			t.report(b)
			if bs.redis != nil {
				b.ReportMetric(t.median("check-cold")/t.median("get"), "cold-x-get")
				b.ReportMetric(t.median("check-cold")/t.median("hgetall"), "cold-x-hgetall")
				b.ReportMetric(float64(valueBytes), "value-bytes")
			}
		})
	}
}

// BenchmarkSessionLogin is one POST /v1/login in session mode: the user
// read, the password check (cheap Argon2id parameters, so the store shows),
// the session written, the cookie set. sqlite-owasp is the same on SQLite
// with the default (OWASP) parameters, for reference: there the hash is
// nearly all of the cost whatever the backend.
func BenchmarkSessionLogin(b *testing.B) {
	run := func(b *testing.B, backend string, params password.Params) {
		bs := startBench(b, backend, params)
		body := bs.loginBody("session")
		t := timings{}
		for b.Loop() {
			t.time("login", func() { bs.serve(b, jsonRequest(http.MethodPost, "/v1/login", body), http.StatusOK) })
		}
		t.report(b)
	}
	for _, backend := range benchBackends {
		b.Run(backend, func(b *testing.B) { run(b, backend, password.Params{}) })
	}
	b.Run("sqlite-owasp", func(b *testing.B) { run(b, "sqlite", password.DefaultParams()) })
}

// BenchmarkRefresh is one refresh_token grant at POST /oauth2/token,
// each iteration presenting the refresh token the previous one returned:
// the grant's record read and touched, the old token rotated, a new
// access token signed (EdDSA).
func BenchmarkRefresh(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend, func(b *testing.B) {
			bs := startBench(b, backend, password.Params{})
			pair := bs.tokenLogin(b)
			t := timings{}
			for b.Loop() {
				t.time("refresh", func() {
					w := bs.serve(b, formRequest("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pair.RefreshToken}}), http.StatusOK)
					pair = decodePair(b, w)
				})
			}
			t.report(b)
		})
	}
}

// BenchmarkClientCredentials is one client_credentials grant at
// POST /oauth2/token with HTTP Basic client authentication, for a client
// registered through POST /admin/v1/clients: the client read, its secret's
// SHA-256 compared, an access token signed.
func BenchmarkClientCredentials(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend, func(b *testing.B) {
			bs := startBench(b, backend, password.Params{})
			id, secret := bs.registerClient(b)
			t := timings{}
			for b.Loop() {
				t.time("token", func() {
					r := formRequest("/oauth2/token", url.Values{"grant_type": {"client_credentials"}})
					r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
					decodePair(b, bs.serve(b, r, http.StatusOK))
				})
			}
			t.report(b)
		})
	}
}

// BenchmarkBearerAuth authenticates by an access token. Each iteration
// runs, in turn:
//
//   - check: Tokens.AuthenticateBearer alone: signature (EdDSA) with the
//     cached key, claims, and the in-process revocation set. No store
//     call on any backend (TestBearerAuthNeedsNoNetwork proves it by
//     cutting the network), so it should cost the same on all three.
//   - me: GET /v1/me through the handler with the token; the handler then
//     reads the user from the database, which is the handler's work.
func BenchmarkBearerAuth(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend, func(b *testing.B) {
			bs := startBench(b, backend, password.Params{})
			tok := bs.tokenLogin(b).AccessToken
			ctx := context.Background()
			t := timings{}
			for b.Loop() {
				t.time("check", func() {
					if _, err := bs.App.Tokens.AuthenticateBearer(ctx, tok); err != nil {
						b.Fatal(err)
					}
				})
				t.time("me", func() {
					r := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
					r.Header.Set("Authorization", "Bearer "+tok)
					bs.serve(b, r, http.StatusOK)
				})
			}
			t.report(b)
		})
	}
}

// BenchmarkBackendsInterleaved runs each flow on all three backends in
// every iteration (one call each, in turn) and reports each backend's
// median, so that the comparison between backends sees one machine load.
func BenchmarkBackendsInterleaved(b *testing.B) {
	type flow struct {
		name string
		// setup prepares bs and returns one call of the flow.
		setup func(b *testing.B, bs *benchServer) func()
	}
	flows := []flow{
		{"CookieAuthCold", func(b *testing.B, bs *benchServer) func() {
			cookie, sid := bs.cookieLogin(b)
			return func() {
				bs.App.Sessions.Evict(sid)
				if _, err := bs.App.Sessions.AuthenticateCookie(context.Background(), cookie.Value); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"SessionLogin", func(b *testing.B, bs *benchServer) func() {
			body := bs.loginBody("session")
			return func() { bs.serve(b, jsonRequest(http.MethodPost, "/v1/login", body), http.StatusOK) }
		}},
		{"Refresh", func(b *testing.B, bs *benchServer) func() {
			pair := bs.tokenLogin(b)
			return func() {
				pair = decodePair(b, bs.serve(b, formRequest("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pair.RefreshToken}}), http.StatusOK))
			}
		}},
		{"ClientCredentials", func(b *testing.B, bs *benchServer) func() {
			id, secret := bs.registerClient(b)
			return func() {
				r := formRequest("/oauth2/token", url.Values{"grant_type": {"client_credentials"}})
				r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
				decodePair(b, bs.serve(b, r, http.StatusOK))
			}
		}},
		{"BearerMe", func(b *testing.B, bs *benchServer) func() {
			tok := bs.tokenLogin(b).AccessToken
			return func() {
				r := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
				r.Header.Set("Authorization", "Bearer "+tok)
				bs.serve(b, r, http.StatusOK)
			}
		}},
	}
	for _, f := range flows {
		b.Run(f.name, func(b *testing.B) {
			calls := make([]func(), len(benchBackends))
			for i, backend := range benchBackends {
				calls[i] = f.setup(b, startBench(b, backend, password.Params{}))
			}
			t := timings{}
			for b.Loop() {
				for i, backend := range benchBackends {
					t.time(backend, calls[i])
				}
			}
			t.report(b)
		})
	}
}
