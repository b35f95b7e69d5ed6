package httpapi_test

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-webauthn/webauthn/protocol"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/passkey/passkeytest"
)

// These tests close the seams between passkeys and required MFA,
// acr_values and step-up (issue #14): a passkey is a second factor
// wherever one is asked for, and POST /v1/reauth/passkey/begin|finish
// steps the caller's own session or grant up with it.

// TestPasskeyRequireMFA: under --require-mfa a user may enrol a passkey
// instead of TOTP from the enrolment-only session, and a user whose only
// factor is a passkey logs in (password and passkey, or passwordless)
// without being sent to enrol.
func TestPasskeyRequireMFA(t *testing.T) {
	srv, _ := startPasskeyServer(t, []string{"--require-mfa"})
	u := srv.NewUser(t)
	c := srv.NewClient()
	login := c.Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).WantStatus(t, http.StatusForbidden).JSON(t)
	if login["error"] != "mfa_enrolment_required" {
		t.Fatalf("login without a factor: %v", login)
	}
	c.CSRF, _ = login["csrf_token"].(string)
	c.Do(t, http.MethodGet, "/v1/sessions", nil).WantError(t, http.StatusForbidden, "mfa_enrolment_required")
	// The enrolment page offers a passkey as well as TOTP.
	if body := string(c.Do(t, http.MethodGet, "/mfa/totp", nil).WantStatus(t, http.StatusOK).Body); !strings.Contains(body, `id="passkey-instead"`) {
		t.Errorf("the enrolment page does not offer a passkey:\n%s", body)
	}
	// It links to the passkeys page, which the enrolling session may use.
	if body := string(c.Do(t, http.MethodGet, "/account/passkeys", nil).WantStatus(t, http.StatusOK).Body); !strings.Contains(body, `id="passkey-add"`) {
		t.Errorf("the passkeys page of an enrolment-only session has no add form:\n%s", body)
	}
	a := passkeytest.New(t)
	a.UV = false
	registerPasskey(t, c, a, "Key")
	// Registering stepped the enrolling session up.
	c.Do(t, http.MethodGet, "/v1/sessions", nil).WantStatus(t, http.StatusOK)
	wantAuth(t, "enrolment-only session after registering a passkey", meAuth(t, c), "pwd", "hwk", "mfa")

	// A new password login asks for the passkey, then is not restricted.
	c2 := passkeySecondFactorLogin(t, srv, u.Email, u.Password, a)
	c2.Do(t, http.MethodGet, "/v1/sessions", nil).WantStatus(t, http.StatusOK)
	wantAuth(t, "password and passkey", meAuth(t, c2), "pwd", "hwk", "mfa")
	// The login page's second step asks for the passkey, not enrolment.
	lc := srv.NewClient()
	r := lc.Do(t, http.MethodGet, "/login", nil).WantStatus(t, http.StatusOK)
	var csrfCookie string
	for _, ck := range r.Header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(ck, "gatehouse_login_csrf="); ok {
			csrfCookie, _, _ = strings.Cut(v, ";")
		}
	}
	form := "csrf_token=" + regexpValue(t, string(r.Body), "csrf_token") + "&email=" + url.QueryEscape(u.Email) + "&password=" + url.QueryEscape(u.Password)
	r = lc.Do(t, http.MethodPost, "/login", form, "Content-Type", "application/x-www-form-urlencoded", "Origin", pkOrigin, "Cookie", "gatehouse_login_csrf="+csrfCookie)
	if step := string(r.Body); r.Status != http.StatusOK || !strings.Contains(step, `id="passkey-login"`) || strings.Contains(step, "/mfa/totp") {
		t.Errorf("page login of a passkey-only user under --require-mfa (%d):\n%s", r.Status, step)
	}

	// Passwordless, with user verification: multi-factor on its own.
	b := passkeytest.New(t)
	registerPasskey(t, c2, b, "Phone")
	pc, r := passkeyLogin(t, srv, b, "session")
	r.WantStatus(t, http.StatusOK)
	pc.CSRF, _ = r.JSON(t)["csrf_token"].(string)
	pc.Do(t, http.MethodGet, "/v1/sessions", nil).WantStatus(t, http.StatusOK)
	// Token mode too: no mfa_enrolment_required.
	_, r = passkeyLogin(t, srv, b, "token")
	if r.WantStatus(t, http.StatusOK).JSON(t)["access_token"] == nil {
		t.Errorf("passwordless token login under --require-mfa: %s", r.Body)
	}
}

// TestPasskeyReauth: step-up by passkey through the API. A stale, replayed,
// foreign or wrong assertion is refused and changes nothing; a good one
// adds the passkey's methods and moves auth_time to now, after which a
// sensitive action (a password change) succeeds.
func TestPasskeyReauth(t *testing.T) {
	for _, be := range passkeyBackends {
		t.Run(be.name, func(t *testing.T) {
			srv, _ := startPasskeyServer(t, append(be.args(t), "--login-limit-account", "50/15m"))
			u, c := srv.NewSession(t)
			a := passkeytest.New(t)
			registerPasskey(t, c, a, "Key")
			_, bob := srv.NewSession(t)
			bobKey := passkeytest.New(t)
			registerPasskey(t, bob, bobKey, "")

			srv.Clock.Advance(11 * time.Minute)
			change := map[string]string{"password": "a new password!", "current_password": u.Password}
			c.Do(t, http.MethodPatch, "/v1/me", change).WantError(t, http.StatusForbidden, "reauthentication_required")
			before := meAuth(t, c)

			begin := func(c *apptest.Client) *protocol.CredentialAssertion {
				t.Helper()
				return passkeytest.RequestOptions(t, c.Do(t, http.MethodPost, "/v1/reauth/passkey/begin", nil).WantStatus(t, http.StatusOK).Body)
			}
			finish := func(body []byte) *apptest.Response {
				return c.Do(t, http.MethodPost, "/v1/reauth/passkey/finish", body)
			}
			opts := begin(c)
			if len(opts.Response.AllowedCredentials) != 1 {
				t.Errorf("allowCredentials = %+v, want the user's one passkey", opts.Response.AllowedCredentials)
			}
			// Refusals: another key, a wrong origin, a wrong RP ID, the
			// challenge used up, another user's challenge, a passwordless
			// login's challenge, garbage; none changes the session.
			finish(passkeytest.New(t).Get(t, opts, pkOrigin, pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			finish(a.Get(t, opts, pkOrigin, pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			opts = begin(c)
			finish(a.Get(t, opts, "http://evil.example", pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			opts = begin(c)
			finish(a.Get(t, opts, pkOrigin, "evil.example")).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			finish(a.Get(t, begin(bob), pkOrigin, pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			finish(bobKey.Get(t, begin(bob), pkOrigin, pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			finish(a.Get(t, passkeytest.RequestOptions(t, beginPasskeyLogin(t, srv, "")), pkOrigin, pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			finish([]byte(`{"id":"x"}`)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			finish([]byte(`[]`)).WantError(t, http.StatusBadRequest, "invalid_request")
			// A stale one: its ceremony expired.
			opts = begin(c)
			stale := a.Get(t, opts, pkOrigin, pkRPID)
			srv.Clock.Advance(10 * time.Minute)
			finish(stale).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			if after := meAuth(t, c); after["auth_time"] != before["auth_time"] || !slices.Equal(amrOf(after), amrOf(before)) {
				t.Errorf("refused step-ups changed the session: %v, was %v", after, before)
			}
			c.Do(t, http.MethodPatch, "/v1/me", change).WantError(t, http.StatusForbidden, "reauthentication_required")

			// A cloned authenticator (counter going backwards) is refused.
			clone := a.Clone()
			opts = begin(c)
			good := a.Get(t, opts, pkOrigin, pkRPID)
			got := finish(good).WantStatus(t, http.StatusOK).JSON(t)
			wantAuth(t, "step-up by passkey", got, "pwd", "hwk", "user", "mfa")
			if now := srv.Clock.Now().UTC().Format(time.RFC3339); got["auth_time"] != now {
				t.Errorf("auth_time after the step-up = %v, want now (%s)", got["auth_time"], now)
			}
			wantAuth(t, "/v1/me after the step-up", meAuth(t, c), "pwd", "hwk", "user", "mfa")
			c.Do(t, http.MethodPatch, "/v1/me", change).WantStatus(t, http.StatusOK)
			srv.Clock.Advance(11 * time.Minute)
			clone.Counter = 0
			opts = begin(c)
			finish(clone.Get(t, opts, pkOrigin, pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")

			// No passkey, no record: nothing to begin.
			_, plain := srv.NewSession(t)
			plain.Do(t, http.MethodPost, "/v1/reauth/passkey/begin", nil).WantError(t, http.StatusBadRequest, "invalid_request")
			srv.Admin().Do(t, http.MethodPost, "/v1/reauth/passkey/begin", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
			srv.NewClient().Do(t, http.MethodPost, "/v1/reauth/passkey/finish", good).WantError(t, http.StatusUnauthorized, "unauthenticated")
		})
	}
}

// amrOf returns the amr of claims.
func amrOf(claims map[string]any) []string {
	var out []string
	list, _ := claims["amr"].([]any)
	for _, m := range list {
		s, _ := m.(string)
		out = append(out, s)
	}
	return out
}

// exampleIssuer is an issuer whose host is a domain name that the test
// listener's own client reaches (httptest sends *.example.com to it), so
// a relying party and a browser can run against a server that serves
// passkeys.
const exampleIssuer = "http://gatehouse.example.com"

// TestAuthorizeACRValuesPasskey: acr_values=urn:gatehouse:acr:mfa on a
// password session of a user whose only factor is a passkey goes to
// /reauth, which asks for the passkey ("Use your passkey", passkey.js);
// the step-up by passkey sends the browser back to the client, and the ID
// token (x/oauth2, go-oidc) carries acr mfa.
func TestAuthorizeACRValuesPasskey(t *testing.T) {
	srv, _ := startPasskeyServer(t, []string{"--issuer", exampleIssuer})
	u, c := srv.NewSession(t)
	a := passkeytest.New(t)
	register := passkeytest.CreationOptions(t, c.Do(t, http.MethodPost, "/v1/passkeys/register/begin", nil).WantStatus(t, http.StatusOK).Body)
	c.Do(t, http.MethodPost, "/v1/passkeys/register/finish", a.Create(t, register, exampleIssuer, "gatehouse.example.com")).WantStatus(t, http.StatusCreated)

	// The relying party and the browser know the server by its issuer.
	alias := *srv
	alias.URL = exampleIssuer
	r := newRP(t, &alias, map[string]any{"client_name": "Strict RP", "scope": "openid", "first_party": true})
	idv := r.provider.Verifier(&oidc.Config{ClientID: r.client.ClientID, Now: srv.Clock.Now})
	v := oauth2.GenerateVerifier()
	b := newBrowser(t, &alias)
	b.c.Transport = srv.HTTP.Client().Transport
	b.useSession(exampleIssuer, passwordOnlySession(t, srv, u))

	p := b.get(r.config.AuthCodeURL("s1", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("acr_values", "urn:gatehouse:acr:mfa")))
	if p.url.Path != "/reauth" || !strings.Contains(p.body, `id="passkey-reauth"`) || !strings.Contains(p.body, "Use your passkey") ||
		strings.Contains(p.body, `name="code"`) || strings.Contains(p.body, "/mfa/totp") {
		t.Fatalf("acr_values=mfa on a password session of a passkey user went to %s (%d), want /reauth asking for the passkey:\n%s", p.url, p.status, p.body)
	}
	// What passkey.js does on "Use your passkey".
	csrf := html.UnescapeString(regexpFind(t, p.body, `data-csrf="([^"]+)"`))
	returnTo := html.UnescapeString(regexpFind(t, p.body, `id="passkey-reauth-box"[^>]*data-return-to="([^"]+)"`))
	opts := passkeytest.RequestOptions(t, b.postJSON(t, "/v1/reauth/passkey/begin", nil, csrf, http.StatusOK))
	b.postJSON(t, "/v1/reauth/passkey/finish", a.Get(t, opts, exampleIssuer, "gatehouse.example.com"), csrf, http.StatusOK)
	q := callback(t, b.get(exampleIssuer+returnTo))
	tok, err := r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if _, err := idv.Verify(r.ctx, raw); err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	_, claims := jwtParts(t, raw)
	wantAuth(t, "ID token after the passkey step-up", claims, "pwd", "hwk", "user", "mfa")
	if claims["auth_time"] != float64(srv.Clock.Now().Unix()) {
		t.Errorf("auth_time = %v, want the step-up's (%d)", claims["auth_time"], srv.Clock.Now().Unix())
	}
}

// postJSON posts body (JSON, or none) to the browser's server as
// passkey.js does (same origin, the session's CSRF token) and returns the
// answer's body, failing unless its status is want.
func (b *browser) postJSON(t *testing.T, path string, body []byte, csrf string, want int) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", b.srv.URL)
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want || !json.Valid(out) {
		t.Fatalf("POST %s: %d, want %d: %s", path, resp.StatusCode, want, out)
	}
	return out
}
