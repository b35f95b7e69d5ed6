package browser

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/syncbuf"
)

// oauth2ProxyVersion is the oauth2-proxy release docs/oauth.md is tested
// with.
const oauth2ProxyVersion = "v7.15.6"

var (
	proxyOnce sync.Once
	proxyBin  string
	proxyErr  error
)

// oauth2Proxy returns an oauth2-proxy binary: $GATEHOUSE_OAUTH2_PROXY, or
// with GATEHOUSE_E2E_OAUTH2_PROXY=1 one built from the Go module proxy
// into a temporary directory. The build is opt-in because it is large:
// 7 minutes on a busy 2-core machine with an empty cache, too much to add
// to every CI run. Otherwise the test skips, saying so.
func oauth2Proxy(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_OAUTH2_PROXY"); p != "" {
		return p
	}
	if os.Getenv("GATEHOUSE_E2E_OAUTH2_PROXY") != "1" {
		t.Skip("oauth2-proxy interop not run: set GATEHOUSE_OAUTH2_PROXY=/path/to/oauth2-proxy, or GATEHOUSE_E2E_OAUTH2_PROXY=1 to build " + oauth2ProxyVersion + " (minutes)")
	}
	gatehouseBinary(t) // makes buildDir
	proxyOnce.Do(func() {
		start := time.Now()
		cmd := exec.Command("go", "install", "github.com/oauth2-proxy/oauth2-proxy/v7@"+oauth2ProxyVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+buildDir, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			proxyErr = fmt.Errorf("go install oauth2-proxy %s: %w\n%s", oauth2ProxyVersion, err, out)
			return
		}
		proxyBin = filepath.Join(buildDir, "oauth2-proxy")
		t.Logf("built oauth2-proxy %s in %s", oauth2ProxyVersion, time.Since(start).Round(time.Second))
	})
	if proxyErr != nil {
		t.Fatal(proxyErr)
	}
	return proxyBin
}

// TestOAuth2Proxy signs in with Chromium through oauth2-proxy (provider
// oidc, PKCE S256) in front of an app, with the flags docs/oauth.md gives,
// then signs out of both with RP-initiated logout. The user verified the
// address, so oauth2-proxy takes the login with its defaults (no
// --insecure-oidc-allow-unverified-email).
func TestOAuth2Proxy(t *testing.T) {
	chromium(t)
	bin := oauth2Proxy(t)
	g := startGatehouse(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Intranet</title><main><p id="hello">Hello %s</p></main>`,
			strings.NewReplacer("<", "&lt;", "&", "&amp;").Replace(r.Header.Get("X-Forwarded-Email")))
	}))
	t.Cleanup(upstream.Close)

	proxyURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	c := g.registerClient(t, map[string]any{
		"client_name":               "Intranet (oauth2-proxy)",
		"grant_types":               []string{"authorization_code", "refresh_token"},
		"redirect_uris":             []string{proxyURL + "/oauth2/callback"},
		"post_logout_redirect_uris": []string{proxyURL + "/"},
		"scope":                     "openid email profile offline_access",
		"first_party":               true,
	})
	email, password := "proxy@example.com", "correct horse battery proxy"
	g.signup(t, email, password)
	// oauth2-proxy refuses an unverified address by default: verify it
	// with the link signup mailed.
	g.verifyEmail(t, email)

	gh, _ := url.Parse(g.URL)
	var log syncbuf.Buffer
	cmd := exec.Command(bin,
		"--provider=oidc",
		"--oidc-issuer-url="+g.URL,
		"--client-id="+c.ID,
		"--client-secret="+c.Secret,
		"--code-challenge-method=S256",
		"--scope=openid email profile",
		"--redirect-url="+proxyURL+"/oauth2/callback",
		"--email-domain=*",
		"--cookie-secret="+cookieSecret(t),
		"--cookie-secure=false",
		"--http-address="+strings.TrimPrefix(proxyURL, "http://"),
		"--upstream="+upstream.URL+"/",
		"--whitelist-domain="+gh.Host,
	)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("oauth2-proxy log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(proxyURL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("oauth2-proxy exited: %v\n%s", err, log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("oauth2-proxy did not answer /ping:\n%s", log.String())
		}
	}

	b := newTab(t, viewports[0])
	b.navigate(proxyURL + "/")
	b.waitFor(proxyURL, "/", `button[type=submit]`)
	b.click(`button[type=submit]`) // "Sign in with OpenID Connect"
	b.waitFor(g.URL, "/login", "#email")
	b.typeInto("#email", email)
	b.typeInto("#password", password)
	b.click(`button[type=submit]`)
	b.waitFor(proxyURL, "/", "#hello")
	b.notExpired("the login form")
	if got := b.text("#hello"); got != "Hello "+email {
		t.Fatalf("the app behind oauth2-proxy says %q", got)
	}

	// Sign out of oauth2-proxy and, through the end-session endpoint, of
	// Gatehouse.
	logout := g.URL + "/oauth2/logout?" + url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {proxyURL + "/"}}.Encode()
	b.navigate(proxyURL + "/oauth2/sign_out?rd=" + url.QueryEscape(logout))
	b.waitFor(g.URL, "/oauth2/logout", `button[type=submit]`)
	b.click(`button[type=submit]`)
	b.waitFor(proxyURL, "/", `button[type=submit]`)
	b.click(`button[type=submit]`)
	b.waitFor(g.URL, "/login", "#email") // the Gatehouse session is gone too
}

// cookieSecret is a cookie secret as docs/oauth.md makes it with
// openssl: 32 random bytes in padded base64url.
func cookieSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.URLEncoding.EncodeToString(b)
}
