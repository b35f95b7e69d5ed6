package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// TestAuthorizeIgnoresUnknownScopes checks OpenID Connect Core section
// 3.1.2.1: scope values the server does not understand are ignored, so a
// relying party (x/oauth2 and go-oidc here) that asks for more than
// Gatehouse knows still signs in; scopes the server knows (standard,
// gatehouse:, or another client's) but the client may not have are still
// refused.
func TestAuthorizeIgnoresUnknownScopes(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	serviceClient(t, srv, "reports:write")
	r := newRP(t, srv, map[string]any{"scope": "openid email", "first_party": true})
	for _, tc := range []struct {
		name, scope, wantError, wantScope string
	}{
		{"unknown ignored", "openid email phone address something:else", "", "openid email"},
		{"only unknown", "nothing-known", "", ""},
		{"standard scope not allowed", "openid offline_access", "invalid_scope", ""},
		{"another client's scope", "openid reports:write", "invalid_scope", ""},
		{"reserved scope", "openid gatehouse:admin", "invalid_scope", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, srv)
			q := r.authorize(t, b, u, oauth2.SetAuthURLParam("scope", tc.scope), oauth2.S256ChallengeOption("v-"+strings.Repeat("x", 43)))
			if tc.wantError != "" {
				if q.Get("error") != tc.wantError || q.Get("code") != "" {
					t.Fatalf("callback %v, want %s", q, tc.wantError)
				}
				return
			}
			if q.Get("code") == "" {
				t.Fatalf("callback %v, want a code", q)
			}
			tok, err := r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption("v-"+strings.Repeat("x", 43)))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := tok.Extra("scope").(string); got != tc.wantScope {
				t.Errorf("granted scope %q, want %q", got, tc.wantScope)
			}
		})
	}
}

// TestAuthorizationServerMetadata checks RFC 8414: the metadata is served
// at /.well-known/oauth-authorization-server too (section 3), its issuer
// is the issuer the URL was built from (section 3.3), and it has the
// required members (section 2).
func TestAuthorizationServerMetadata(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	get := func(path string) map[string]any {
		resp, err := srv.HTTP.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	as := get("/.well-known/oauth-authorization-server")
	if as["issuer"] != srv.URL {
		t.Errorf("issuer %v, want %s", as["issuer"], srv.URL)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "response_types_supported", "jwks_uri", "code_challenge_methods_supported", "revocation_endpoint", "introspection_endpoint"} {
		if _, ok := as[k]; !ok {
			t.Errorf("RFC 8414 metadata lacks %s", k)
		}
	}
	if oidc := get("/.well-known/openid-configuration"); !reflect.DeepEqual(oidc, as) {
		t.Errorf("the two metadata documents differ:\n%v\n%v", oidc, as)
	}
}

// TestFirstPartyTokensHaveClientID checks RFC 9068 section 2.2: every JWT
// access token carries client_id; first-party logins get the built-in
// "gatehouse-first-party", and their tokens still work as first-party
// ones (refresh, revoke without client credentials).
func TestFirstPartyTokensHaveClientID(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	var res struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(t, http.StatusOK).Decode(t, &res)
	parts := strings.Split(res.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWS", res.AccessToken)
	}
	var hdr, claims map[string]any
	for i, dst := range []*map[string]any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	if hdr["typ"] != "at+jwt" || claims["client_id"] != "gatehouse-first-party" {
		t.Errorf("typ %v, client_id %v; want at+jwt and gatehouse-first-party", hdr["typ"], claims["client_id"])
	}
	for _, k := range []string{"iss", "exp", "aud", "sub", "iat", "jti"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("RFC 9068 section 2.2: no %s", k)
		}
	}
	c := srv.NewClient()
	c.Header.Set("Authorization", "Bearer "+res.AccessToken)
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	form := func(path, body string) *apptest.Response {
		return srv.NewClient().Do(t, http.MethodPost, path, body, "Content-Type", "application/x-www-form-urlencoded")
	}
	form("/oauth2/token", "grant_type=refresh_token&refresh_token="+res.RefreshToken).WantStatus(t, http.StatusOK)
	form("/oauth2/revoke", "token="+res.AccessToken).WantStatus(t, http.StatusOK)
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusUnauthorized)
}

// TestEmptyOAuthPost checks RFC 6749 section 5.2 (and RFC 7009 section
// 2.2.1): a POST without a body or Content-Type to the token or
// revocation endpoint lacks its parameters: 400 invalid_request, not 415.
func TestEmptyOAuthPost(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	for _, path := range []string{"/oauth2/token", "/oauth2/revoke"} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := srv.NewClient().Send(t, req)
		r.WantError(t, http.StatusBadRequest, "invalid_request")
	}
}

var continueRE = regexp.MustCompile(`<a class="button" id="continue" href="([^"]+)">`)

// TestPromptSelectAccount checks prompt=select_account (OpenID Connect
// Core section 3.1.2.1): with a session, the login page shows the account
// signed in and a link to continue as it, and its form signs in with
// another account; either way the request goes on without the prompt.
func TestPromptSelectAccount(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u1, u2 := srv.NewUser(t), srv.NewUser(t)
	r := newRP(t, srv, map[string]any{"scope": "openid email", "first_party": true})
	b := newBrowser(t, srv)
	subject := func(q url.Values) string {
		t.Helper()
		tok, err := r.config.Exchange(r.ctx, q.Get("code"))
		if err != nil {
			t.Fatalf("exchange %v: %v", q, err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := r.provider.Verifier(&oidc.Config{ClientID: r.client.ClientID}).Verify(r.ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		return idt.Subject
	}
	if sub := subject(r.authorize(t, b, u1)); sub != u1.ID {
		t.Fatalf("first sign-in: sub %s, want %s", sub, u1.ID)
	}
	chooser := func() page {
		t.Helper()
		p := b.get(r.config.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "select_account")))
		if p.location != nil || p.status != http.StatusOK || !strings.Contains(p.body, "Choose an account") || !strings.Contains(p.body, html.EscapeString(u1.Email)) {
			t.Fatalf("prompt=select_account: %d %v\n%s", p.status, p.location, p.body)
		}
		return p
	}
	m := continueRE.FindStringSubmatch(chooser().body)
	if m == nil {
		t.Fatal("no continue link")
	}
	cont, _ := url.Parse(html.UnescapeString(m[1]))
	if strings.Contains(cont.Query().Get("prompt"), "select_account") || cont.Host != "" {
		t.Errorf("continue link %s", cont)
	}
	if sub := subject(callback(t, b.get(srv.URL+cont.String()))); sub != u1.ID {
		t.Errorf("continue: sub %s, want %s", sub, u1.ID)
	}
	p := b.submit(chooser(), map[string]string{"email": u2.Email, "password": u2.Password}, "")
	if sub := subject(callback(t, p)); sub != u2.ID {
		t.Errorf("another account: sub %s, want %s", sub, u2.ID)
	}
	// Without a session the prompt is a plain login, not asked again after.
	b2 := newBrowser(t, srv)
	p = b2.get(r.config.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "select_account")))
	if sub := subject(callback(t, b2.login(p, u1))); sub != u1.ID {
		t.Errorf("select_account without a session: sub %s, want %s", sub, u1.ID)
	}
}
