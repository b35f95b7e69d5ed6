package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/config"
)

// tokenPair is a token endpoint answer.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// tokenLogin logs in in token mode.
func tokenLogin(t *testing.T, srv *apptest.Server, u apptest.User) tokenPair {
	t.Helper()
	var p tokenPair
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(t, http.StatusOK).Decode(t, &p)
	if p.AccessToken == "" || p.RefreshToken == "" || p.TokenType != "Bearer" {
		t.Fatalf("token login answered %+v", p)
	}
	return p
}

// bearer returns a client that sends the access token.
func bearer(srv *apptest.Server, tok string) *apptest.Client {
	c := srv.NewClient()
	c.Header.Set("Authorization", "Bearer "+tok)
	return c
}

// form posts a form body to an OAuth endpoint.
func form(t *testing.T, c *apptest.Client, path string, v url.Values) *apptest.Response {
	t.Helper()
	return c.Do(t, http.MethodPost, path, v.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

func refresh(t *testing.T, srv *apptest.Server, rt string) *apptest.Response {
	t.Helper()
	return form(t, srv.NewClient(), "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// refreshNoT is refresh for a goroutine that must not stop the test: it
// decodes a 200 answer into p and returns anything else as an error.
func refreshNoT(srv *apptest.Server, rt string, p *tokenPair) error {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	res, err := srv.HTTP.Client().PostForm(srv.URL+"/oauth2/token", form)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("refresh: %d %s", res.StatusCode, body)
	}
	return json.Unmarshal(body, p)
}

// jwtParts decodes a JWT's header and claims without verifying it.
func jwtParts(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("decode part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("unmarshal part %d: %v", i, err)
		}
	}
	return header, claims
}

func meSessionID(t *testing.T, c *apptest.Client) string {
	t.Helper()
	var me struct {
		Auth struct {
			Method    string `json:"method"`
			SessionID string `json:"session_id"`
		} `json:"auth"`
	}
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
	return me.Auth.SessionID
}

func TestTokenLoginClaims(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"claims": map[string]any{"role": "editor"}}).WantStatus(t, http.StatusOK)
	p := tokenLogin(t, srv, u)
	if p.ExpiresIn != 300 {
		t.Errorf("expires_in = %d, want 300 (the 5m default)", p.ExpiresIn)
	}
	h, c := jwtParts(t, p.AccessToken)
	if h["typ"] != "at+jwt" || h["alg"] != "EdDSA" || h["kid"] == nil {
		t.Errorf("header = %v, want typ at+jwt, alg EdDSA and a kid", h)
	}
	for _, name := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "sid"} {
		if _, ok := c[name]; !ok {
			t.Errorf("claim %q missing from %v", name, c)
		}
	}
	if c["sub"] != u.ID || c["iss"] != srv.URL || c["role"] != "editor" {
		t.Errorf("claims = %v, want sub %s, iss %s and role editor", c, u.ID, srv.URL)
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 300 {
		t.Errorf("exp - iat = %v, want 300", exp-iat)
	}

	var me struct {
		User struct{ ID string } `json:"user"`
		Auth struct {
			Method    string    `json:"method"`
			SessionID string    `json:"session_id"`
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"auth"`
	}
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
	if me.User.ID != u.ID || me.Auth.Method != "jwt" || me.Auth.SessionID != c["sid"] {
		t.Errorf("/v1/me = %+v, want user %s, method jwt, session %v", me, u.ID, c["sid"])
	}

	// The grant is listed beside cookie sessions, with the same public id.
	var list struct {
		Sessions []struct {
			ID, Kind string
			Current  bool
		} `json:"sessions"`
	}
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/sessions", nil).WantStatus(t, http.StatusOK).Decode(t, &list)
	if len(list.Sessions) != 1 || list.Sessions[0].Kind != "token" || list.Sessions[0].ID != c["sid"] || !list.Sessions[0].Current {
		t.Errorf("sessions = %+v, want the one current token grant %v", list.Sessions, c["sid"])
	}
	if strings.Contains(string(srv.NewClient().Do(t, http.MethodGet, "/.well-known/jwks.json", nil).Body), `"d"`) {
		t.Error("JWKS contains private key material")
	}
}

// TestTokenLoginResponseMembers pins the members of a token-mode login
// answer (spec: access_token, token_type, expires_in, refresh_token,
// scope), whatever type the token service returns it as.
func TestTokenLoginResponseMembers(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	var got map[string]any
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(t, http.StatusOK).Decode(t, &got)
	want := []string{"access_token", "expires_in", "refresh_token", "scope", "token_type"}
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
		t.Fatalf("token login members = %v, want %v", keys, want)
	}
	if got["token_type"] != "Bearer" || got["scope"] != "" || got["expires_in"] != float64(300) {
		t.Errorf("token login = %v, want token_type Bearer, scope \"\", expires_in 300", got)
	}
}

func TestBearerRejected(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	p := tokenLogin(t, srv, u)
	parts := strings.Split(p.AccessToken, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"someone-else"}`)) + "." + parts[2]
	tests := map[string]string{
		"alg none":        none,
		"tampered claims": tampered,
		"garbage":         "not-a-token",
		"refresh token":   p.RefreshToken,
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			r := bearer(srv, tok).Do(t, http.MethodGet, "/v1/me", nil)
			r.WantError(t, http.StatusUnauthorized, "unauthenticated")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		srv.Clock.Advance(5*time.Minute + 31*time.Second)
		bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	})
}

func TestRefreshRotationGraceAndReuse(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	first := tokenLogin(t, srv, u)

	var second tokenPair
	refresh(t, srv, first.RefreshToken).WantStatus(t, http.StatusOK).Decode(t, &second)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatalf("refresh did not rotate: %+v", second)
	}
	_, c1 := jwtParts(t, first.AccessToken)
	_, c2 := jwtParts(t, second.AccessToken)
	if c1["sid"] != c2["sid"] {
		t.Errorf("refreshed token has sid %v, want the grant's %v", c2["sid"], c1["sid"])
	}

	// Within the grace period the old token returns the same new pair.
	srv.Clock.Advance(5 * time.Second)
	var again tokenPair
	refresh(t, srv, first.RefreshToken).WantStatus(t, http.StatusOK).Decode(t, &again)
	if again.RefreshToken != second.RefreshToken || again.AccessToken != second.AccessToken {
		t.Errorf("reuse within grace gave a different pair")
	}

	// After it, reuse is theft: the whole grant dies with its tokens.
	srv.Clock.Advance(6 * time.Second)
	refresh(t, srv, first.RefreshToken).WantError(t, http.StatusBadRequest, "invalid_grant")
	bearer(srv, second.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	refresh(t, srv, second.RefreshToken).WantError(t, http.StatusBadRequest, "invalid_grant")
}

func TestRefreshRacingTabs(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	p := tokenLogin(t, srv, srv.NewUser(t))
	const tabs = 6
	got := make([]tokenPair, tabs)
	errs := make([]error, tabs)
	var wg sync.WaitGroup
	for i := range tabs {
		// No t in the goroutines: a failure there is an error, reported
		// below.
		wg.Go(func() { errs[i] = refreshNoT(srv, p.RefreshToken, &got[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < tabs; i++ {
		if got[i].RefreshToken != got[0].RefreshToken {
			t.Fatalf("tab %d got refresh token %q, tab 0 %q: racing tabs must share one new pair", i, got[i].RefreshToken, got[0].RefreshToken)
		}
	}
	bearer(srv, got[0].AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
}

func TestRevocationPaths(t *testing.T) {
	tests := []struct {
		name   string
		revoke func(t *testing.T, srv *apptest.Server, u apptest.User, p tokenPair)
	}{
		{"logout with the bearer token", func(t *testing.T, srv *apptest.Server, u apptest.User, p tokenPair) {
			bearer(srv, p.AccessToken).Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
		}},
		{"session delete from a cookie session", func(t *testing.T, srv *apptest.Server, u apptest.User, p tokenPair) {
			_, c := jwtParts(t, p.AccessToken)
			srv.Login(t, u.Email, u.Password).Do(t, http.MethodDelete, "/v1/sessions/"+c["sid"].(string), nil).WantStatus(t, http.StatusNoContent)
		}},
		{"delete all other sessions", func(t *testing.T, srv *apptest.Server, u apptest.User, p tokenPair) {
			srv.Login(t, u.Email, u.Password).Do(t, http.MethodDelete, "/v1/sessions", nil).WantStatus(t, http.StatusNoContent)
		}},
		{"admin disables the user", func(t *testing.T, srv *apptest.Server, u apptest.User, p tokenPair) {
			srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"disabled": true}).WantStatus(t, http.StatusOK)
		}},
		{"admin revokes the user's sessions", func(t *testing.T, srv *apptest.Server, u apptest.User, p tokenPair) {
			srv.Admin().Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID+"/sessions", nil).WantStatus(t, http.StatusNoContent)
		}},
		{"RFC 7009 revocation of the refresh token", func(t *testing.T, srv *apptest.Server, u apptest.User, p tokenPair) {
			form(t, srv.NewClient(), "/oauth2/revoke", url.Values{"token": {p.RefreshToken}}).WantStatus(t, http.StatusOK)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{})
			u := srv.NewUser(t)
			p := tokenLogin(t, srv, u)
			bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
			tt.revoke(t, srv, u, p)
			bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
			var in map[string]any
			form(t, srv.Admin(), "/oauth2/introspect", url.Values{"token": {p.AccessToken}}).WantStatus(t, http.StatusOK).Decode(t, &in)
			if in["active"] != false || len(in) != 1 {
				t.Errorf("introspection of a revoked token = %v, want only active=false", in)
			}
			refresh(t, srv, p.RefreshToken).WantError(t, http.StatusBadRequest, "invalid_grant")

			// The feed carries the revocation for outside verifiers.
			var feed struct {
				Revocations []struct {
					Cursor int64
					SID    string `json:"sid"`
					User   string `json:"user"`
				} `json:"revocations"`
				Cursor int64 `json:"cursor"`
			}
			srv.NewClient().Do(t, http.MethodGet, "/v1/revocations", nil).WantStatus(t, http.StatusOK).Decode(t, &feed)
			_, c := jwtParts(t, p.AccessToken)
			found := false
			for _, e := range feed.Revocations {
				found = found || e.SID == c["sid"] || e.User == u.ID
			}
			if !found || feed.Cursor == 0 {
				t.Errorf("feed %+v does not carry the revocation of sid %v", feed, c["sid"])
			}
			var later struct {
				Revocations []any `json:"revocations"`
			}
			srv.NewClient().Do(t, http.MethodGet, "/v1/revocations?since="+itoa(feed.Cursor), nil).WantStatus(t, http.StatusOK).Decode(t, &later)
			if len(later.Revocations) != 0 {
				t.Errorf("since=%d returned %d events, want 0", feed.Cursor, len(later.Revocations))
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRevokeOneAccessToken(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	p := tokenLogin(t, srv, srv.NewUser(t))
	var p2 tokenPair
	refresh(t, srv, p.RefreshToken).WantStatus(t, http.StatusOK).Decode(t, &p2)
	form(t, srv.NewClient(), "/oauth2/revoke", url.Values{"token": {p.AccessToken}}).WantStatus(t, http.StatusOK)
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	// The grant and its other tokens live on.
	bearer(srv, p2.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	// Unknown tokens are not an error (RFC 7009 section 2.2).
	form(t, srv.NewClient(), "/oauth2/revoke", url.Values{"token": {"garbage"}}).WantStatus(t, http.StatusOK)
}

func TestSessionToken(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	var p tokenPair
	c.Do(t, http.MethodPost, "/v1/session/token", nil).WantStatus(t, http.StatusOK).Decode(t, &p)
	_, claims := jwtParts(t, p.AccessToken)
	if claims["sid"] != c.SessionID || p.RefreshToken != "" {
		t.Errorf("session token sid = %v (want %s), refresh %q (want none)", claims["sid"], c.SessionID, p.RefreshToken)
	}
	if got := meSessionID(t, bearer(srv, p.AccessToken)); got != c.SessionID {
		t.Errorf("/v1/me session_id = %q, want %q", got, c.SessionID)
	}

	var other tokenPair
	c.Do(t, http.MethodPost, "/v1/session/token", map[string]string{"audience": "https://api.example.com"}).WantStatus(t, http.StatusOK).Decode(t, &other)
	bearer(srv, other.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	var in map[string]any
	form(t, srv.Admin(), "/oauth2/introspect", url.Values{"token": {other.AccessToken}}).WantStatus(t, http.StatusOK).Decode(t, &in)
	if in["active"] != true || in["sid"] != c.SessionID {
		t.Errorf("introspection = %v, want active with sid %s", in, c.SessionID)
	}

	// CSRF applies: the cookie session's POST needs its token.
	c.Do(t, http.MethodPost, "/v1/session/token", nil, "X-CSRF-Token", "").WantError(t, http.StatusForbidden, "csrf_failed")

	c.Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
	bearer(srv, p.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
}

func TestKeyRotation(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	before := tokenLogin(t, srv, u)
	var rot struct {
		KID       string `json:"kid"`
		SignsFrom string `json:"signs_from"`
	}
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/keys/rotate", nil).WantStatus(t, http.StatusOK).Decode(t, &rot)
	srv.NewClient().Do(t, http.MethodPost, "/admin/v1/keys/rotate", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	// The new key is published first: it signs only after the publish
	// delay, when every verifier's cached JWKS has it.
	if want := srv.Clock.Now().Add(config.DefaultKeyPublishDelay).UTC().Format(time.RFC3339); rot.SignsFrom != want {
		t.Errorf("signs_from = %q, want %q", rot.SignsFrom, want)
	}
	during := tokenLogin(t, srv, u)
	srv.Clock.Advance(config.DefaultKeyPublishDelay)
	after := tokenLogin(t, srv, u)
	hb, _ := jwtParts(t, before.AccessToken)
	hd, _ := jwtParts(t, during.AccessToken)
	ha, _ := jwtParts(t, after.AccessToken)
	if ha["kid"] != rot.KID || hb["kid"] == rot.KID || hd["kid"] != hb["kid"] {
		t.Errorf("kids: before %v, during the publish delay %v, after %v, rotated to %s", hb["kid"], hd["kid"], ha["kid"], rot.KID)
	}
	bearer(srv, after.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
	var jwks struct {
		Keys []struct {
			KID string `json:"kid"`
			Alg string `json:"alg"`
			Use string `json:"use"`
		} `json:"keys"`
	}
	srv.NewClient().Do(t, http.MethodGet, "/.well-known/jwks.json", nil).WantStatus(t, http.StatusOK)
	r := srv.NewClient().Do(t, http.MethodGet, "/.well-known/jwks.json", nil)
	if err := json.Unmarshal(r.Body, &jwks); err != nil {
		t.Fatal(err)
	}
	kids := map[string]bool{}
	for _, k := range jwks.Keys {
		kids[k.KID] = true
		if k.Alg == "" || k.Use != "sig" {
			t.Errorf("key %+v lacks alg or use=sig", k)
		}
	}
	if !kids[hb["kid"].(string)] || !kids[rot.KID] {
		t.Errorf("JWKS kids %v, want both %v and %s", kids, hb["kid"], rot.KID)
	}
	// Once every token the old key signed has expired, it leaves the JWKS.
	srv.Clock.Advance(10 * time.Minute)
	// One round of the server's key jobs: Maintain, then Reload.
	if err := srv.App.Keys.Maintain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := srv.App.Keys.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	r = srv.NewClient().Do(t, http.MethodGet, "/.well-known/jwks.json", nil)
	if strings.Contains(string(r.Body), hb["kid"].(string)) {
		t.Errorf("retired key %v still in the JWKS after its tokens expired", hb["kid"])
	}
}

func TestIntrospection(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	p := tokenLogin(t, srv, u)
	form(t, srv.NewClient(), "/oauth2/introspect", url.Values{"token": {p.AccessToken}}).WantStatus(t, http.StatusUnauthorized)
	form(t, bearer(srv, p.AccessToken), "/oauth2/introspect", url.Values{"token": {p.AccessToken}}).WantStatus(t, http.StatusUnauthorized)

	for name, tc := range map[string]struct {
		token, typ string
	}{
		"access":  {p.AccessToken, "access_token"},
		"refresh": {p.RefreshToken, "refresh_token"},
	} {
		t.Run(name, func(t *testing.T) {
			var in map[string]any
			form(t, srv.Admin(), "/oauth2/introspect", url.Values{"token": {tc.token}}).WantStatus(t, http.StatusOK).Decode(t, &in)
			if in["active"] != true || in["sub"] != u.ID || in["token_type"] != tc.typ {
				t.Errorf("introspection = %v, want active %s of %s", in, tc.typ, u.ID)
			}
		})
	}
	var in map[string]any
	form(t, srv.Admin(), "/oauth2/introspect", url.Values{"token": {"garbage"}}).WantStatus(t, http.StatusOK).Decode(t, &in)
	if in["active"] != false {
		t.Errorf("introspection of garbage = %v", in)
	}
	_, c := srv.NewSession(t)
	form(t, srv.Admin(), "/oauth2/introspect", url.Values{"token": {c.Cookie}, "token_type_hint": {"gatehouse_session"}}).WantStatus(t, http.StatusOK).Decode(t, &in)
	if in["active"] != true || in["sid"] != c.SessionID {
		t.Errorf("cookie introspection = %v, want active session %s", in, c.SessionID)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	tests := []struct {
		name   string
		body   url.Values
		ctype  string
		status int
		code   string
	}{
		{"no grant type", url.Values{}, "", http.StatusBadRequest, "invalid_request"},
		{"unknown grant type", url.Values{"grant_type": {"password"}}, "", http.StatusBadRequest, "unsupported_grant_type"},
		{"missing refresh token", url.Values{"grant_type": {"refresh_token"}}, "", http.StatusBadRequest, "invalid_request"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ghr_nope"}}, "", http.StatusBadRequest, "invalid_grant"},
		{"json body", url.Values{"grant_type": {"refresh_token"}}, "application/json", http.StatusUnsupportedMediaType, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.ctype
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r := srv.NewClient().Do(t, http.MethodPost, "/oauth2/token", tt.body.Encode(), "Content-Type", ct)
			r.WantError(t, tt.status, tt.code)
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", r.Header.Get("Cache-Control"))
			}
		})
	}
}

// TestUserRevocationSparesLaterTokens checks that a user-wide revocation
// ends the tokens issued before it but not one issued a moment later in the
// same second: "iat" is whole seconds, and the revoked grant's own event
// covers the earlier token.
func TestUserRevocationSparesLaterTokens(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	before := tokenLogin(t, srv, u)
	srv.Clock.Advance(100 * time.Millisecond)
	u.Password = "a brand new password"
	srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"password": u.Password}).WantStatus(t, http.StatusOK)
	srv.Clock.Advance(400 * time.Millisecond)
	after := tokenLogin(t, srv, u)
	bearer(srv, before.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	bearer(srv, after.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
}

// TestSessionDataRefusesNUL checks that U+0000, which PostgreSQL's jsonb
// cannot store, is refused with 400 on every backend, in values and in
// member names, while the six characters \u0000 as text are fine.
func TestSessionDataRefusesNUL(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	for name, body := range map[string]string{
		"value":       `{"a":"x\u0000y"}`,
		"member name": `{"\u0000":1}`,
		"nested":      `{"a":[{"b":"\u0000"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			c.Do(t, http.MethodPut, "/v1/session/data", body).WantError(t, http.StatusBadRequest, "invalid_request")
			c.Do(t, http.MethodPatch, "/v1/session/data", body, "Content-Type", "application/merge-patch+json").WantError(t, http.StatusBadRequest, "invalid_request")
		})
	}
	c.Do(t, http.MethodPut, "/v1/session/data", `{"a":"\\u0000"}`).WantStatus(t, http.StatusOK)
}
