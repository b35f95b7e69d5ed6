package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
	gojwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/verifier"
)

// tokenLogin logs u in with mode "token" and returns the access token and
// the grant's session id.
func tokenLogin(t *testing.T, srv *apptest.Server, u apptest.User) (token, sid string) {
	t.Helper()
	var res struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(t, http.StatusOK).Decode(t, &res)
	if res.AccessToken == "" || res.TokenType != "Bearer" {
		t.Fatalf("token login answered %+v", res)
	}
	c := srv.NewClient()
	c.Header.Set("Authorization", "Bearer "+res.AccessToken)
	var me struct {
		Auth struct {
			Method    string `json:"method"`
			SessionID string `json:"session_id"`
		} `json:"auth"`
	}
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
	if me.Auth.Method != "jwt" || me.Auth.SessionID == "" {
		t.Fatalf("/v1/me auth = %+v", me.Auth)
	}
	return res.AccessToken, me.Auth.SessionID
}

func newVerifier(t *testing.T, srv *apptest.Server, edit func(*verifier.Config)) *verifier.Verifier {
	t.Helper()
	cfg := verifier.Config{Issuer: srv.URL, Audience: srv.URL, Now: srv.Clock.Now}
	if edit != nil {
		edit(&cfg)
	}
	v, err := verifier.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("verifier.New: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// waitRevoked calls Verify every few milliseconds until it fails with
// ErrRevoked, and fails the test if that takes longer than bound.
func waitRevoked(t *testing.T, bound time.Duration, check func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := check()
		if errors.Is(err, verifier.ErrRevoked) {
			return time.Since(start)
		}
		if err != nil {
			t.Fatalf("before the revocation took effect: unexpected error %v", err)
		}
		if time.Since(start) > bound {
			t.Fatalf("revocation not seen within the documented bound %s", bound)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestRevokedSessionWithinBound revokes a token grant at the server and
// measures when a subscribed verifier refuses its token, in each mode,
// against the bound docs/verifier.md states: stream mode within
// PollInterval (the push itself takes milliseconds), poll mode within
// PollInterval plus one request.
func TestRevokedSessionWithinBound(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	tests := []struct {
		name  string
		mode  verifier.RevocationMode
		poll  time.Duration
		bound time.Duration
	}{
		{"stream", verifier.RevocationStream, verifier.DefaultPollInterval, verifier.DefaultPollInterval},
		{"poll", verifier.RevocationPoll, 200 * time.Millisecond, 200*time.Millisecond + 500*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, srv, func(c *verifier.Config) {
				c.Revocations = verifier.RevocationConfig{Mode: tt.mode, PollInterval: tt.poll}
			})
			u := srv.NewUser(t)
			tok, sid := tokenLogin(t, srv, u)
			other, _ := tokenLogin(t, srv, u)
			p, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify before revocation: %v", err)
			}
			if p.Subject != u.ID || p.SessionID != sid || p.Method != verifier.MethodJWT {
				t.Fatalf("principal %+v, want sub %s sid %s", p, u.ID, sid)
			}
			c := srv.NewClient()
			c.Header.Set("Authorization", "Bearer "+tok)
			c.Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
			took := waitRevoked(t, tt.bound, func() error {
				_, err := v.Verify(context.Background(), tok)
				return err
			})
			t.Logf("%s: token of a revoked grant refused %s after the logout (bound %s)", tt.name, took.Round(time.Microsecond), tt.bound)
			if _, err := v.Verify(context.Background(), other); err != nil {
				t.Errorf("the user's other grant: %v", err)
			}
		})
	}
}

// TestDisabledUserWithinBound disables a user: every token of theirs
// issued until then is refused (a "user" event), and the server's own
// /v1/me agrees.
func TestDisabledUserWithinBound(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	v := newVerifier(t, srv, nil)
	u := srv.NewUser(t)
	tok, _ := tokenLogin(t, srv, u)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"disabled": true}).WantStatus(t, http.StatusOK)
	took := waitRevoked(t, verifier.DefaultPollInterval, func() error {
		_, err := v.Verify(context.Background(), tok)
		return err
	})
	t.Logf("disabled user's token refused after %s", took.Round(time.Microsecond))
}

// TestKeyRotationKeepsOldTokensValid rotates the signing key of servers
// signing with each algorithm: the new key is published first and signs
// only after --key-publish-delay; then tokens of the old key and of the
// new one both verify.
func TestKeyRotationKeepsOldTokensValid(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: []string{"--signing-algorithm", alg, "--key-publish-delay", "1m"}})
			v := newVerifier(t, srv, nil)
			u := srv.NewUser(t)
			old, _ := tokenLogin(t, srv, u)
			if _, err := v.Verify(context.Background(), old); err != nil {
				t.Fatalf("token before rotation: %v", err)
			}
			var rot struct {
				Kid string `json:"kid"`
			}
			srv.Admin().Do(t, http.MethodPost, "/admin/v1/keys/rotate", nil).WantStatus(t, http.StatusOK).Decode(t, &rot)
			srv.Clock.Advance(time.Second)
			if early, _ := tokenLogin(t, srv, u); headerKid(t, early) != headerKid(t, old) {
				t.Fatalf("a token signed right after the rotation used kid %q, want the old %q until the publish delay has passed", headerKid(t, early), headerKid(t, old))
			}
			srv.Clock.Advance(time.Minute)
			fresh, _ := tokenLogin(t, srv, u)
			if kid := headerKid(t, fresh); kid != rot.Kid || kid == headerKid(t, old) {
				t.Fatalf("new token signed with kid %q, want the rotated %q", kid, rot.Kid)
			}
			for name, tok := range map[string]string{"new key": fresh, "old key": old} {
				p, err := v.Verify(context.Background(), tok)
				if err != nil {
					t.Errorf("%s: %v", name, err)
				} else if p.Subject != u.ID {
					t.Errorf("%s: subject %q", name, p.Subject)
				}
			}
		})
	}
}

func headerKid(t *testing.T, tok string) string {
	t.Helper()
	parsed, err := gojwt.ParseSigned(tok, []gojose.SignatureAlgorithm{gojose.EdDSA, gojose.ES256, gojose.RS256})
	if err != nil {
		t.Fatalf("go-jose: parse: %v", err)
	}
	return parsed.Headers[0].KeyID
}

// TestThirdPartyLibraryVerifiesGatehouseTokens checks interoperability:
// go-jose, with nothing but the served JWKS, verifies a Gatehouse access
// token and reads the same claims the verifier does.
func TestThirdPartyLibraryVerifiesGatehouseTokens(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	tok, sid := tokenLogin(t, srv, u)

	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	srv.NewClient().Do(t, http.MethodGet, "/.well-known/openid-configuration", nil).WantStatus(t, http.StatusOK).Decode(t, &disc)
	res, err := srv.HTTP.Client().Get(disc.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set gojose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatalf("go-jose cannot read the JWKS: %v", err)
	}

	parsed, err := gojwt.ParseSigned(tok, []gojose.SignatureAlgorithm{gojose.EdDSA})
	if err != nil {
		t.Fatalf("go-jose: parse: %v", err)
	}
	h := parsed.Headers[0]
	if h.ExtraHeaders["typ"] != "at+jwt" {
		t.Errorf("typ %v, want at+jwt", h.ExtraHeaders["typ"])
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("JWKS holds %d keys for kid %q", len(keys), h.KeyID)
	}
	var std gojwt.Claims
	var extra struct {
		SID string `json:"sid"`
	}
	if err := parsed.Claims(keys[0].Key, &std, &extra); err != nil {
		t.Fatalf("go-jose: verify: %v", err)
	}
	if err := std.ValidateWithLeeway(gojwt.Expected{Issuer: srv.URL, AnyAudience: gojwt.Audience{srv.URL}, Time: srv.Clock.Now()}, 0); err != nil {
		t.Errorf("go-jose: validate: %v", err)
	}
	if std.Subject != u.ID || extra.SID != sid {
		t.Errorf("go-jose read sub %q sid %q, want %q %q", std.Subject, extra.SID, u.ID, sid)
	}
	// A tampered token fails there too.
	bad := tok[:len(tok)-4] + strings.Repeat("A", 4)
	if p, err := gojwt.ParseSigned(bad, []gojose.SignatureAlgorithm{gojose.EdDSA}); err == nil {
		if p.Claims(keys[0].Key, &std) == nil {
			t.Error("go-jose accepted a tampered token")
		}
	}
}

// TestSessionCookieThroughIntrospection checks the cookie path against
// the real introspection endpoint, then a logout reaching the cache
// through the feed.
func TestSessionCookieThroughIntrospection(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	v := newVerifier(t, srv, func(c *verifier.Config) {
		c.SessionCookie = verifier.SessionCookieConfig{IntrospectionCredential: srv.AdminToken}
	})
	u, browser := srv.NewSession(t)
	p, err := v.VerifySession(context.Background(), browser.Cookie)
	if err != nil {
		t.Fatalf("VerifySession: %v", err)
	}
	if p.Method != verifier.MethodSession || p.Subject != u.ID || p.SessionID != browser.SessionID {
		t.Fatalf("principal %+v, want sub %s sid %s", p, u.ID, browser.SessionID)
	}
	if _, err := v.VerifySession(context.Background(), "not-a-session"); !errors.Is(err, verifier.ErrSessionInactive) {
		t.Errorf("unknown cookie: %v", err)
	}
	cookie := browser.Cookie
	browser.Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
	took := waitRevoked(t, verifier.DefaultPollInterval, func() error {
		_, err := v.VerifySession(context.Background(), cookie)
		if errors.Is(err, verifier.ErrSessionInactive) {
			return verifier.ErrRevoked // refused either way
		}
		return err
	})
	t.Logf("logged-out cookie refused after %s (cache TTL %s)", took.Round(time.Microsecond), verifier.DefaultCacheTTL)

	// The middleware serves both kinds of client.
	tok, _ := tokenLogin(t, srv, u)
	_, browser2 := u, srv.Login(t, u.Email, u.Password)
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := verifier.FromContext(r.Context())
		w.Write([]byte(p.Method))
	}))
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		want string
	}{
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }, "jwt"},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: srv.CookieName(), Value: browser2.Cookie}) }, "session"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/hello", nil)
		tc.set(r)
		w := &recorder{header: http.Header{}}
		h.ServeHTTP(w, r)
		if w.status != 0 && w.status != 200 || w.body.String() != tc.want {
			t.Errorf("%s: status %d body %q", tc.name, w.status, w.body.String())
		}
	}
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) { r.status = s }

// countingTransport counts the requests to each path.
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// TestSessionCookieWithResourceServerClient: the verifier's cookie mode
// works with a resource-server client (scope gatehouse:introspect, no
// admin power): it gets a client credentials token, keeps it while it is
// fresh, and gets a new one before it expires.
func TestSessionCookieWithResourceServerClient(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	var rs struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/clients", map[string]any{"client_name": "api", "grant_types": []string{"client_credentials"}, "scope": "gatehouse:introspect"}).
		WantStatus(t, http.StatusCreated).Decode(t, &rs)
	counter := &countingTransport{n: map[string]int{}}
	v := newVerifier(t, srv, func(c *verifier.Config) {
		c.HTTPClient = &http.Client{Transport: counter}
		c.SessionCookie = verifier.SessionCookieConfig{ClientID: rs.ClientID, ClientSecret: rs.ClientSecret}
	})
	check := func() {
		t.Helper()
		u, browser := srv.NewSession(t)
		p, err := v.VerifySession(context.Background(), browser.Cookie)
		if err != nil {
			t.Fatalf("VerifySession: %v", err)
		}
		if p.Subject != u.ID || p.SessionID != browser.SessionID {
			t.Fatalf("principal %+v, want sub %s sid %s", p, u.ID, browser.SessionID)
		}
	}
	check()
	check()
	if n := counter.count("/oauth2/token"); n != 1 {
		t.Errorf("%d token requests for two checks, want 1 (the token is kept)", n)
	}
	// The access token lives 5 minutes: renewed before it expires.
	srv.Clock.Advance(4 * time.Minute)
	check()
	if n := counter.count("/oauth2/token"); n != 2 {
		t.Errorf("%d token requests after 4 minutes, want 2 (renewed before expiry)", n)
	}
	srv.Clock.Advance(10 * time.Minute)
	check()
	if _, err := v.VerifySession(context.Background(), "not-a-session"); !errors.Is(err, verifier.ErrSessionInactive) {
		t.Errorf("unknown cookie: %v", err)
	}
	// The kept token revoked at the issuer (as deleting and re-creating
	// the client's tokens would): the 401 makes the verifier get a new
	// one and ask again.
	before := counter.count("/oauth2/token")
	if err := srv.App.Revocations.RevokeUser(t.Context(), rs.ClientID); err != nil {
		t.Fatal(err)
	}
	srv.Clock.Advance(2 * time.Second)
	check()
	if n := counter.count("/oauth2/token"); n != before+1 {
		t.Errorf("%d token requests after the kept token was revoked, want %d", n, before+1)
	}

	// A client without gatehouse:introspect gets no token for it.
	var plain struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/clients", map[string]any{"grant_types": []string{"client_credentials"}, "scope": "read"}).
		WantStatus(t, http.StatusCreated).Decode(t, &plain)
	v2 := newVerifier(t, srv, func(c *verifier.Config) {
		c.SessionCookie = verifier.SessionCookieConfig{ClientID: plain.ClientID, ClientSecret: plain.ClientSecret}
	})
	_, browser := srv.NewSession(t)
	if _, err := v2.VerifySession(context.Background(), browser.Cookie); !errors.Is(err, verifier.ErrUnavailable) {
		t.Errorf("a client without gatehouse:introspect: %v, want ErrUnavailable", err)
	} else if strings.Contains(err.Error(), plain.ClientSecret) {
		t.Errorf("the error shows the client secret: %v", err)
	}
}
