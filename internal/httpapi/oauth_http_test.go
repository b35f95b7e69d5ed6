package httpapi_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// registeredClient is the answer of POST /admin/v1/clients.
type registeredClient struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at"`
	ClientName              string   `json:"client_name"`
	GrantTypes              []string `json:"grant_types"`
	RedirectURIs            []string `json:"redirect_uris"`
	Scope                   string   `json:"scope"`
	Audience                []string `json:"audience"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	FirstParty              bool     `json:"first_party"`
	CreatedAt               string   `json:"created_at"`
}

// newClient registers a client through the admin API and fails the test
// unless the answer is 201.
func newClient(t *testing.T, srv *apptest.Server, body map[string]any) registeredClient {
	t.Helper()
	var c registeredClient
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/clients", body).WantStatus(t, http.StatusCreated).Decode(t, &c)
	if c.ClientID == "" {
		t.Fatalf("registration answered no client_id")
	}
	return c
}

// serviceClient registers a client_credentials client with the scope and
// audiences given.
func serviceClient(t *testing.T, srv *apptest.Server, scope string, audience ...string) registeredClient {
	t.Helper()
	body := map[string]any{"client_name": "svc", "grant_types": []string{"client_credentials"}, "scope": scope}
	if audience != nil {
		body["audience"] = audience
	}
	return newClient(t, srv, body)
}

// basicAuth returns a client that authenticates with client_secret_basic
// (RFC 6749 section 2.3.1: id and secret form-urlencoded, then base64).
func basicAuth(srv *apptest.Server, id, secret string) *apptest.Client {
	c := srv.NewClient()
	c.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	return c
}

// clientToken gets a client credentials token with client_secret_basic.
func clientToken(t *testing.T, srv *apptest.Server, c registeredClient, params url.Values) tokenPair {
	t.Helper()
	if params == nil {
		params = url.Values{}
	}
	params.Set("grant_type", "client_credentials")
	var p tokenPair
	form(t, basicAuth(srv, c.ClientID, c.ClientSecret), "/oauth2/token", params).WantStatus(t, http.StatusOK).Decode(t, &p)
	if p.AccessToken == "" || p.TokenType != "Bearer" || p.RefreshToken != "" {
		t.Fatalf("client credentials answered %+v", p)
	}
	return p
}

// introspect introspects tok with the admin token.
func introspect(t *testing.T, srv *apptest.Server, tok string) map[string]any {
	t.Helper()
	var in map[string]any
	form(t, srv.Admin(), "/oauth2/introspect", url.Values{"token": {tok}}).WantStatus(t, http.StatusOK).Decode(t, &in)
	return in
}

// audOf returns a token's "aud" as a list.
func audOf(claims map[string]any) []string {
	switch a := claims["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func TestAdminClients(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	c := newClient(t, srv, map[string]any{
		"client_name":                "Reports",
		"grant_types":                []string{"client_credentials"},
		"scope":                      "reports:read reports:write",
		"audience":                   []string{"https://api.example.com"},
		"token_endpoint_auth_method": "client_secret_post",
	})
	if !strings.HasPrefix(c.ClientSecret, "ghc_") || len(c.ClientSecret) != 4+43 || c.ClientSecretExpiresAt == nil || *c.ClientSecretExpiresAt != 0 {
		t.Errorf("secret %q (expires %v), want ghc_ and 256 bits, expiring never (0)", c.ClientSecret, c.ClientSecretExpiresAt)
	}
	if c.ClientName != "Reports" || !slices.Equal(c.GrantTypes, []string{"client_credentials"}) || c.Scope != "reports:read reports:write" ||
		!slices.Equal(c.Audience, []string{"https://api.example.com"}) || c.TokenEndpointAuthMethod != "client_secret_post" ||
		c.FirstParty || c.RedirectURIs == nil || len(c.RedirectURIs) != 0 || c.CreatedAt == "" {
		t.Errorf("created client = %+v", c)
	}

	// The secret is shown once: never again, and not stored in clear.
	r := srv.Admin().Do(t, http.MethodGet, "/admin/v1/clients/"+c.ClientID, nil).WantStatus(t, http.StatusOK)
	var got map[string]any
	r.Decode(t, &got)
	if _, ok := got["client_secret"]; ok || got["client_id"] != c.ClientID || got["scope"] != c.Scope {
		t.Errorf("GET client = %v, want the client without its secret", got)
	}
	var stored []byte
	if err := srv.OpenDB(t).QueryRow(`SELECT secret_hash FROM clients WHERE id = ?`, c.ClientID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 32 || strings.Contains(string(stored), c.ClientSecret) {
		t.Errorf("stored secret_hash is %d bytes, want a 32-byte SHA-256", len(stored))
	}

	srv.Clock.Advance(time.Second)
	pub := newClient(t, srv, map[string]any{
		"client_name":                "CLI",
		"redirect_uris":              []string{"http://127.0.0.1/callback"},
		"token_endpoint_auth_method": "none",
		"first_party":                true,
	})
	if pub.ClientSecret != "" || pub.ClientSecretExpiresAt != nil || !slices.Equal(pub.GrantTypes, []string{"authorization_code"}) || !pub.FirstParty {
		t.Errorf("public client = %+v, want no secret and the default grant authorization_code", pub)
	}

	var list struct {
		Clients []registeredClient `json:"clients"`
	}
	srv.Admin().Do(t, http.MethodGet, "/admin/v1/clients", nil).WantStatus(t, http.StatusOK).Decode(t, &list)
	if len(list.Clients) != 2 || list.Clients[0].ClientID != c.ClientID || list.Clients[1].ClientID != pub.ClientID || list.Clients[0].ClientSecret != "" {
		t.Errorf("list = %+v, want the two clients oldest first, without secrets", list.Clients)
	}

	srv.Admin().Do(t, http.MethodDelete, "/admin/v1/clients/"+c.ClientID, nil).WantStatus(t, http.StatusNoContent)
	srv.Admin().Do(t, http.MethodGet, "/admin/v1/clients/"+c.ClientID, nil).WantError(t, http.StatusNotFound, "not_found")
	srv.Admin().Do(t, http.MethodDelete, "/admin/v1/clients/"+c.ClientID, nil).WantError(t, http.StatusNotFound, "not_found")

	// Administrators only.
	srv.NewClient().Do(t, http.MethodPost, "/admin/v1/clients", map[string]any{}).WantError(t, http.StatusUnauthorized, "unauthenticated")
	user := tokenLogin(t, srv, srv.NewUser(t))
	bearer(srv, user.AccessToken).Do(t, http.MethodGet, "/admin/v1/clients", nil).WantError(t, http.StatusForbidden, "forbidden")
}

func TestAdminClientValidation(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	cc := []string{"client_credentials"}
	tests := []struct {
		name string
		body any
		want string // in the description
	}{
		{"default grant without redirect", map[string]any{}, "redirect_uris"},
		{"unknown grant type", map[string]any{"grant_types": []string{"password"}}, "grant_types[0]"},
		{"refresh without code", map[string]any{"grant_types": []string{"client_credentials", "refresh_token"}}, "grant_types"},
		{"public client credentials", map[string]any{"grant_types": cc, "token_endpoint_auth_method": "none"}, "public client"},
		{"unknown auth method", map[string]any{"grant_types": cc, "token_endpoint_auth_method": "private_key_jwt"}, "token_endpoint_auth_method"},
		{"http redirect", map[string]any{"redirect_uris": []string{"http://app.example.com/cb"}}, "redirect_uris[0]"},
		{"fragment", map[string]any{"redirect_uris": []string{"https://app.example.com/cb#x"}}, "fragment"},
		{"relative redirect", map[string]any{"redirect_uris": []string{"/cb"}}, "absolute"},
		{"javascript redirect", map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}, "redirect_uris[0]"},
		{"malformed scope", map[string]any{"grant_types": cc, "scope": `a "b"`}, "scope"},
		{"audience with space", map[string]any{"grant_types": cc, "audience": []string{"a b"}}, "audience[0]"},
		{"audience as a string", map[string]any{"grant_types": cc, "audience": "https://api.example.com"}, "audience"},
		{"grant_types as a string", map[string]any{"grant_types": "client_credentials"}, "grant_types"},
		{"first_party as a string", map[string]any{"grant_types": cc, "first_party": "yes"}, "first_party"},
		{"not an object", `["client_credentials"]`, "JSON object"},
		{"malformed JSON", `{"grant_types":`, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any = tt.body
			if s, ok := tt.body.(string); ok {
				body = []byte(s)
			}
			e := srv.Admin().Do(t, http.MethodPost, "/admin/v1/clients", body).WantError(t, http.StatusBadRequest, "invalid_request")
			if !strings.Contains(e.Description, tt.want) {
				t.Errorf("description %q does not mention %q", e.Description, tt.want)
			}
		})
	}
	var list struct {
		Clients []any `json:"clients"`
	}
	srv.Admin().Do(t, http.MethodGet, "/admin/v1/clients", nil).WantStatus(t, http.StatusOK).Decode(t, &list)
	if len(list.Clients) != 0 {
		t.Errorf("%d clients registered by refused requests", len(list.Clients))
	}
}

// TestClientCredentialsWithOAuth2Library gets tokens the way a Go service
// would, with golang.org/x/oauth2/clientcredentials, in both styles of
// client authentication.
func TestClientCredentialsWithOAuth2Library(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	basic := serviceClient(t, srv, "reports:read reports:write", "https://api.example.com", "urn:example:billing")
	post := newClient(t, srv, map[string]any{"grant_types": []string{"client_credentials"}, "scope": "metrics:write", "token_endpoint_auth_method": "client_secret_post"})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.HTTP.Client())

	tests := []struct {
		name      string
		cfg       clientcredentials.Config
		wantScope string
		wantAud   []string
	}{
		{"basic, one scope and audience", clientcredentials.Config{
			ClientID: basic.ClientID, ClientSecret: basic.ClientSecret, TokenURL: srv.URL + "/oauth2/token",
			Scopes: []string{"reports:read"}, EndpointParams: url.Values{"audience": {"https://api.example.com"}},
			AuthStyle: oauth2.AuthStyleInHeader,
		}, "reports:read", []string{"https://api.example.com"}},
		{"basic, defaults", clientcredentials.Config{
			ClientID: basic.ClientID, ClientSecret: basic.ClientSecret, TokenURL: srv.URL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		}, "reports:read reports:write", []string{"https://api.example.com", "urn:example:billing"}},
		{"post, issuer audience by default", clientcredentials.Config{
			ClientID: post.ClientID, ClientSecret: post.ClientSecret, TokenURL: srv.URL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		}, "metrics:write", []string{srv.URL}},
		{"post, auto-detected", clientcredentials.Config{
			ClientID: post.ClientID, ClientSecret: post.ClientSecret, TokenURL: srv.URL + "/oauth2/token",
			Scopes: []string{"metrics:write"},
		}, "metrics:write", []string{srv.URL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := tt.cfg.Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Expiry.IsZero() || tok.Extra("scope") != tt.wantScope {
				t.Errorf("token = %+v (scope %v), want a Bearer token with scope %q and no refresh token", tok, tok.Extra("scope"), tt.wantScope)
			}
			_, c := jwtParts(t, tok.AccessToken)
			if _, hasSid := c["sid"]; hasSid || c["sub"] != tt.cfg.ClientID || c["client_id"] != tt.cfg.ClientID ||
				c["scope"] != tt.wantScope || c["iss"] != srv.URL || !slices.Equal(audOf(c), tt.wantAud) {
				t.Errorf("claims = %v, want sub and client_id %s, no sid, scope %q, aud %v", c, tt.cfg.ClientID, tt.wantScope, tt.wantAud)
			}
			if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 300 {
				t.Errorf("lifetime %v s, want the access-token TTL", exp-iat)
			}
			// A client's token belongs to no user.
			bearer(srv, tok.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
			in := introspect(t, srv, tok.AccessToken)
			if in["active"] != true || in["sub"] != tt.cfg.ClientID || in["client_id"] != tt.cfg.ClientID || in["sid"] != nil {
				t.Errorf("introspection = %v", in)
			}
		})
	}

	t.Run("wrong secret", func(t *testing.T) {
		cfg := clientcredentials.Config{ClientID: basic.ClientID, ClientSecret: basic.ClientSecret + "x", TokenURL: srv.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
		_, err := cfg.Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Token = %v, want invalid_client 401", err)
		}
	})
	t.Run("scope escalation", func(t *testing.T) {
		cfg := clientcredentials.Config{ClientID: basic.ClientID, ClientSecret: basic.ClientSecret, TokenURL: srv.URL + "/oauth2/token",
			Scopes: []string{"reports:read", "gatehouse:admin"}, AuthStyle: oauth2.AuthStyleInHeader}
		_, err := cfg.Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_scope" {
			t.Fatalf("Token = %v, want invalid_scope", err)
		}
	})
}

func TestClientAuthentication(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	basic := serviceClient(t, srv, "a")
	post := newClient(t, srv, map[string]any{"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "client_secret_post"})
	cc := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	ok := []struct {
		name string
		c    *apptest.Client
		body url.Values
	}{
		{"basic", basicAuth(srv, basic.ClientID, basic.ClientSecret), cc()},
		{"basic with client_id in the body too", basicAuth(srv, basic.ClientID, basic.ClientSecret), cc("client_id", basic.ClientID)},
		{"post", srv.NewClient(), cc("client_id", post.ClientID, "client_secret", post.ClientSecret)},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			form(t, tt.c, "/oauth2/token", tt.body).WantStatus(t, http.StatusOK)
		})
	}
	refused := []struct {
		name   string
		c      *apptest.Client
		body   url.Values
		status int
		code   string
	}{
		{"wrong secret", basicAuth(srv, basic.ClientID, basic.ClientSecret+"x"), cc(), 401, "invalid_client"},
		{"another client's secret", basicAuth(srv, basic.ClientID, post.ClientSecret), cc(), 401, "invalid_client"},
		{"unknown client", basicAuth(srv, "no-such-client", basic.ClientSecret), cc(), 401, "invalid_client"},
		{"no secret", srv.NewClient(), cc("client_id", basic.ClientID), 401, "invalid_client"},
		{"no client at all", srv.NewClient(), cc(), 401, "invalid_client"},
		{"post for a basic client", srv.NewClient(), cc("client_id", basic.ClientID, "client_secret", basic.ClientSecret), 401, "invalid_client"},
		{"basic for a post client", basicAuth(srv, post.ClientID, post.ClientSecret), cc(), 401, "invalid_client"},
		{"malformed basic", srv.NewClient(), cc(), 401, "invalid_client"},
		{"two methods", basicAuth(srv, basic.ClientID, basic.ClientSecret), cc("client_id", basic.ClientID, "client_secret", basic.ClientSecret), 400, "invalid_request"},
		{"basic and another client_id", basicAuth(srv, basic.ClientID, basic.ClientSecret), cc("client_id", post.ClientID), 400, "invalid_request"},
		{"secret in the query string", srv.NewClient(), cc("client_id", post.ClientID), 401, "invalid_client"},
	}
	refused[7].c.Header.Set("Authorization", "Basic not-base64!")
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			path := "/oauth2/token"
			if tt.name == "secret in the query string" {
				path += "?client_secret=" + url.QueryEscape(post.ClientSecret)
			}
			r := form(t, tt.c, path, tt.body)
			r.WantError(t, tt.status, tt.code)
			if got := r.Header.Get("WWW-Authenticate"); tt.status == 401 && !strings.HasPrefix(got, "Basic ") {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge", got)
			}
		})
	}
}

func TestClientCredentialsLimits(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	c := serviceClient(t, srv, "reports:read", "https://api.example.com")
	web := newClient(t, srv, map[string]any{"redirect_uris": []string{"https://app.example.com/cb"}, "scope": "openid"})
	public := newClient(t, srv, map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "token_endpoint_auth_method": "none"})
	tests := []struct {
		name   string
		c      *apptest.Client
		params url.Values
		code   string
	}{
		{"scope escalation", basicAuth(srv, c.ClientID, c.ClientSecret), url.Values{"scope": {"reports:read reports:write"}}, "invalid_scope"},
		{"admin scope not allowed", basicAuth(srv, c.ClientID, c.ClientSecret), url.Values{"scope": {"gatehouse:admin"}}, "invalid_scope"},
		{"audience escalation", basicAuth(srv, c.ClientID, c.ClientSecret), url.Values{"audience": {"https://api.example.com https://other.example.com"}}, "invalid_target"},
		{"issuer audience not registered", basicAuth(srv, c.ClientID, c.ClientSecret), url.Values{"audience": {srv.URL}}, "invalid_target"},
		{"grant type not registered", basicAuth(srv, web.ClientID, web.ClientSecret), url.Values{}, "unauthorized_client"},
		{"public client", srv.NewClient(), url.Values{"client_id": {public.ClientID}}, "unauthorized_client"},
		{"unknown authorization code", basicAuth(srv, web.ClientID, web.ClientSecret), url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {"https://app.example.com/cb"}}, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.params.Get("grant_type") == "" {
				tt.params.Set("grant_type", "client_credentials")
			}
			form(t, tt.c, "/oauth2/token", tt.params).WantError(t, http.StatusBadRequest, tt.code)
		})
	}
}

func TestClientTokenAsAdminCredential(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	admin := serviceClient(t, srv, "gatehouse:admin reports:read")
	p := clientToken(t, srv, admin, url.Values{"scope": {"gatehouse:admin"}})
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/admin/v1/users/"+u.ID, nil).WantStatus(t, http.StatusOK)
	bearer(srv, p.AccessToken).Do(t, http.MethodPost, "/admin/v1/clients", map[string]any{"grant_types": []string{"client_credentials"}}).WantStatus(t, http.StatusCreated)
	// It may introspect every token, as the admin token may.
	user := tokenLogin(t, srv, u)
	var in map[string]any
	form(t, bearer(srv, p.AccessToken), "/oauth2/introspect", url.Values{"token": {user.AccessToken}}).WantStatus(t, http.StatusOK).Decode(t, &in)
	if in["active"] != true || in["sub"] != u.ID {
		t.Errorf("introspection with an admin client token = %v", in)
	}

	// Without the scope it is not an administrator.
	plain := clientToken(t, srv, admin, url.Values{"scope": {"reports:read"}})
	bearer(srv, plain.AccessToken).Do(t, http.MethodGet, "/admin/v1/users/"+u.ID, nil).WantError(t, http.StatusForbidden, "forbidden")
	// Nor is a token minted for another audience, admin scope or not.
	other := serviceClient(t, srv, "gatehouse:admin", "https://api.example.com")
	elsewhere := clientToken(t, srv, other, nil)
	bearer(srv, elsewhere.AccessToken).Do(t, http.MethodGet, "/admin/v1/users/"+u.ID, nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
}

func TestClientIntrospection(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	a := serviceClient(t, srv, "x")
	b := newClient(t, srv, map[string]any{"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "client_secret_post"})
	public := newClient(t, srv, map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "token_endpoint_auth_method": "none"})
	ta := clientToken(t, srv, a, nil)
	user := tokenLogin(t, srv, srv.NewUser(t))
	_, cookie := srv.NewSession(t)

	asA := func(tok string, extra ...string) map[string]any {
		t.Helper()
		v := url.Values{"token": {tok}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		var in map[string]any
		form(t, basicAuth(srv, a.ClientID, a.ClientSecret), "/oauth2/introspect", v).WantStatus(t, http.StatusOK).Decode(t, &in)
		return in
	}
	if in := asA(ta.AccessToken); in["active"] != true || in["client_id"] != a.ClientID || in["scope"] != "x" {
		t.Errorf("a client introspecting its own token = %v", in)
	}
	for name, in := range map[string]map[string]any{
		"a first-party access token":  asA(user.AccessToken),
		"a first-party refresh token": asA(user.RefreshToken),
		"a session cookie":            asA(cookie.Cookie, "token_type_hint", "gatehouse_session"),
	} {
		if in["active"] != false || len(in) != 1 {
			t.Errorf("a client introspecting %s = %v, want only active=false", name, in)
		}
	}
	var in map[string]any
	form(t, srv.NewClient(), "/oauth2/introspect", url.Values{"token": {ta.AccessToken}, "client_id": {b.ClientID}, "client_secret": {b.ClientSecret}}).
		WantStatus(t, http.StatusOK).Decode(t, &in)
	if in["active"] != false || len(in) != 1 {
		t.Errorf("another client introspecting the token = %v, want only active=false", in)
	}

	form(t, basicAuth(srv, a.ClientID, "wrong"), "/oauth2/introspect", url.Values{"token": {ta.AccessToken}}).WantError(t, http.StatusUnauthorized, "invalid_client")
	form(t, srv.NewClient(), "/oauth2/introspect", url.Values{"token": {ta.AccessToken}, "client_id": {public.ClientID}}).WantError(t, http.StatusUnauthorized, "invalid_client")
	form(t, srv.NewClient(), "/oauth2/introspect", url.Values{"token": {ta.AccessToken}}).WantError(t, http.StatusUnauthorized, "invalid_client")
	// A client's token is no admin credential.
	form(t, bearer(srv, ta.AccessToken), "/oauth2/introspect", url.Values{"token": {ta.AccessToken}}).WantError(t, http.StatusUnauthorized, "invalid_client")
}

func TestClientRevocation(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	a := serviceClient(t, srv, "x")
	b := serviceClient(t, srv, "x")
	ta := clientToken(t, srv, a, nil)
	alive := func(tok string) bool {
		t.Helper()
		return introspect(t, srv, tok)["active"] == true
	}

	// Another client, or nobody, cannot revoke it; RFC 7009 still says 200.
	form(t, basicAuth(srv, b.ClientID, b.ClientSecret), "/oauth2/revoke", url.Values{"token": {ta.AccessToken}}).WantStatus(t, http.StatusOK)
	form(t, srv.NewClient(), "/oauth2/revoke", url.Values{"token": {ta.AccessToken}}).WantStatus(t, http.StatusOK)
	if !alive(ta.AccessToken) {
		t.Fatal("a token was revoked by another client or without authentication")
	}
	form(t, basicAuth(srv, a.ClientID, "wrong"), "/oauth2/revoke", url.Values{"token": {ta.AccessToken}}).WantError(t, http.StatusUnauthorized, "invalid_client")
	if !alive(ta.AccessToken) {
		t.Fatal("a token was revoked with a wrong secret")
	}

	// A client cannot revoke first-party tokens either.
	user := tokenLogin(t, srv, srv.NewUser(t))
	form(t, basicAuth(srv, a.ClientID, a.ClientSecret), "/oauth2/revoke", url.Values{"token": {user.RefreshToken}}).WantStatus(t, http.StatusOK)
	bearer(srv, user.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)

	// Its own client can.
	tb := clientToken(t, srv, a, nil)
	form(t, basicAuth(srv, a.ClientID, a.ClientSecret), "/oauth2/revoke", url.Values{"token": {ta.AccessToken}}).WantStatus(t, http.StatusOK)
	if alive(ta.AccessToken) {
		t.Error("the client could not revoke its own token")
	}
	if !alive(tb.AccessToken) {
		t.Error("revoking one token revoked another")
	}
}

// clientGrant creates a grant of the user for the client, as the
// authorization code flow will, and issues its first tokens.
func clientGrant(t *testing.T, srv *apptest.Server, userID, clientID string) tokenPair {
	t.Helper()
	ctx := t.Context()
	g, err := srv.App.Sessions.CreateGrant(ctx, session.GrantSpec{UserID: userID, ClientID: clientID, Scope: "openid"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := srv.App.Users.GetUser(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.App.Tokens.IssueForGrant(ctx, g, u)
	if err != nil {
		t.Fatal(err)
	}
	return tokenPair{AccessToken: resp.AccessToken, TokenType: resp.TokenType, RefreshToken: resp.RefreshToken, Scope: resp.Scope}
}

func TestClientRefresh(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	web := newClient(t, srv, map[string]any{"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{"https://app.example.com/cb"}, "scope": "openid"})
	other := newClient(t, srv, map[string]any{"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{"https://other.example.com/cb"}})
	u := srv.NewUser(t)
	p := clientGrant(t, srv, u.ID, web.ClientID)
	rf := func(c *apptest.Client, rt string, extra ...string) *apptest.Response {
		v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return form(t, c, "/oauth2/token", v)
	}
	rf(srv.NewClient(), p.RefreshToken).WantError(t, http.StatusBadRequest, "invalid_grant")
	rf(basicAuth(srv, other.ClientID, other.ClientSecret), p.RefreshToken).WantError(t, http.StatusBadRequest, "invalid_grant")
	rf(basicAuth(srv, web.ClientID, web.ClientSecret), p.RefreshToken, "scope", "profile").WantError(t, http.StatusBadRequest, "invalid_scope")
	var next tokenPair
	rf(basicAuth(srv, web.ClientID, web.ClientSecret), p.RefreshToken, "scope", "openid").WantStatus(t, http.StatusOK).Decode(t, &next)
	_, c := jwtParts(t, next.AccessToken)
	if c["client_id"] != web.ClientID || c["sub"] != u.ID || c["sid"] == nil || next.Scope != "openid" {
		t.Errorf("refreshed claims = %v, scope %q", c, next.Scope)
	}
	// A first-party token cannot be refreshed by a client.
	fp := tokenLogin(t, srv, u)
	rf(basicAuth(srv, web.ClientID, web.ClientSecret), fp.RefreshToken).WantError(t, http.StatusBadRequest, "invalid_grant")
}

func TestDeleteClientRevokesEverything(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	svc := serviceClient(t, srv, "x")
	web := newClient(t, srv, map[string]any{"grant_types": []string{"authorization_code", "refresh_token", "client_credentials"}, "redirect_uris": []string{"https://app.example.com/cb"}})
	keep := serviceClient(t, srv, "x")
	u := srv.NewUser(t)
	own := clientToken(t, srv, web, nil)
	grant := clientGrant(t, srv, u.ID, web.ClientID)
	unrelated := clientToken(t, srv, svc, nil)
	kept := clientToken(t, srv, keep, nil)
	firstParty := tokenLogin(t, srv, u)
	bearer(srv, grant.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)

	srv.Admin().Do(t, http.MethodDelete, "/admin/v1/clients/"+web.ClientID, nil).WantStatus(t, http.StatusNoContent)

	if in := introspect(t, srv, own.AccessToken); in["active"] != false {
		t.Errorf("the deleted client's own token is still active: %v", in)
	}
	bearer(srv, grant.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	if in := introspect(t, srv, grant.RefreshToken); in["active"] != false {
		t.Errorf("the user's grant to the deleted client is still active: %v", in)
	}
	form(t, basicAuth(srv, web.ClientID, web.ClientSecret), "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}).WantError(t, http.StatusUnauthorized, "invalid_client")
	for name, tok := range map[string]string{"another client's": unrelated.AccessToken, "a kept client's": kept.AccessToken, "first-party": firstParty.AccessToken} {
		if in := introspect(t, srv, tok); in["active"] != true {
			t.Errorf("%s token died with the client: %v", name, in)
		}
	}
	bearer(srv, firstParty.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)

	// Outside verifiers learn of it from the feed: the client's tokens by
	// their subject, its grant by sid.
	var feed struct {
		Revocations []struct {
			SID  string `json:"sid"`
			User string `json:"user"`
		} `json:"revocations"`
	}
	srv.NewClient().Do(t, http.MethodGet, "/v1/revocations", nil).WantStatus(t, http.StatusOK).Decode(t, &feed)
	_, gc := jwtParts(t, grant.AccessToken)
	var bySub, bySid bool
	for _, e := range feed.Revocations {
		bySub = bySub || e.User == web.ClientID
		bySid = bySid || e.SID == gc["sid"]
	}
	if !bySub || !bySid {
		t.Errorf("feed %+v lacks the client's subject or its grant's sid", feed.Revocations)
	}
	if _, err := srv.App.Clients.Get(t.Context(), web.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after delete = %v", err)
	}
}

func TestDiscoveryNamesClientAuthentication(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	var d struct {
		GrantTypes  []string `json:"grant_types_supported"`
		TokenAuth   []string `json:"token_endpoint_auth_methods_supported"`
		RevokeAuth  []string `json:"revocation_endpoint_auth_methods_supported"`
		IntrospAuth []string `json:"introspection_endpoint_auth_methods_supported"`
	}
	srv.NewClient().Do(t, http.MethodGet, "/.well-known/openid-configuration", nil).WantStatus(t, http.StatusOK).Decode(t, &d)
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	if got := sorted(d.GrantTypes); !slices.Equal(got, []string{"authorization_code", "client_credentials", "refresh_token"}) {
		t.Errorf("grant_types_supported = %v", d.GrantTypes)
	}
	want := []string{"client_secret_basic", "client_secret_post", "none"}
	if !slices.Equal(sorted(d.TokenAuth), want) || !slices.Equal(sorted(d.RevokeAuth), want) {
		t.Errorf("token %v / revocation %v auth methods, want %v", d.TokenAuth, d.RevokeAuth, want)
	}
	if got := sorted(d.IntrospAuth); !slices.Equal(got, []string{"bearer", "client_secret_basic", "client_secret_post"}) {
		t.Errorf("introspection auth methods = %v", d.IntrospAuth)
	}
}
