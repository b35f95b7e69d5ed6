package httpapi_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// idClaims are the claims of an ID token that go-oidc's IDToken does not
// decode.
type idClaims struct {
	AuthTime int64    `json:"auth_time"`
	SID      string   `json:"sid"`
	AZP      string   `json:"azp"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	// Nonce is a pointer so that an absent nonce tells from an empty one.
	Nonce *string `json:"nonce"`
}

// verifyIDToken checks tok's id_token with go-oidc, and its at_hash
// against tok's access token, and returns it with its other claims.
func verifyIDToken(t *testing.T, v *oidc.IDTokenVerifier, r rp, tok *oauth2.Token) (*oidc.IDToken, idClaims) {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatalf("no id_token in the token response")
	}
	id, err := v.Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var c idClaims
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return id, c
}

// redisSessions returns a --sessions URL with a key prefix of the test's
// own, whose keys are deleted when the test ends.
func redisSessions(t *testing.T) string {
	t.Helper()
	c := redistest.Client(t)
	u, err := url.Parse(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("key_prefix", redistest.Prefix(t, c))
	u.RawQuery = q.Encode()
	return u.String()
}

// TestRefreshIDTokenWithGoOIDC refreshes a code-flow grant with x/oauth2
// and checks the new ID token with go-oidc against OpenID Connect Core
// section 12.2, on every backend that keeps grants: the same iss, sub,
// aud, azp, sid, acr and amr; auth_time still the browser login, which
// was before the grant was created; iat and exp of the refresh; no nonce;
// the at_hash of the new access token. A spent refresh token replayed
// within the grace period gets the same ID token.
func TestRefreshIDTokenWithGoOIDC(t *testing.T) {
	backends := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"SQLite", func(*testing.T) []string { return nil }},
		{"PostgreSQL", func(t *testing.T) []string { return []string{"--db", pgtest.NewDatabase(t)} }},
		{"Redis sessions", func(t *testing.T) []string { return []string{"--sessions", redisSessions(t)} }},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: be.args(t)})
			u := srv.NewUser(t)
			r := newRP(t, srv, map[string]any{"client_name": "RP", "scope": "openid profile email offline_access"})
			idv := r.provider.Verifier(&oidc.Config{ClientID: r.client.ClientID, Now: srv.Clock.Now})
			b := newBrowser(t, srv)

			// The user logs in now; ten minutes later the RP asks again and
			// the session answers without a login. The grant is created
			// then, but auth_time stays the login.
			loginAt := srv.Clock.Now()
			verifier := oauth2.GenerateVerifier()
			r.authorize(t, b, u, oauth2.S256ChallengeOption(verifier))
			srv.Clock.Advance(10 * time.Minute)
			nonce := "nonce-" + oauth2.GenerateVerifier()[:16]
			q := r.authorize(t, b, u, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
			tok, err := r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			orig, oc := verifyIDToken(t, idv, r, tok)
			if oc.AuthTime != loginAt.Unix() || oc.Nonce == nil || *oc.Nonce != nonce {
				t.Fatalf("code exchange ID token: auth_time %d nonce %v, want %d %q", oc.AuthTime, oc.Nonce, loginAt.Unix(), nonce)
			}

			// Twenty minutes on, both tokens have expired: x/oauth2
			// refreshes.
			refreshAt := srv.Clock.Advance(20 * time.Minute)
			old := *tok
			old.Expiry = time.Now().Add(-time.Minute)
			fresh, err := r.config.TokenSource(r.ctx, &old).Token()
			if err != nil {
				t.Fatalf("x/oauth2 refresh: %v", err)
			}
			if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
				t.Fatalf("refresh did not rotate")
			}
			id, c := verifyIDToken(t, idv, r, fresh)
			if id.Issuer != orig.Issuer || id.Subject != orig.Subject || id.Subject != u.ID || !slices.Equal(id.Audience, orig.Audience) {
				t.Errorf("iss, sub, aud = %s %s %v, want %s %s %v", id.Issuer, id.Subject, id.Audience, orig.Issuer, orig.Subject, orig.Audience)
			}
			if c.AuthTime != oc.AuthTime {
				t.Errorf("auth_time = %d, want the original %d (the login), not the refresh", c.AuthTime, oc.AuthTime)
			}
			if !id.IssuedAt.Equal(refreshAt) || !id.IssuedAt.After(orig.IssuedAt) || !id.Expiry.Equal(refreshAt.Add(5*time.Minute)) {
				t.Errorf("iat %v exp %v, want %v and 5 minutes later (the original iat was %v)", id.IssuedAt, id.Expiry, refreshAt, orig.IssuedAt)
			}
			if c.Nonce != nil || id.Nonce != "" {
				t.Errorf("refreshed ID token has nonce %q", id.Nonce)
			}
			if c.AZP != oc.AZP || c.AZP != r.client.ClientID || c.SID != oc.SID || c.SID == "" || c.ACR != oc.ACR || !slices.Equal(c.AMR, oc.AMR) {
				t.Errorf("azp sid acr amr = %q %q %q %v, want %q %q %q %v", c.AZP, c.SID, c.ACR, c.AMR, oc.AZP, oc.SID, oc.ACR, oc.AMR)
			}
			if hdr, _ := jwtParts(t, fresh.Extra("id_token").(string)); hdr["alg"] != "RS256" || hdr["typ"] != "JWT" {
				t.Errorf("header = %v, want RS256 JWT as at the code exchange", hdr)
			}

			// Within the grace period the spent refresh token gets the very
			// same answer, ID token included.
			srv.Clock.Advance(2 * time.Second)
			replay, err := r.config.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("replay within the grace period: %v", err)
			}
			if replay.AccessToken != fresh.AccessToken || replay.RefreshToken != fresh.RefreshToken || replay.Extra("id_token") != fresh.Extra("id_token") {
				t.Errorf("replay within the grace period got another answer")
			}

			// The next refresh still says when the user logged in.
			srv.Clock.Advance(time.Hour)
			next, err := r.config.TokenSource(r.ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("second refresh: %v", err)
			}
			id2, c2 := verifyIDToken(t, idv, r, next)
			if c2.AuthTime != oc.AuthTime || !id2.IssuedAt.After(id.IssuedAt) || c2.SID != oc.SID || c2.Nonce != nil {
				t.Errorf("second refresh: auth_time %d iat %v sid %q nonce %q", c2.AuthTime, id2.IssuedAt, c2.SID, id2.Nonce)
			}
		})
	}
}

// TestRefreshIDTokenByGrant checks which refreshes carry an ID token, and
// how it is signed: only grants with scope openid get one, signed with
// the client's registered algorithm as at the code exchange.
func TestRefreshIDTokenByGrant(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	tests := []struct {
		name   string
		client map[string]any
		// alg is the ID token's algorithm; empty for none.
		alg string
	}{
		{"openid, RS256 by default", map[string]any{"scope": "openid offline_access"}, "RS256"},
		{"openid, registered EdDSA", map[string]any{"scope": "openid offline_access", "id_token_signed_response_alg": "EdDSA"}, "EdDSA"},
		{"public client", map[string]any{"scope": "openid offline_access", "token_endpoint_auth_method": "none", "first_party": true}, "RS256"},
		{"no openid", map[string]any{"scope": "profile offline_access"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.client["client_name"] = tt.name
			r := newRP(t, srv, tt.client)
			b := newBrowser(t, srv)
			verifier := oauth2.GenerateVerifier()
			q := r.authorize(t, b, u, oauth2.S256ChallengeOption(verifier))
			tok, err := r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			srv.Clock.Advance(time.Minute)
			old := *tok
			old.Expiry = time.Now().Add(-time.Minute)
			fresh, err := r.config.TokenSource(r.ctx, &old).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if tt.alg == "" {
				if tok.Extra("id_token") != nil || fresh.Extra("id_token") != nil {
					t.Fatalf("id_token without openid: exchange %v, refresh %v", tok.Extra("id_token"), fresh.Extra("id_token"))
				}
				return
			}
			idv := r.provider.Verifier(&oidc.Config{ClientID: r.client.ClientID, Now: srv.Clock.Now, SupportedSigningAlgs: []string{tt.alg}})
			_, oc := verifyIDToken(t, idv, r, tok)
			id, c := verifyIDToken(t, idv, r, fresh)
			if c.AuthTime != oc.AuthTime || c.SID != oc.SID || c.Nonce != nil {
				t.Errorf("refreshed auth_time %d sid %q nonce %q; exchange had %d %q", c.AuthTime, c.SID, id.Nonce, oc.AuthTime, oc.SID)
			}
		})
	}
}
