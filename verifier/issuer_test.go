package verifier

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// t0 is the fake clock's start.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// testAudience is the audience of fakeIssuer's tokens by default.
const testAudience = "https://api.example.test"

// fakeIssuer is an httptest server that speaks the parts of Gatehouse's
// API the verifier uses: discovery, JWKS, the revocation feed and stream,
// and introspection. Every behaviour a test needs is a field.
type fakeIssuer struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	signer   jose.PrivateKey
	keys     []jose.PublicKey
	events   []map[string]any // feed items, cursor = index+1
	notify   chan struct{}    // closed and replaced on every new event
	sessions map[string]map[string]any
	// jwksBody, if set, is served instead of the keys.
	jwksBody []byte
	// jwksGate, if set, is waited on before each JWKS answer.
	jwksGate chan struct{}
	// noStream makes the stream endpoint answer 404.
	noStream bool
	// dropStream ends each stream after the backlog.
	dropStream bool
	// lastEventIDs records each stream request's Last-Event-ID.
	lastEventIDs []string
	// streamDrop lists cursors the stream leaves out, as a server that
	// lost them would; streamPrev adds each event's "prev" cursor.
	streamDrop map[int]bool
	streamPrev bool
	// pageSize, if positive, limits the events of one feed page.
	pageSize int
	// discoveryIssuer overrides the issuer in the discovery document.
	discoveryIssuer string

	jwksFetches    atomic.Int64
	feedPolls      atomic.Int64
	streams        atomic.Int64
	introspections atomic.Int64
}

const introspectionSecret = "admin-secret"

func newFakeIssuer(t testing.TB, alg jose.Algorithm) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{t: t, notify: make(chan struct{}), sessions: map[string]map[string]any{}}
	f.rotate(alg, "key-1")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.handleDiscovery)
	mux.HandleFunc("GET /jwks", f.handleJWKS)
	mux.HandleFunc("GET /v1/revocations", f.handleFeed)
	mux.HandleFunc("GET /v1/revocations/stream", f.handleStream)
	mux.HandleFunc("POST /oauth2/introspect", f.handleIntrospect)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.close)
	return f
}

func (f *fakeIssuer) close() {
	f.mu.Lock()
	if f.jwksGate != nil {
		select {
		case <-f.jwksGate:
		default:
			close(f.jwksGate)
		}
	}
	f.mu.Unlock()
	f.srv.CloseClientConnections()
	f.srv.Close()
}

// URL is the issuer.
func (f *fakeIssuer) URL() string { return f.srv.URL }

// rotate makes a new signing key and publishes it next to the old ones.
func (f *fakeIssuer) rotate(alg jose.Algorithm, kid string) jose.PrivateKey {
	f.t.Helper()
	k, err := jose.GenerateKey(alg, kid)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.signer = k
	f.keys = append(f.keys, k.Public())
	f.mu.Unlock()
	return k
}

// claims returns a valid claims set for the current clock time now.
func (f *fakeIssuer) claims(now time.Time) map[string]any {
	return map[string]any{
		"iss": f.URL(), "sub": "user-1", "aud": testAudience,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
		"jti": "jti-1", "sid": "sid-1", "scope": "read write", "client_id": "client-1",
		"tenant": "acme", "roles": []any{"admin"},
	}
}

// mint signs claims with the current key and typ "at+jwt".
func (f *fakeIssuer) mint(claims map[string]any) string {
	f.mu.Lock()
	k := f.signer
	f.mu.Unlock()
	return mintWith(f.t, k, "at+jwt", claims)
}

func mintWith(t testing.TB, k jose.PrivateKey, typ string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jose.Sign(k, typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// revoke appends a feed event; kind is "sid", "user" or "jti".
func (f *fakeIssuer) revoke(kind, id string, at, expires time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, map[string]any{
		"cursor": len(f.events) + 1, kind: id,
		"at": at.UTC().Format(time.RFC3339Nano), "expires": expires.UTC().Format(time.RFC3339Nano),
	})
	close(f.notify)
	f.notify = make(chan struct{})
}

// addSession makes value a live session cookie for sub with session id
// sid until exp.
func (f *fakeIssuer) addSession(value, sub, sid string, iat, exp time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[value] = map[string]any{
		"active": true, "token_type": "gatehouse_session", "sub": sub, "sid": sid,
		"iss": f.URL(), "exp": exp.Unix(), "iat": iat.Unix(),
	}
}

func (f *fakeIssuer) endSession(value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, value)
}

func (f *fakeIssuer) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	iss := f.URL()
	if f.discoveryIssuer != "" {
		iss = f.discoveryIssuer
	}
	f.mu.Unlock()
	writeTestJSON(w, map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              f.URL() + "/jwks",
		"introspection_endpoint":                f.URL() + "/oauth2/introspect",
		"gatehouse_revocations_endpoint":        f.URL() + "/v1/revocations",
		"gatehouse_revocations_stream_endpoint": f.URL() + "/v1/revocations/stream",
	})
}

func (f *fakeIssuer) handleJWKS(w http.ResponseWriter, r *http.Request) {
	f.jwksFetches.Add(1)
	f.mu.Lock()
	gate := f.jwksGate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	body := f.jwksBody
	if body == nil {
		set, err := jose.NewJWKS(f.keys...)
		if err == nil {
			body, err = set.MarshalJSON()
		}
		if err != nil {
			f.mu.Unlock()
			http.Error(w, err.Error(), 500)
			return
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(body)
}

func (f *fakeIssuer) since(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("since"))
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, _ = strconv.Atoi(id)
	}
	return n
}

func (f *fakeIssuer) handleFeed(w http.ResponseWriter, r *http.Request) {
	f.feedPolls.Add(1)
	since := f.since(r)
	f.mu.Lock()
	out := []map[string]any{}
	if since < len(f.events) {
		out = append(out, f.events[since:]...)
	}
	more := false
	if f.pageSize > 0 && len(out) > f.pageSize {
		out, more = out[:f.pageSize], true
	}
	cursor := since + len(out)
	f.mu.Unlock()
	writeTestJSON(w, map[string]any{"revocations": out, "cursor": cursor, "more": more})
}

func (f *fakeIssuer) handleStream(w http.ResponseWriter, r *http.Request) {
	f.streams.Add(1)
	f.mu.Lock()
	f.lastEventIDs = append(f.lastEventIDs, r.Header.Get("Last-Event-ID"))
	noStream, drop := f.noStream, f.dropStream
	f.mu.Unlock()
	if noStream {
		http.NotFound(w, r)
		return
	}
	since := f.since(r)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for {
		f.mu.Lock()
		pending := append([]map[string]any(nil), f.events[min(since, len(f.events)):]...)
		notify := f.notify
		f.mu.Unlock()
		f.mu.Lock()
		dropped, withPrev := f.streamDrop, f.streamPrev
		f.mu.Unlock()
		for _, e := range pending {
			prev := since
			since = e["cursor"].(int)
			if dropped[since] {
				continue
			}
			if withPrev {
				e = maps.Clone(e)
				e["prev"] = prev
			}
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, ": keep-alive\n\nid: %d\nevent: revocation\ndata: %s\n\n", since, b)
		}
		if rc.Flush() != nil || drop {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-notify:
		}
	}
}

func (f *fakeIssuer) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	f.introspections.Add(1)
	if r.Header.Get("Authorization") != "Bearer "+introspectionSecret {
		w.WriteHeader(http.StatusUnauthorized)
		writeTestJSON(w, map[string]any{"error": "invalid_client"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token_type_hint") != "gatehouse_session" {
		http.Error(w, "bad form", 400)
		return
	}
	f.mu.Lock()
	a, ok := f.sessions[r.PostForm.Get("token")]
	f.mu.Unlock()
	if !ok {
		a = map[string]any{"active": false}
	}
	writeTestJSON(w, a)
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// newTestVerifier builds a Verifier on f with the clock c, after applying
// edit to the config.
func newTestVerifier(t testing.TB, f *fakeIssuer, c *clocktest.Clock, edit func(*Config)) *Verifier {
	t.Helper()
	v, err := New(context.Background(), testConfig(f, c, edit))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func testConfig(f *fakeIssuer, c *clocktest.Clock, edit func(*Config)) Config {
	cfg := Config{
		Issuer:   f.URL(),
		Audience: testAudience,
		Now:      c.Now,
		Revocations: RevocationConfig{
			Mode:         RevocationStream,
			PollInterval: 20 * time.Millisecond,
			MaxBackoff:   20 * time.Millisecond,
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

// eventually polls cond every few milliseconds until it holds or within
// passes, and reports how long it took.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// b64 is base64url without padding, for hand-made tokens.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
