package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// rawClaims returns a JWT's claims as undecoded JSON values, to see how
// numbers are written.
func rawClaims(t *testing.T, tok string) map[string]json.RawMessage {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// numericDate decodes an integer NumericDate claim, failing on a fraction.
func numericDate(t *testing.T, claims map[string]json.RawMessage, name string) time.Time {
	t.Helper()
	raw, ok := claims[name]
	if !ok {
		t.Fatalf("no %s claim in %v", name, claims)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatalf("%s = %s, want an integer NumericDate: %v", name, raw, err)
	}
	return time.Unix(n, 0)
}

// TestRefreshScopeChangesNothing checks that a scope parameter on a
// refresh neither spares a replayed token's grant after the grace period,
// nor changes the grace period's answer, and that a store failure is a
// server error, not invalid_grant. Before the fix the scope made the
// server introspect first, which refused a rotated token without revoking
// its grant, and turned a failing store into invalid_grant.
func TestRefreshScopeChangesNothing(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	web := newClient(t, srv, map[string]any{"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{"https://app.example.com/cb"}, "scope": "openid"})
	u := srv.NewUser(t)
	rf := func(rt string) *apptest.Response {
		return form(t, basicAuth(srv, web.ClientID, web.ClientSecret), "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid"}})
	}
	p := clientGrant(t, srv, u.ID, web.ClientID)
	var next tokenPair
	rf(p.RefreshToken).WantStatus(t, http.StatusOK).Decode(t, &next)

	// A second tab within the grace period gets the same pair.
	srv.Clock.Advance(2 * time.Second)
	var again tokenPair
	rf(p.RefreshToken).WantStatus(t, http.StatusOK).Decode(t, &again)
	if again.RefreshToken != next.RefreshToken || again.AccessToken != next.AccessToken {
		t.Error("a replay with scope within the grace period got another pair")
	}

	// After it, the replay is theft: the grant dies, scope or not.
	srv.Clock.Advance(20 * time.Second)
	rf(p.RefreshToken).WantError(t, http.StatusBadRequest, "invalid_grant")
	rf(next.RefreshToken).WantError(t, http.StatusBadRequest, "invalid_grant")
	if in := introspect(t, srv, next.AccessToken); in["active"] != false {
		t.Errorf("the thief's access token is still active: %v", in)
	}

	// A store outage is a server error, never invalid_grant.
	q := clientGrant(t, srv, u.ID, web.ClientID)
	if err := srv.App.Close(); err != nil {
		t.Fatal(err)
	}
	rf(q.RefreshToken).WantError(t, http.StatusInternalServerError, "server_error")
}

// TestTokensEndWithTheirRecord checks that no access token outlives the
// session or grant it belongs to: its exp is at most the record's end.
// Before the fix a token minted from a cookie session a moment before the
// session's end lived its full five minutes.
func TestTokensEndWithTheirRecord(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--session-lifetime=20s", "--grant-lifetime=1m"}})
	u, c := srv.NewSession(t)
	sess, err := srv.App.Sessions.Get(t.Context(), c.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	srv.Clock.Advance(15 * time.Second)
	var p tokenPair
	c.Do(t, http.MethodPost, "/v1/session/token", nil).WantStatus(t, http.StatusOK).Decode(t, &p)
	if exp := numericDate(t, rawClaims(t, p.AccessToken), "exp"); exp.After(sess.ExpiresAt) || p.ExpiresIn > 5 {
		t.Errorf("session token exp %v (expires_in %d), want at most the session's end %v", exp, p.ExpiresIn, sess.ExpiresAt)
	}
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	srv.Clock.Advance(5*time.Second + keysLeeway)
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	c.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")

	// A refresh near the grant's end, and the code flow's grants, which
	// share the minting path.
	login := tokenLogin(t, srv, u)
	srv.Clock.Advance(50 * time.Second)
	var r tokenPair
	refresh(t, srv, login.RefreshToken).WantStatus(t, http.StatusOK).Decode(t, &r)
	grants, err := srv.App.Sessions.List(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var grant store.Session
	for _, g := range grants {
		if g.Kind == store.KindToken {
			grant = g
		}
	}
	if exp := numericDate(t, rawClaims(t, r.AccessToken), "exp"); grant.ID == "" || exp.After(grant.ExpiresAt) {
		t.Errorf("refreshed token exp %v, want at most the grant's end %v", exp, grant.ExpiresAt)
	}
	web := newClient(t, srv, map[string]any{"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{"https://app.example.com/cb"}, "scope": "openid"})
	cg := clientGrant(t, srv, u.ID, web.ClientID)
	srv.Clock.Advance(58 * time.Second)
	var cr tokenPair
	form(t, basicAuth(srv, web.ClientID, web.ClientSecret), "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cg.RefreshToken}}).WantStatus(t, http.StatusOK).Decode(t, &cr)
	if cr.ExpiresIn > 2 {
		t.Errorf("a client grant refreshed 2s before its end gave a token for %ds", cr.ExpiresIn)
	}
}

// keysLeeway is the server's default leeway on its own tokens.
const keysLeeway = 5 * time.Second

// TestServerLeeway checks that the server refuses its own tokens a few
// seconds past exp at every check: /v1/me, userinfo, introspection and
// the admin API. Before the fix it accepted them for 30 s.
func TestServerLeeway(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	p := tokenLogin(t, srv, u)
	adminClient := serviceClient(t, srv, "gatehouse:admin")
	admin := clientToken(t, srv, adminClient, url.Values{"scope": {"gatehouse:admin"}})
	exp := numericDate(t, rawClaims(t, p.AccessToken), "exp")
	srv.Clock.Advance(exp.Sub(srv.Clock.Now()) + keysLeeway - time.Second)
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	srv.Clock.Advance(time.Second)
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/userinfo", nil).WantStatus(t, http.StatusUnauthorized)
	bearer(srv, admin.AccessToken).Do(t, http.MethodGet, "/admin/v1/users/"+u.ID, nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	if in := introspect(t, srv, p.AccessToken); in["active"] != false {
		t.Errorf("introspection 5s past exp = %v, want inactive", in)
	}

	// --token-leeway sets it; 0 refuses a token at its exp.
	strict := apptest.Start(t, apptest.Options{Args: []string{"--token-leeway=0s"}})
	su := strict.NewUser(t)
	sp := tokenLogin(t, strict, su)
	strict.Clock.Advance(numericDate(t, rawClaims(t, sp.AccessToken), "exp").Sub(strict.Clock.Now()))
	bearer(strict, sp.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
}

// TestIntegerNumericDates checks that iat, exp and auth_time are integers
// in every token: access tokens of each minting path and ID tokens, even
// when the clock has a fraction of a second. Before the fix iat carried
// milliseconds.
func TestIntegerNumericDates(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	srv.Clock.Advance(123 * time.Millisecond)
	u, c := srv.NewSession(t)
	login := tokenLogin(t, srv, u)
	var st tokenPair
	c.Do(t, http.MethodPost, "/v1/session/token", nil).WantStatus(t, http.StatusOK).Decode(t, &st)
	var refreshed tokenPair
	srv.Clock.Advance(456 * time.Millisecond)
	refresh(t, srv, login.RefreshToken).WantStatus(t, http.StatusOK).Decode(t, &refreshed)
	svc := clientToken(t, srv, serviceClient(t, srv, "reports:read"), nil)

	r := newRP(t, srv, map[string]any{"scope": "openid offline_access"})
	b := newBrowser(t, srv)
	q := r.authorize(t, b, u)
	tok, err := r.config.Exchange(r.ctx, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	idt, _ := tok.Extra("id_token").(string)
	tokens := map[string]string{
		"login": login.AccessToken, "session token": st.AccessToken, "refresh": refreshed.AccessToken,
		"client credentials": svc.AccessToken, "code flow": tok.AccessToken, "ID token": idt,
	}
	for name, tk := range tokens {
		cl := rawClaims(t, tk)
		for _, claim := range []string{"iat", "exp", "nbf", "auth_time"} {
			if raw, ok := cl[claim]; ok && strings.ContainsAny(string(raw), ".eE") {
				t.Errorf("%s: %s = %s, want an integer", name, claim, raw)
			}
		}
		if iat := numericDate(t, cl, "iat"); iat.After(srv.Clock.Now()) {
			t.Errorf("%s: iat %v after now %v: truncate, never round up", name, iat, srv.Clock.Now())
		}
	}
}

// TestCodeDiesWithBrowserSession checks that an authorization code cannot
// be redeemed once the browser session that approved it has ended, by
// logout or by any user-wide revocation. Before the fix the code still
// redeemed for a live grant within its 60 seconds.
func TestCodeDiesWithBrowserSession(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	r := newRP(t, srv, map[string]any{"scope": "openid offline_access"})
	tests := []struct {
		name string
		end  func(t *testing.T, u apptest.User)
		dead bool
	}{
		{"nothing happens", func(*testing.T, apptest.User) {}, false},
		{"logout", func(t *testing.T, u apptest.User) {
			rs, err := srv.App.Sessions.List(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range rs {
				if s.Kind == store.KindCookie {
					if err := srv.App.Sessions.Revoke(t.Context(), u.ID, s.ID, "revoked"); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, true},
		{"revoke-all from another login", func(t *testing.T, u apptest.User) {
			p := tokenLogin(t, srv, u)
			bearer(srv, p.AccessToken).Do(t, http.MethodDelete, "/v1/sessions", nil).WantStatus(t, http.StatusNoContent)
		}, true},
		{"password reset", func(t *testing.T, u apptest.User) {
			srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"password": "a brand new password"}).WantStatus(t, http.StatusOK)
		}, true},
		{"disable", func(t *testing.T, u apptest.User) {
			srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"disabled": true}).WantStatus(t, http.StatusOK)
		}, true},
		{"delete", func(t *testing.T, u apptest.User) {
			srv.Admin().Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID, nil).WantStatus(t, http.StatusNoContent)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := srv.NewUser(t)
			q := r.authorize(t, newBrowser(t, srv), u)
			tt.end(t, u)
			srv.Clock.Advance(time.Second)
			tok, err := r.config.Exchange(r.ctx, q.Get("code"))
			if !tt.dead {
				if err != nil {
					t.Fatalf("exchange: %v", err)
				}
				return
			}
			wantOAuthError(t, err, "invalid_grant")
			if tok != nil {
				t.Errorf("a dead code gave tokens")
			}
			rs, _ := srv.App.Sessions.List(t.Context(), u.ID)
			for _, s := range rs {
				if s.ClientID == r.client.ClientID {
					t.Errorf("a grant %s of the dead code survives", s.ID)
				}
			}
		})
	}
}

// TestAddSigningAlgorithmAtRuntime checks POST /admin/v1/keys/rotate with
// an algorithm the server had no key for: it is published at once, listed
// in discovery and open to client registration once it signs, and an
// immediate rotation signs at once.
func TestAddSigningAlgorithmAtRuntime(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	var rot struct {
		KID       string `json:"kid"`
		SignsFrom string `json:"signs_from"`
	}
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/keys/rotate?alg=ES256", nil).WantStatus(t, http.StatusOK).Decode(t, &rot)
	if !strings.HasPrefix(rot.KID, "ES256-") {
		t.Fatalf("kid %q, want an ES256 key", rot.KID)
	}
	if !strings.Contains(string(srv.NewClient().Do(t, http.MethodGet, "/.well-known/jwks.json", nil).Body), rot.KID) {
		t.Error("the new key is not published at once")
	}
	algs := func() []string {
		var d struct {
			Algs []string `json:"id_token_signing_alg_values_supported"`
		}
		srv.NewClient().Do(t, http.MethodGet, "/.well-known/openid-configuration", nil).WantStatus(t, http.StatusOK).Decode(t, &d)
		return d.Algs
	}
	if slices.Contains(algs(), "ES256") {
		t.Error("discovery lists ES256 before its key signs")
	}
	srv.Clock.Advance(config.DefaultKeyPublishDelay)
	if got := algs(); !slices.Contains(got, "ES256") || !slices.Contains(got, "EdDSA") || !slices.Contains(got, "RS256") {
		t.Errorf("discovery lists %v, want EdDSA, ES256 and RS256", got)
	}
	newClient(t, srv, map[string]any{"grant_types": []string{"authorization_code"}, "redirect_uris": []string{rpCallback}, "scope": "openid", "id_token_signed_response_alg": "ES256"})

	srv.Admin().Do(t, http.MethodPost, "/admin/v1/keys/rotate?alg=HS256", nil).WantError(t, http.StatusBadRequest, "invalid_request")
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/keys/rotate?immediate=maybe", nil).WantError(t, http.StatusBadRequest, "invalid_request")
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/keys/rotate?immediate=true", nil).WantStatus(t, http.StatusOK).Decode(t, &rot)
	u := srv.NewUser(t)
	h, _ := jwtParts(t, tokenLogin(t, srv, u).AccessToken)
	if h["kid"] != rot.KID {
		t.Errorf("after an immediate rotation tokens are signed by %v, want %s", h["kid"], rot.KID)
	}
}

// TestSigningAlgorithmChangeKeepsIDTokenAlgorithms restarts a server on
// the same database with another --signing-algorithm: access tokens keep
// the old algorithm until the new key has been published for the publish
// delay, discovery keeps listing EdDSA, and a client registered for EdDSA
// ID tokens gets them from an EdDSA key that keeps rotating. Before the
// fix discovery dropped EdDSA and its key was never rotated again.
func TestSigningAlgorithmChangeKeepsIDTokenAlgorithms(t *testing.T) {
	dir := t.TempDir()
	clock := clocktest.New(clocktest.Epoch)
	apptest.Start(t, apptest.Options{Clock: clock, Args: []string{"--data-dir", dir}}) // EdDSA keys
	srv := apptest.Start(t, apptest.Options{Clock: clock, Args: []string{"--data-dir", dir, "--signing-algorithm", "ES256"}})
	u := srv.NewUser(t)
	if h, _ := jwtParts(t, tokenLogin(t, srv, u).AccessToken); h["alg"] != "EdDSA" {
		t.Errorf("right after the restart access tokens are %v, want EdDSA until the ES256 key is published long enough", h["alg"])
	}
	clock.Advance(config.DefaultKeyPublishDelay)
	if h, _ := jwtParts(t, tokenLogin(t, srv, u).AccessToken); h["alg"] != "ES256" {
		t.Errorf("after the publish delay access tokens are %v, want ES256", h["alg"])
	}
	var d struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	srv.NewClient().Do(t, http.MethodGet, "/.well-known/openid-configuration", nil).WantStatus(t, http.StatusOK).Decode(t, &d)
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		if !slices.Contains(d.Algs, alg) {
			t.Errorf("discovery lists %v, want %s too", d.Algs, alg)
		}
	}

	r := newRP(t, srv, map[string]any{"scope": "openid", "grant_types": []string{"authorization_code"}, "id_token_signed_response_alg": "EdDSA"})
	idKid := func() string {
		t.Helper()
		q := r.authorize(t, newBrowser(t, srv), u)
		tok, err := r.config.Exchange(r.ctx, q.Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		idt, _ := tok.Extra("id_token").(string)
		h, _ := jwtParts(t, idt)
		if h["alg"] != "EdDSA" {
			t.Fatalf("ID token alg %v, want the registered EdDSA", h["alg"])
		}
		kid, _ := h["kid"].(string)
		return kid
	}
	before := idKid()
	clock.Advance(31 * 24 * time.Hour) // past --key-rotation-interval
	// One round of the server's key jobs: Maintain, then Reload.
	if err := srv.App.Keys.Maintain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := srv.App.Keys.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(config.DefaultKeyPublishDelay)
	if after := idKid(); after == before {
		t.Errorf("the EdDSA key %s signing ID tokens was not rotated", before)
	}
}
