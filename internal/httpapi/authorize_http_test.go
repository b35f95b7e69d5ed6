package httpapi_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// rpCallback is the redirect URI of the test relying parties. Nothing
// listens there: the browser stops at the redirect and hands its query to
// the test, as a real RP's callback handler would receive it.
const rpCallback = "https://rp.example.com/callback"

// browser is a user agent with a cookie jar that follows redirects on the
// server and stops at the first one that leaves it.
type browser struct {
	t   *testing.T
	srv *apptest.Server
	c   *http.Client
}

// useSession puts secret in b's cookie jar as the server's session
// cookie for the site at base, as if b had signed in there.
func (b *browser) useSession(base, secret string) {
	b.t.Helper()
	b.c.Jar.SetCookies(mustURL(b.t, base), []*http.Cookie{{Name: b.srv.CookieName(), Value: secret, Path: "/"}})
}

func newBrowser(t *testing.T, srv *apptest.Server) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	return &browser{t: t, srv: srv, c: &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != host {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// page is a fetched page: its final URL, status and body.
type page struct {
	url    *url.URL
	status int
	body   string
	// location is set when the browser stopped at a redirect off the
	// server.
	location *url.URL
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{url: resp.Request.URL, status: resp.StatusCode, body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
		p.location, _ = url.Parse(loc)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		csp := resp.Header.Get("Content-Security-Policy")
		// Only a page that offers passkeys runs a script: passkey.js, from
		// this origin.
		script := strings.Contains(csp, "script-src") &&
			!(strings.Contains(csp, "script-src 'self';") && strings.Contains(string(body), `<script src="/static/passkey.js" defer></script>`))
		if !strings.Contains(csp, "frame-ancestors 'none'") || script || strings.Contains(csp, "unsafe-inline") {
			b.t.Errorf("HTML page %s has CSP %q", p.url.Path, csp)
		}
	}
	return p
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

var (
	formRE  = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)">(.*?)</form>`)
	inputRE = regexp.MustCompile(`<input([^>]*)>`)
	attrRE  = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// submit fills the page's form: its hidden inputs, then fields, and
// posts it as the browser would, pressing the submit button named by
// button ("name=value"; empty for a plain button).
func (b *browser) submit(p page, fields map[string]string, button string) page {
	b.t.Helper()
	m := formRE.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no form on %s (status %d):\n%s", p.url, p.status, p.body)
	}
	v := hiddenFields(m[2])
	for k, val := range fields {
		if !strings.Contains(m[2], `name="`+k+`"`) {
			b.t.Fatalf("form on %s has no field %q", p.url.Path, k)
		}
		v.Set(k, val)
	}
	if name, value, ok := strings.Cut(button, "="); ok {
		v.Set(name, value)
	}
	action, _ := p.url.Parse(html.UnescapeString(m[1]))
	req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(v.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.srv.URL)
	return b.do(req)
}

// hiddenFields returns the hidden inputs of a form's HTML.
func hiddenFields(form string) url.Values {
	v := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(form, -1) {
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(in[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if attrs["type"] == "hidden" {
			v.Set(attrs["name"], attrs["value"])
		}
	}
	return v
}

// login fills the login page.
func (b *browser) login(p page, u apptest.User) page {
	b.t.Helper()
	if p.url.Path != "/login" || p.status != http.StatusOK {
		b.t.Fatalf("expected the login page, got %s (%d)", p.url, p.status)
	}
	return b.submit(p, map[string]string{"email": u.Email, "password": u.Password}, "")
}

// callback returns the query the browser brought back to the RP.
func callback(t *testing.T, p page) url.Values {
	t.Helper()
	if p.location == nil || !strings.HasPrefix(p.location.String(), rpCallback) {
		t.Fatalf("expected a redirect to %s, got %s (status %d):\n%s", rpCallback, p.location, p.status, p.body)
	}
	return p.location.Query()
}

// rp is a relying party: a registered client with its x/oauth2 config
// and go-oidc provider.
type rp struct {
	client   registeredClient
	config   *oauth2.Config
	provider *oidc.Provider
	ctx      context.Context
}

// newRP registers a client with body (redirect URI and grant types
// filled in if absent) and discovers the server with go-oidc.
func newRP(t *testing.T, srv *apptest.Server, body map[string]any) rp {
	t.Helper()
	if body["redirect_uris"] == nil {
		body["redirect_uris"] = []string{rpCallback}
	}
	if body["grant_types"] == nil {
		body["grant_types"] = []string{"authorization_code", "refresh_token"}
	}
	c := newClient(t, srv, body)
	ctx := oidc.ClientContext(t.Context(), srv.HTTP.Client())
	provider, err := oidc.NewProvider(ctx, srv.URL)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	cfg := &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: rpCallback,
		Endpoint: provider.Endpoint(), Scopes: strings.Fields(c.Scope),
	}
	// The registered method, not x/oauth2's auto-detection, which retries
	// a failed request with the other method and so turns every error
	// into invalid_client.
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if c.ClientSecret == "" {
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return rp{client: c, config: cfg, provider: provider, ctx: context.WithValue(ctx, oauth2.HTTPClient, srv.HTTP.Client())}
}

// authorize runs the browser through the authorization request to the
// callback, logging in and consenting as needed.
func (r rp) authorize(t *testing.T, b *browser, u apptest.User, opts ...oauth2.AuthCodeOption) url.Values {
	t.Helper()
	p := b.get(r.config.AuthCodeURL("state-123", opts...))
	if p.url.Path == "/login" && p.location == nil {
		p = b.login(p, u)
	}
	if p.location == nil && strings.Contains(p.body, `action="/oauth2/authorize/consent"`) {
		p = b.submit(p, nil, "decision=allow")
	}
	return callback(t, p)
}

func TestAuthorizationCodeFlowWithGoOIDCAndOAuth2(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"claims": map[string]any{"name": "Ada Lovelace"}}).WantStatus(t, http.StatusOK)
	r := newRP(t, srv, map[string]any{"client_name": "Third-Party RP", "scope": "openid profile email offline_access"})

	verifier, nonce := oauth2.GenerateVerifier(), "nonce-"+oauth2.GenerateVerifier()[:16]
	b := newBrowser(t, srv)
	// The first page is the login form, then the consent page, through
	// their HTML forms.
	first := b.get(r.config.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
	if first.url.Path != "/login" {
		t.Fatalf("without a session the authorization request went to %s, want /login", first.url)
	}
	consent := b.login(first, u)
	if !strings.Contains(consent.body, "Third-Party RP") || !strings.Contains(consent.body, "See your email address") {
		t.Fatalf("consent page does not name the client and its scopes:\n%s", consent.body)
	}
	q := callback(t, b.submit(consent, nil, "decision=allow"))
	if q.Get("state") != "state-123" || q.Get("iss") != srv.URL || q.Get("code") == "" {
		t.Fatalf("callback query = %v", q)
	}

	tok, err := r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("x/oauth2 Exchange: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Errorf("offline_access gave no refresh token")
	}
	rawID, _ := tok.Extra("id_token").(string)
	idv := r.provider.Verifier(&oidc.Config{ClientID: r.client.ClientID, Now: srv.Clock.Now})
	id, err := idv.Verify(r.ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	if id.Nonce != nonce || id.Subject != u.ID {
		t.Errorf("ID token nonce %q sub %q, want %q %q", id.Nonce, id.Subject, nonce, u.ID)
	}
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	hdr, claims := jwtParts(t, rawID)
	if hdr["alg"] != "RS256" || hdr["typ"] != "JWT" {
		t.Errorf("ID token header = %v, want RS256 JWT", hdr)
	}
	for _, c := range []string{"auth_time", "acr", "amr", "sid", "at_hash", "azp"} {
		if claims[c] == nil {
			t.Errorf("ID token lacks %s: %v", c, claims)
		}
	}

	info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("go-oidc UserInfo: %v", err)
	}
	var profile struct {
		Name string `json:"name"`
	}
	if err := info.Claims(&profile); err != nil {
		t.Fatal(err)
	}
	if info.Subject != u.ID || info.Email != u.Email || info.EmailVerified || profile.Name != "Ada Lovelace" {
		t.Errorf("userinfo = %+v name %q", info, profile.Name)
	}

	// Refresh with x/oauth2: the refreshed token keeps scope and
	// audience.
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	fresh, err := r.config.TokenSource(r.ctx, &old).Token()
	if err != nil {
		t.Fatalf("x/oauth2 refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh did not rotate")
	}
	_, fc := jwtParts(t, fresh.AccessToken)
	if fc["scope"] != "openid profile email offline_access" || fc["client_id"] != r.client.ClientID {
		t.Errorf("refreshed token claims = %v", fc)
	}

	// Consent is remembered: a second authorization goes straight back.
	q2 := callback(t, b.get(r.config.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier))))
	if q2.Get("code") == "" {
		t.Fatalf("second authorization = %v", q2)
	}

	// Reusing the first code fails and revokes what it gave.
	_, err = r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	wantOAuthError(t, err, "invalid_grant")
	if _, err := r.config.TokenSource(r.ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil {
		t.Errorf("refresh token of a reused code's grant still works")
	}
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Errorf("access token of a reused code's grant still works at userinfo")
	}
}

// wantOAuthError fails unless err is an RFC 6749 error answer with code.
func wantOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != code {
		t.Fatalf("error = %v, want OAuth error %s", err, code)
	}
}

func TestAuthorizationCodePublicClientPKCE(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	spa := newRP(t, srv, map[string]any{"client_name": "SPA", "token_endpoint_auth_method": "none", "first_party": true, "scope": "openid"})
	b := newBrowser(t, srv)
	verifier := oauth2.GenerateVerifier()
	// First party: no consent page.
	q := spa.authorize(t, b, u, oauth2.S256ChallengeOption(verifier))
	tok, err := spa.config.Exchange(spa.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.RefreshToken != "" {
		t.Errorf("a refresh token without offline_access")
	}
	if _, err := spa.provider.Verifier(&oidc.Config{ClientID: spa.client.ClientID, Now: srv.Clock.Now}).Verify(spa.ctx, tok.Extra("id_token").(string)); err != nil {
		t.Errorf("ID token: %v", err)
	}
	// The session carries over: /v1/me accepts the token (its audience is
	// the issuer).
	c := srv.NewClient()
	c.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
}

func TestAuthorizationCodeNegative(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	conf := newRP(t, srv, map[string]any{"client_name": "Conf", "first_party": true, "scope": "openid email"})
	other := newRP(t, srv, map[string]any{"client_name": "Other", "first_party": true, "scope": "openid"})
	pub := newRP(t, srv, map[string]any{"client_name": "Pub", "first_party": true, "token_endpoint_auth_method": "none", "scope": "openid"})
	b := newBrowser(t, srv)
	verifier := oauth2.GenerateVerifier()
	code := func(r rp) string {
		return r.authorize(t, b, u, oauth2.S256ChallengeOption(verifier)).Get("code")
	}

	t.Run("MissingVerifier", func(t *testing.T) {
		_, err := conf.config.Exchange(conf.ctx, code(conf))
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("WrongVerifier", func(t *testing.T) {
		_, err := conf.config.Exchange(conf.ctx, code(conf), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("ExpiredCode", func(t *testing.T) {
		c := code(conf)
		srv.Clock.Advance(61 * time.Second)
		_, err := conf.config.Exchange(conf.ctx, c, oauth2.VerifierOption(verifier))
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("RedirectURIMismatchAtToken", func(t *testing.T) {
		c := code(conf)
		cfg := *conf.config
		cfg.RedirectURL = rpCallback + "/other"
		_, err := cfg.Exchange(conf.ctx, c, oauth2.VerifierOption(verifier))
		wantOAuthError(t, err, "invalid_grant")
		// The code was not burnt by the mismatch.
		if _, err := conf.config.Exchange(conf.ctx, c, oauth2.VerifierOption(verifier)); err != nil {
			t.Errorf("the right redemption after a mismatch: %v", err)
		}
	})
	t.Run("AnotherClientsCode", func(t *testing.T) {
		_, err := other.config.Exchange(other.ctx, code(conf), oauth2.VerifierOption(verifier))
		wantOAuthError(t, err, "invalid_grant")
	})
	t.Run("PublicClientWithoutPKCE", func(t *testing.T) {
		q := callback(t, b.get(pub.config.AuthCodeURL("st")))
		if q.Get("error") != "invalid_request" || q.Get("state") != "st" || q.Get("code") != "" {
			t.Errorf("callback = %v, want invalid_request with state", q)
		}
	})
	t.Run("PlainPKCERefused", func(t *testing.T) {
		q := callback(t, b.get(pub.config.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain"))))
		if q.Get("error") != "invalid_request" {
			t.Errorf("callback = %v, want invalid_request", q)
		}
	})
	t.Run("ScopeEscalation", func(t *testing.T) {
		q := callback(t, b.get(other.config.AuthCodeURL("st", oauth2.SetAuthURLParam("scope", "openid email"))))
		if q.Get("error") != "invalid_scope" {
			t.Errorf("callback = %v, want invalid_scope", q)
		}
	})
	t.Run("UnregisteredRedirectURINeverRedirects", func(t *testing.T) {
		for _, ru := range []string{"https://evil.example.com/cb", rpCallback + "x", ""} {
			cfg := *conf.config
			cfg.RedirectURL = ru
			p := b.get(cfg.AuthCodeURL("st"))
			if p.location != nil || p.status != http.StatusBadRequest || !strings.Contains(p.body, "redirect_uri") {
				t.Errorf("redirect_uri %q: status %d location %v", ru, p.status, p.location)
			}
		}
	})
	t.Run("PromptNoneWithoutSession", func(t *testing.T) {
		q := callback(t, newBrowser(t, srv).get(conf.config.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "none"))))
		if q.Get("error") != "login_required" || q.Get("state") != "st" {
			t.Errorf("callback = %v, want login_required", q)
		}
	})
	t.Run("ClientCredentialsRefusesOpenID", func(t *testing.T) {
		svc := newClient(t, srv, map[string]any{"grant_types": []string{"client_credentials"}, "scope": "openid reports:read"})
		form(t, basicAuth(srv, svc.ClientID, svc.ClientSecret), "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}).
			WantStatus(t, http.StatusBadRequest)
		p := clientToken(t, srv, svc, nil)
		if p.Scope != "reports:read" {
			t.Errorf("default client credentials scope = %q, want reports:read", p.Scope)
		}
	})
	t.Run("IntrospectionByTheWrongClient", func(t *testing.T) {
		tok, err := conf.config.Exchange(conf.ctx, code(conf), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		svc := serviceClient(t, srv, "x")
		var in map[string]any
		form(t, basicAuth(srv, svc.ClientID, svc.ClientSecret), "/oauth2/introspect", url.Values{"token": {tok.AccessToken}}).WantStatus(t, http.StatusOK).Decode(t, &in)
		if in["active"] != false || len(in) != 1 {
			t.Errorf("another client's introspection = %v", in)
		}
		form(t, basicAuth(srv, conf.client.ClientID, conf.client.ClientSecret), "/oauth2/introspect", url.Values{"token": {tok.AccessToken}}).WantStatus(t, http.StatusOK).Decode(t, &in)
		if in["active"] != true {
			t.Errorf("own introspection = %v", in)
		}
	})
}

func TestLoginPage(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	t.Run("OpenRedirectRefused", func(t *testing.T) {
		for _, rt := range []string{"//evil.example.com/x", "https://evil.example.com", "/\\evil.example.com", "javascript:alert(1)"} {
			b := newBrowser(t, srv)
			p := b.login(b.get(srv.URL+"/login?return_to="+url.QueryEscape(rt)), u)
			if p.location != nil || p.url.Path != "/login" || p.status != http.StatusOK || !strings.Contains(p.body, "You are signed in") {
				t.Errorf("return_to %q: ended at %s status %d location %v", rt, p.url, p.status, p.location)
			}
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		b := newBrowser(t, srv)
		p := b.submit(b.get(srv.URL+"/login"), map[string]string{"email": u.Email, "password": "wrong"}, "")
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Wrong email or password") {
			t.Errorf("wrong password: %d", p.status)
		}
	})
	t.Run("CSRFTokenRequired", func(t *testing.T) {
		b := newBrowser(t, srv)
		p := b.get(srv.URL + "/login")
		p.body = strings.Replace(p.body, `name="csrf_token" value="`, `name="csrf_token" value="x`, 1)
		if got := b.login(p, u); got.status != http.StatusForbidden {
			t.Errorf("forged CSRF token: status %d", got.status)
		}
	})
	t.Run("SessionFixation", func(t *testing.T) {
		b := newBrowser(t, srv)
		b.login(b.get(srv.URL+"/login"), u)
		before := b.c.Jar.Cookies(mustURL(t, srv.URL))
		b.login(b.get(srv.URL+"/login"), u)
		after := b.c.Jar.Cookies(mustURL(t, srv.URL))
		if cookieValue(before, srv.CookieName()) == "" || cookieValue(before, srv.CookieName()) == cookieValue(after, srv.CookieName()) {
			t.Errorf("a second login kept the session cookie")
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func cookieValue(cs []*http.Cookie, name string) string {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func TestConsentsAndEndSession(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	r := newRP(t, srv, map[string]any{
		"client_name": "RP", "scope": "openid offline_access",
		"post_logout_redirect_uris": []string{"https://rp.example.com/bye"},
	})
	b := newBrowser(t, srv)
	verifier := oauth2.GenerateVerifier()
	q := r.authorize(t, b, u, oauth2.S256ChallengeOption(verifier))
	tok, err := r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}

	user := srv.Login(t, u.Email, u.Password)
	var list struct {
		Consents []struct {
			ClientID   string `json:"client_id"`
			ClientName string `json:"client_name"`
			Scope      string `json:"scope"`
		} `json:"consents"`
	}
	user.Do(t, http.MethodGet, "/v1/consents", nil).WantStatus(t, http.StatusOK).Decode(t, &list)
	if len(list.Consents) != 1 || list.Consents[0].ClientID != r.client.ClientID || list.Consents[0].Scope != "openid offline_access" {
		t.Fatalf("consents = %+v", list)
	}
	user.Do(t, http.MethodDelete, "/v1/consents/"+r.client.ClientID, nil).WantStatus(t, http.StatusNoContent)
	user.Do(t, http.MethodDelete, "/v1/consents/"+r.client.ClientID, nil).WantError(t, http.StatusNotFound, "not_found")
	if _, err := r.config.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Errorf("refresh token survived the consent's revocation")
	}
	// Consent is asked again.
	p := b.get(r.config.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	if !strings.Contains(p.body, `action="/oauth2/authorize/consent"`) {
		t.Fatalf("no consent page after revocation: %d %s", p.status, p.url)
	}
	q = callback(t, b.submit(p, nil, "decision=allow"))
	tok, err = r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idToken := tok.Extra("id_token").(string)

	end := "/oauth2/logout?"
	t.Run("UnregisteredPostLogoutURI", func(t *testing.T) {
		p := b.get(srv.URL + end + url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example.com/"}}.Encode())
		if p.location != nil || p.status != http.StatusBadRequest {
			t.Errorf("status %d location %v", p.status, p.location)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		p := b.get(srv.URL + end + url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://rp.example.com/bye"}, "state": {"z"}}.Encode())
		if p.location == nil || p.location.String() != "https://rp.example.com/bye?state=z" {
			t.Fatalf("logout ended at %v (%d)", p.location, p.status)
		}
		q := callback(t, b.get(r.config.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none"))))
		if q.Get("error") != "login_required" {
			t.Errorf("after logout prompt=none answered %v", q)
		}
	})
}
