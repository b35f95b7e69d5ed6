package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/token"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// loopbackConcurrency are the numbers of concurrent clients the loopback
// benchmarks run at.
var loopbackConcurrency = []int{1, 8, 32}

// loadHTTP sends b.N requests built by newReq over HTTP from c goroutines
// sharing one keep-alive client, failing on any status but 200, and
// reports requests per second.
func loadHTTP(b *testing.B, c int, newReq func() *http.Request) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range c {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				resp, err := client.Do(newReq())
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// loopbackFixture is a running Gatehouse with a client credentials
// client, and a bare net/http server next to it that only signs or only
// verifies the same tokens with the same keys.
type loopbackFixture struct {
	srv            *apptest.Server
	bare           *httptest.Server
	id, secret     string
	accessToken    string
	tokenForm      string
	introspectForm string
}

func newLoopbackFixture(b *testing.B) *loopbackFixture {
	b.Helper()
	srv := apptest.Start(b, apptest.Options{Clock: clocktest.New(time.Now())})
	f := &loopbackFixture{srv: srv}
	h, newReq := benchClientCredentialsOn(b, srv)
	_ = h
	r := newReq()
	f.id, f.secret, _ = r.BasicAuth()
	f.tokenForm = url.Values{"grant_type": {"client_credentials"}, "scope": {"reports:read"}}.Encode()
	resp := mustDo(b, f.tokenRequest(srv.URL+"/oauth2/token"))
	var tr token.Response
	if err := json.Unmarshal(resp, &tr); err != nil || tr.AccessToken == "" {
		b.Fatalf("token: %s", resp)
	}
	f.accessToken = tr.AccessToken
	f.introspectForm = url.Values{"token": {tr.AccessToken}}.Encode()

	// The bare handlers do only the cryptography, with the same key set
	// and claims: Mint signs (claims encoding included), jose.Verifier
	// verifies.
	verifier := jose.Verifier{Keys: srv.App.Keys}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sign", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		tok, _, err := srv.App.Tokens.Mint(token.MintSpec{Subject: f.id, ClientID: f.id, Scope: r.PostForm.Get("scope")})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(token.Response{AccessToken: tok, TokenType: "Bearer", ExpiresIn: 300, Scope: r.PostForm.Get("scope")})
	})
	mux.HandleFunc("POST /verify", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if _, err := verifier.Verify(r.Context(), r.PostForm.Get("token")); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"active":true}`)
	})
	f.bare = httptest.NewServer(mux)
	b.Cleanup(f.bare.Close)
	return f
}

func (f *loopbackFixture) tokenRequest(base string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, base, strings.NewReader(f.tokenForm))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(f.id, f.secret)
	return r
}

func (f *loopbackFixture) introspectRequest(base string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, base, strings.NewReader(f.introspectForm))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(f.id, f.secret)
	return r
}

func mustDo(b *testing.B, r *http.Request) []byte {
	b.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %d %s", r.URL, resp.StatusCode, body)
	}
	return body
}

// BenchmarkLoopbackClientCredentials compares client credentials token
// issuance through Gatehouse over loopback HTTP with a bare net/http
// handler that only signs the same token, at several concurrency levels,
// in the same run. See docs/benchmark-notes.md.
func BenchmarkLoopbackClientCredentials(b *testing.B) {
	f := newLoopbackFixture(b)
	for _, c := range loopbackConcurrency {
		b.Run(fmt.Sprintf("c=%d/gatehouse", c), func(b *testing.B) {
			loadHTTP(b, c, func() *http.Request { return f.tokenRequest(f.srv.URL + "/oauth2/token") })
		})
		b.Run(fmt.Sprintf("c=%d/bare", c), func(b *testing.B) {
			loadHTTP(b, c, func() *http.Request { return f.tokenRequest(f.bare.URL + "/sign") })
		})
	}
}

// BenchmarkLoopbackIntrospection compares token introspection by the
// token's client through Gatehouse with a bare handler that only verifies
// the token's signature.
func BenchmarkLoopbackIntrospection(b *testing.B) {
	f := newLoopbackFixture(b)
	for _, c := range loopbackConcurrency {
		b.Run(fmt.Sprintf("c=%d/gatehouse", c), func(b *testing.B) {
			loadHTTP(b, c, func() *http.Request { return f.introspectRequest(f.srv.URL + "/oauth2/introspect") })
		})
		b.Run(fmt.Sprintf("c=%d/bare", c), func(b *testing.B) {
			loadHTTP(b, c, func() *http.Request { return f.introspectRequest(f.bare.URL + "/verify") })
		})
	}
}
