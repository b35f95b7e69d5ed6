package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	golangjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/httprc/v3/errsink"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/password"
)

// pipeNet is an in-memory network of net.Pipe connections: a listener
// for the server and a dialer for the clients. Inside a testing/synctest
// bubble its blocking is durable, so the bubble's clock can jump the
// twenty minutes of a key rollover while real HTTP requests run on it.
type pipeNet struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.closed:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error {
	n.once.Do(func() { close(n.closed) })
	return nil
}

func (n *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (n *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case n.conns <- server:
		return client, nil
	case <-n.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "gatehouse.test:80" }

// TestKeyRolloverWithThirdPartyCaches runs a real Gatehouse server and
// two popular verifiers with their default JWKS caches:
// golang-jwt/jwt with MicahParks/keyfunc (refetch on an unknown kid, at
// most once per 5 minutes; hourly refresh) and lestrrat-go/jwx's jwk.Cache
// (refresh every 15 minutes, whatever max-age says). The server's key is
// rotated twice within five minutes through the admin API; every token
// signed after each rotation verifies in both, because a rotated key is
// published for the publish delay (20 minutes) before it signs. An
// emergency rotation (immediate=true) shows what happens otherwise: both
// refuse the new key's tokens until their caches refresh.
//
// Time is testing/synctest's: the server, its SQLite store and the
// verifiers' caches run in one bubble, over an in-memory network, so the
// minutes pass at once.
func TestKeyRolloverWithThirdPartyCaches(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const issuer = "http://gatehouse.test"
		cfg, err := config.Parse([]string{
			"--data-dir", dir, "--addr", "gatehouse.test:80", "--issuer", issuer,
			"--revocation-poll-interval", "1m", "--log-level", "error", "--metrics-addr", "off",
		}, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(ctx, cfg, app.Options{PasswordParams: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ln := newPipeNet()
		served := make(chan error, 1)
		go func() { served <- a.Serve(ctx, ln) }()
		tr := &http.Transport{DialContext: ln.dial}
		hc := &http.Client{Transport: tr}
		defer func() {
			tr.CloseIdleConnections()
			cancel()
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
			ln.Close()
		}()
		adminToken, err := os.ReadFile(a.AdminTokenPath)
		if err != nil {
			t.Fatal(err)
		}
		do := func(method, path, auth, body string, out any) {
			t.Helper()
			req, err := http.NewRequestWithContext(ctx, method, issuer+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", "Bearer "+auth)
			}
			res, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode >= 300 {
				t.Fatalf("%s %s: status %d", method, path, res.StatusCode)
			}
			if out != nil {
				if err := json.NewDecoder(res.Body).Decode(out); err != nil {
					t.Fatal(err)
				}
			}
		}
		const email, pw = "rollover@example.com", "correct horse battery staple"
		do(http.MethodPost, "/v1/signup", "", fmt.Sprintf(`{"email":%q,"password":%q}`, email, pw), nil)
		login := func() string {
			t.Helper()
			var p struct {
				AccessToken string `json:"access_token"`
			}
			do(http.MethodPost, "/v1/login", "", fmt.Sprintf(`{"email":%q,"password":%q,"mode":"token"}`, email, pw), &p)
			return p.AccessToken
		}
		type rotation struct {
			KID       string    `json:"kid"`
			SignsFrom time.Time `json:"signs_from"`
		}
		rotate := func(query string) rotation {
			t.Helper()
			var r rotation
			do(http.MethodPost, "/admin/v1/keys/rotate"+query, strings.TrimSpace(string(adminToken)), "", &r)
			return r
		}

		// The verifiers, with their default caches; only the HTTP client
		// is theirs to be given, to reach the in-memory network.
		jwksURL := issuer + "/.well-known/jwks.json"
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, keyfunc.Override{Client: hc})
		if err != nil {
			t.Fatal(err)
		}
		cache, err := jwk.NewCache(ctx, httprc.NewClient(httprc.WithHTTPClient(hc),
			httprc.WithErrorSink(errsink.NewFunc(func(_ context.Context, err error) { t.Logf("jwx cache: %v", err) }))))
		if err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, time.Minute)
		defer rcancel()
		if err := cache.Register(rctx, jwksURL, jwk.WithHTTPClient(hc)); err != nil {
			t.Fatal(err)
		}
		cached, err := cache.CachedSet(jwksURL)
		if err != nil {
			t.Fatal(err)
		}
		verifiers := map[string]func(string) error{
			"golang-jwt + keyfunc": func(tok string) error {
				_, err := golangjwt.Parse(tok, kf.Keyfunc, golangjwt.WithIssuer(issuer), golangjwt.WithExpirationRequired())
				return err
			},
			"jwx jwk.Cache": func(tok string) error {
				_, err := jwxjwt.Parse([]byte(tok), jwxjwt.WithKeySet(cached), jwxjwt.WithIssuer(issuer), jwxjwt.WithValidate(true))
				return err
			},
		}
		kidOf := func(tok string) string {
			tk, _, err := golangjwt.NewParser().ParseUnverified(tok, golangjwt.MapClaims{})
			if err != nil {
				t.Fatal(err)
			}
			kid, _ := tk.Header["kid"].(string)
			return kid
		}
		verifyAll := func(step, tok string) {
			t.Helper()
			for name, verify := range verifiers {
				if err := verify(tok); err != nil {
					t.Errorf("%s: %s refused a token of key %s: %v", step, name, kidOf(tok), err)
				}
			}
		}
		sleepUntil := func(at time.Time) { time.Sleep(time.Until(at)) }

		verifyAll("before any rotation", login())
		r1 := rotate("")
		time.Sleep(time.Minute)
		r2 := rotate("") // a second rotation within five minutes
		if !r2.SignsFrom.After(r1.SignsFrom) {
			t.Fatalf("rotations %+v then %+v: the second signs first", r1, r2)
		}
		sleepUntil(r1.SignsFrom.Add(time.Second))
		tok := login()
		if kidOf(tok) != r1.KID {
			t.Fatalf("after the first rotation's publish delay tokens are signed by %s, want %s", kidOf(tok), r1.KID)
		}
		verifyAll("first rotation", tok)
		sleepUntil(r2.SignsFrom.Add(time.Second))
		tok = login()
		if kidOf(tok) != r2.KID {
			t.Fatalf("after the second rotation's publish delay tokens are signed by %s, want %s", kidOf(tok), r2.KID)
		}
		verifyAll("second rotation", tok)

		// An emergency rotation signs at once, and cached key sets do not
		// have its key yet: the reason the publish delay exists.
		r3 := rotate("?immediate=true")
		tok = login()
		if kidOf(tok) != r3.KID {
			t.Fatalf("after an immediate rotation tokens are signed by %s, want %s", kidOf(tok), r3.KID)
		}
		for name, verify := range verifiers {
			if err := verify(tok); err == nil {
				t.Logf("%s accepted a token of an immediately rotated key", name)
			} else if !errors.Is(err, context.Canceled) {
				t.Logf("emergency rotation: %s refuses %s until its cache refreshes, as documented: %v", name, r3.KID, err)
			}
		}
		sleepUntil(time.Now().Add(16 * time.Minute))
		verifyAll("emergency rotation, once the caches have refreshed", login())
	})
}
