package httpapi_test

import (
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// These tests check authentication strength on the record (issue #14):
// amr, acr and auth_time in tokens, ID tokens and /v1/me; step-up and
// re-authentication; required MFA; and acr_values and max_age at the
// authorization endpoint, through the real router.

// wantAuth fails unless claims (a token's, or /v1/me's auth) carry amr
// and the acr that goes with it.
func wantAuth(t *testing.T, what string, claims map[string]any, amr ...string) {
	t.Helper()
	var got []string
	list, _ := claims["amr"].([]any)
	for _, m := range list {
		s, _ := m.(string)
		got = append(got, s)
	}
	acr := "urn:gatehouse:acr:1fa"
	if slices.Contains(amr, "mfa") {
		acr = "urn:gatehouse:acr:mfa"
	}
	if !slices.Equal(got, amr) || claims["acr"] != acr {
		t.Errorf("%s: amr %q acr %v, want %q %q", what, got, claims["acr"], amr, acr)
	}
}

// meAuth returns the auth member of GET /v1/me for c.
func meAuth(t *testing.T, c *apptest.Client) map[string]any {
	t.Helper()
	var me struct {
		Auth map[string]any `json:"auth"`
	}
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
	return me.Auth
}

// TestAMRAndStepUp: a password login records pwd, the TOTP step adds otp
// (and mfa), in cookie sessions, access tokens (refreshed too) and
// /v1/me; sensitive actions need an authentication within
// --reauth-window, which POST /v1/reauth gives the same session; the
// window's edges are exact.
func TestAMRAndStepUp(t *testing.T) {
	for _, be := range mfaBackends {
		t.Run(be.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: be.args(t)})
			u, c := srv.NewSession(t)
			auth := meAuth(t, c)
			wantAuth(t, "password session", auth, "pwd")
			if auth["auth_time"] != srv.Clock.Now().UTC().Format(time.RFC3339) {
				t.Errorf("auth_time %v, want the login %s", auth["auth_time"], srv.Clock.Now().UTC())
			}
			tok := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
				WantStatus(t, http.StatusOK).JSON(t)
			_, claims := jwtParts(t, tok["access_token"].(string))
			wantAuth(t, "password access token", claims, "pwd")
			if claims["auth_time"] != float64(srv.Clock.Now().Unix()) {
				t.Errorf("access token auth_time %v, want %d", claims["auth_time"], srv.Clock.Now().Unix())
			}

			// Confirming TOTP steps the enrolling session up.
			a, recovery := enrolTOTP(t, srv, c)
			wantAuth(t, "session after enrolment", meAuth(t, c), "pwd", "otp", "mfa")

			// Two-step token login: pwd, otp, mfa, kept by refresh.
			srv.Clock.Advance(30 * time.Second)
			_, r := loginMFA(t, srv, mfaRequired(t, srv, u.Email, u.Password, "token"), a.code(t, 0))
			tok = r.WantStatus(t, http.StatusOK).JSON(t)
			_, claims = jwtParts(t, tok["access_token"].(string))
			wantAuth(t, "two-step access token", claims, "pwd", "otp", "mfa")
			loginAt := claims["auth_time"]
			bearer := srv.NewClient()
			bearer.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
			wantAuth(t, "/v1/me by bearer", meAuth(t, bearer), "pwd", "otp", "mfa")
			srv.Clock.Advance(time.Minute)
			refreshed := srv.NewClient().Do(t, http.MethodPost, "/oauth2/token",
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}.Encode(),
				"Content-Type", "application/x-www-form-urlencoded").WantStatus(t, http.StatusOK).JSON(t)
			_, claims = jwtParts(t, refreshed["access_token"].(string))
			wantAuth(t, "refreshed access token", claims, "pwd", "otp", "mfa")
			if claims["auth_time"] != loginAt {
				t.Errorf("refresh moved auth_time from %v to %v", loginAt, claims["auth_time"])
			}
			// Introspection says the same, for access and refresh tokens.
			for _, raw := range []string{refreshed["access_token"].(string), refreshed["refresh_token"].(string)} {
				in := srv.Admin().Do(t, http.MethodPost, "/oauth2/introspect", url.Values{"token": {raw}}.Encode(),
					"Content-Type", "application/x-www-form-urlencoded").WantStatus(t, http.StatusOK).JSON(t)
				wantAuth(t, "introspection", in, "pwd", "otp", "mfa")
				if in["auth_time"] != loginAt {
					t.Errorf("introspection auth_time %v, want %v", in["auth_time"], loginAt)
				}
			}

			// A two-step cookie session, then the window: at exactly
			// --reauth-window (10 min) after the login it is too old.
			mc, r := loginMFA(t, srv, mfaRequired(t, srv, u.Email, u.Password, "session"), recovery[0])
			r.WantStatus(t, http.StatusOK)
			login := r.JSON(t)
			mc.CSRF, _ = login["csrf_token"].(string)
			sessionID := login["session"].(map[string]any)["id"]
			wantAuth(t, "two-step session", meAuth(t, mc), "pwd", "otp", "mfa")
			srv.Clock.Advance(10 * time.Minute)
			newPW := map[string]string{"password": "another good password", "current_password": u.Password}
			mc.Do(t, http.MethodPatch, "/v1/me", newPW).WantError(t, http.StatusForbidden, "reauthentication_required")
			mc.Do(t, http.MethodDelete, "/v1/me", nil).WantError(t, http.StatusForbidden, "reauthentication_required")
			mc.Do(t, http.MethodDelete, "/v1/mfa/totp", map[string]string{"code": recovery[1]}).WantError(t, http.StatusForbidden, "reauthentication_required")

			// Re-authentication: an account with a factor sends a code;
			// bad requests and wrong codes change nothing.
			mc.Do(t, http.MethodPost, "/v1/reauth", map[string]string{"code": a.code(t, 0)}, "X-CSRF-Token", "").WantError(t, http.StatusForbidden, "csrf_failed")
			mc.Do(t, http.MethodPost, "/v1/reauth", map[string]string{"password": u.Password}).WantError(t, http.StatusBadRequest, "invalid_request")
			mc.Do(t, http.MethodPost, "/v1/reauth", map[string]string{}).WantError(t, http.StatusBadRequest, "invalid_request")
			mc.Do(t, http.MethodPost, "/v1/reauth", map[string]string{"code": "000000"}).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			mc.Do(t, http.MethodDelete, "/v1/me", nil).WantError(t, http.StatusForbidden, "reauthentication_required")
			re := mc.Do(t, http.MethodPost, "/v1/reauth", map[string]string{"code": a.code(t, 0)}).WantStatus(t, http.StatusOK).JSON(t)
			wantAuth(t, "reauth answer", re, "pwd", "otp", "mfa")
			if re["auth_time"] != srv.Clock.Now().UTC().Format(time.RFC3339) {
				t.Errorf("reauth auth_time %v, want now", re["auth_time"])
			}
			// Same session, same cookie and CSRF token.
			if auth := meAuth(t, mc); auth["session_id"] != sessionID {
				t.Errorf("reauth changed the session id: %v", auth["session_id"])
			}

			// One second inside the window a step-up action works...
			srv.Clock.Advance(10*time.Minute - time.Second)
			mc.Do(t, http.MethodPatch, "/v1/me", newPW).WantStatus(t, http.StatusOK)
			// ...and at the window's end it does not.
			srv.Clock.Advance(time.Second)
			mc.Do(t, http.MethodDelete, "/v1/me", nil).WantError(t, http.StatusForbidden, "reauthentication_required")
			mc.Do(t, http.MethodPost, "/v1/reauth", map[string]string{"code": a.code(t, 0)}).WantStatus(t, http.StatusOK)
			mc.Do(t, http.MethodDelete, "/v1/me", nil).WantStatus(t, http.StatusNoContent)
			mc.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
			srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": newPW["password"]}).
				WantError(t, http.StatusUnauthorized, "invalid_credentials")
		})
	}
}

// TestReauthWithPassword: an account without a second factor
// re-authenticates with its password; a wrong one is refused and counts.
func TestReauthWithPassword(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u, c := srv.NewSession(t)
	srv.Clock.Advance(11 * time.Minute)
	c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"password": "a new password!", "current_password": u.Password}).
		WantError(t, http.StatusForbidden, "reauthentication_required")
	c.Do(t, http.MethodPost, "/v1/reauth", map[string]string{"code": "123456"}).WantError(t, http.StatusBadRequest, "invalid_request")
	c.Do(t, http.MethodPost, "/v1/reauth", map[string]string{"password": "wrong password!"}).WantError(t, http.StatusUnauthorized, "invalid_credentials")
	wantAuth(t, "reauth with the password", c.Do(t, http.MethodPost, "/v1/reauth", map[string]string{"password": u.Password}).WantStatus(t, http.StatusOK).JSON(t), "pwd")
	c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"password": "a new password!", "current_password": u.Password}).WantStatus(t, http.StatusOK)
	// Admin and client tokens have no session to step up.
	srv.Admin().Do(t, http.MethodPost, "/v1/reauth", map[string]string{"password": u.Password}).WantError(t, http.StatusUnauthorized, "unauthenticated")
}

// TestRequireMFA: an administrator's mfa_required and --require-mfa let
// a user without a factor log in only to an enrolment-only session; a
// token login creates nothing; enrolling lifts the restriction.
func TestRequireMFA(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{{"admin", nil}, {"flag", []string{"--require-mfa"}}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: tc.args})
			u := srv.NewUser(t)
			if tc.name == "admin" {
				old := srv.Login(t, u.Email, u.Password)
				var admin map[string]any
				srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"mfa_required": true}).WantStatus(t, http.StatusOK).Decode(t, &admin)
				if admin["mfa_required"] != true {
					t.Errorf("admin user after PATCH: %v", admin)
				}
				// The single-factor session was revoked.
				old.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
			}
			srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
				WantError(t, http.StatusForbidden, "mfa_enrolment_required")

			c := srv.NewClient()
			r := c.Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password})
			// The error, and the session it may use to enrol.
			login := r.WantStatus(t, http.StatusForbidden).JSON(t)
			if login["error"] != "mfa_enrolment_required" || login["session"] == nil {
				t.Fatalf("login without the required factor: %s", r.Body)
			}
			c.CSRF, _ = login["csrf_token"].(string)
			if ck := r.Cookie(srv.CookieName()); ck == nil || c.CSRF == "" {
				t.Fatalf("enrolment-only login: no cookie or CSRF token: %s", r.Body)
			}
			if auth := meAuth(t, c); auth["mfa_enrolment_required"] != true {
				t.Errorf("/v1/me of an enrolment-only session: %v", auth)
			}
			for _, path := range []string{"/v1/sessions", "/v1/session/data"} {
				c.Do(t, http.MethodGet, path, nil).WantError(t, http.StatusForbidden, "mfa_enrolment_required")
			}
			c.Do(t, http.MethodPost, "/v1/session/token", nil).WantError(t, http.StatusForbidden, "mfa_enrolment_required")
			// The login page sends the user to enrol first, then on.
			b := newBrowser(t, srv)
			p := b.login(b.get(srv.URL+"/login?return_to=/v1/me"), u)
			if p.url.Path != "/mfa/totp" || !strings.Contains(p.body, `id="required"`) {
				t.Fatalf("page login of a user who must enrol went to %s (%d):\n%s", p.url, p.status, p.body)
			}

			enrolTOTP(t, srv, c)
			c.Do(t, http.MethodGet, "/v1/sessions", nil).WantStatus(t, http.StatusOK)
			wantAuth(t, "session after enrolment", meAuth(t, c), "pwd", "otp", "mfa")
			mfaRequired(t, srv, u.Email, u.Password, "session")
		})
	}
}

// TestAuthorizeACRValuesAndMaxAge drives a relying party (x/oauth2 and
// go-oidc) through the browser pages: acr_values=urn:gatehouse:acr:mfa
// forces the second factor (enrolment for a user without one, the code
// only for a password session of a user with one), max_age forces a new
// login, and the ID tokens say so.
func TestAuthorizeACRValuesAndMaxAge(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	r := newRP(t, srv, map[string]any{"client_name": "Strict RP", "scope": "openid", "first_party": true})
	var disc struct {
		ACR []string `json:"acr_values_supported"`
	}
	if err := r.provider.Claims(&disc); err != nil || !slices.Equal(disc.ACR, []string{"urn:gatehouse:acr:1fa", "urn:gatehouse:acr:mfa"}) {
		t.Errorf("discovery acr_values_supported = %q, %v", disc.ACR, err)
	}
	idv := r.provider.Verifier(&oidc.Config{ClientID: r.client.ClientID, Now: srv.Clock.Now})
	idToken := func(q url.Values, verifier string) map[string]any {
		t.Helper()
		tok, err := r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		if _, err := idv.Verify(r.ctx, raw); err != nil {
			t.Fatalf("go-oidc Verify: %v", err)
		}
		_, claims := jwtParts(t, raw)
		return claims
	}
	mfa := oauth2.SetAuthURLParam("acr_values", "urn:gatehouse:acr:mfa")
	v := oauth2.GenerateVerifier()
	pkce := oauth2.S256ChallengeOption(v)

	// A password session: acr 1fa.
	b := newBrowser(t, srv)
	wantAuth(t, "ID token of a password login", idToken(r.authorize(t, b, u, pkce), v), "pwd")

	// acr_values=mfa for a user without a factor: enrol, then back.
	p := b.get(r.config.AuthCodeURL("s1", pkce, mfa))
	if p.url.Path != "/mfa/totp" || !strings.Contains(p.body, "<svg") {
		t.Fatalf("acr_values=mfa without a factor went to %s (%d), want the enrolment page with a QR code:\n%s", p.url, p.status, p.body)
	}
	secret := regexpFind(t, p.body, `id="secret">([A-Z2-7]+)<`)
	app := authenticator{secret: secret, srv: srv}
	p = b.submit(p, map[string]string{"code": "000000"}, "")
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "not right") {
		t.Fatalf("a wrong enrolment code: %d\n%s", p.status, p.body)
	}
	p = b.submit(p, map[string]string{"code": app.code(t, 0)}, "")
	if !strings.Contains(p.body, `id="recovery-codes"`) {
		t.Fatalf("no recovery codes after enrolment (%d):\n%s", p.status, p.body)
	}
	next := regexpFind(t, p.body, `id="next" href="([^"]+)"`)
	claims := idToken(callback(t, b.get(srv.URL+html.UnescapeString(next))), v)
	wantAuth(t, "ID token after enrolment", claims, "pwd", "otp", "mfa")

	// A new browser logs in through both steps of the login page.
	srv.Clock.Advance(time.Minute)
	b2 := newBrowser(t, srv)
	p = b2.get(r.config.AuthCodeURL("s2", pkce, mfa))
	if p.url.Path != "/login" {
		t.Fatalf("without a session: %s, want /login", p.url)
	}
	p = b2.login(p, u)
	if !strings.Contains(p.body, `name="mfa_token"`) || strings.Contains(p.body, `name="password"`) {
		t.Fatalf("the login page's second step asks for the wrong thing (%d):\n%s", p.status, p.body)
	}
	srv.Clock.Advance(30 * time.Second)
	p = b2.submit(p, map[string]string{"code": "000000"}, "")
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, `name="mfa_token"`) {
		t.Fatalf("a wrong code on the second step: %d\n%s", p.status, p.body)
	}
	claims = idToken(callback(t, b2.submit(p, map[string]string{"code": app.code(t, 0)}, "")), v)
	wantAuth(t, "ID token after the two-step page login", claims, "pwd", "otp", "mfa")

	// The first browser's session is multi-factor already: straight back.
	claims = idToken(callback(t, b.get(r.config.AuthCodeURL("s3", pkce, mfa))), v)
	wantAuth(t, "ID token of a multi-factor session", claims, "pwd", "otp", "mfa")

	// max_age: a session older than it logs in again (both steps), and
	// auth_time is the new login.
	srv.Clock.Advance(2 * time.Minute)
	p = b.get(r.config.AuthCodeURL("s4", pkce, oauth2.SetAuthURLParam("max_age", "60")))
	if p.url.Path != "/login" {
		t.Fatalf("max_age=60 on a 2-minute-old session went to %s, want /login", p.url)
	}
	p = b.login(p, u)
	claims = idToken(callback(t, b.submit(p, map[string]string{"code": app.code(t, 0)}, "")), v)
	if claims["auth_time"] != float64(srv.Clock.Now().Unix()) {
		t.Errorf("auth_time after max_age = %v, want %d", claims["auth_time"], srv.Clock.Now().Unix())
	}

	// prompt=none cannot ask for the missing factor.
	b3 := newBrowser(t, srv)
	b3.useSession(srv.URL, passwordOnlySession(t, srv, u))
	q := callback(t, b3.get(r.config.AuthCodeURL("s5", pkce, mfa, oauth2.SetAuthURLParam("prompt", "none"))))
	if q.Get("error") != "login_required" {
		t.Errorf("prompt=none with acr_values=mfa on a password session: %v", q)
	}
	// Without prompt=none it asks for the code only, at /reauth.
	p = b3.get(r.config.AuthCodeURL("s6", pkce, mfa))
	if p.url.Path != "/reauth" || !strings.Contains(p.body, `name="code"`) || strings.Contains(p.body, `name="password"`) {
		t.Fatalf("acr_values=mfa on a password session went to %s (%d), want /reauth asking for the code:\n%s", p.url, p.status, p.body)
	}
	srv.Clock.Advance(30 * time.Second)
	claims = idToken(callback(t, b3.submit(p, map[string]string{"code": app.code(t, 0)}, "")), v)
	wantAuth(t, "ID token after the missing factor", claims, "pwd", "otp", "mfa")
}

// passwordOnlySession returns the cookie of a password-only session of u,
// who has a second factor: as one created before the factor was, or
// stored before methods were recorded. The API cannot make one now, so
// the session manager does.
func passwordOnlySession(t *testing.T, srv *apptest.Server, u apptest.User) string {
	t.Helper()
	created, err := srv.App.Sessions.StartCookie(t.Context(), u.ID, session.ClientInfo{},
		authcontext.New(srv.Clock.Now(), authcontext.Password), false)
	if err != nil {
		t.Fatal(err)
	}
	return created.Secret
}

// regexpFind returns the first group of pattern in s.
func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s not found in:\n%s", pattern, s)
	}
	return m[1]
}

// TestEnrolmentOnlyAcrossInstances: an enrolment-only session that
// enrols through one instance is no longer restricted on another that
// cached it restricted (two servers on one PostgreSQL database).
func TestEnrolmentOnlyAcrossInstances(t *testing.T) {
	// Instances of one deployment share the key-encryption key.
	t.Setenv(keys.KEKEnv, base64.StdEncoding.EncodeToString(make([]byte, 32)))
	args := []string{"--db", pgtest.NewDatabase(t), "--require-mfa"}
	a := apptest.Start(t, apptest.Options{Args: args})
	b := apptest.Start(t, apptest.Options{Args: args})
	u := a.NewUser(t)
	ca := a.NewClient()
	r := ca.Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password})
	login := r.WantStatus(t, http.StatusForbidden).JSON(t)
	ca.CSRF, _ = login["csrf_token"].(string)
	cb := b.NewClient()
	cb.Cookie, cb.CSRF = r.Cookie(a.CookieName()).Value, ca.CSRF
	// Instance b caches the session as enrolment-only.
	cb.Do(t, http.MethodGet, "/v1/sessions", nil).WantError(t, http.StatusForbidden, "mfa_enrolment_required")
	enrolTOTP(t, a, ca)
	cb.Do(t, http.MethodGet, "/v1/sessions", nil).WantStatus(t, http.StatusOK)
	wantAuth(t, "the other instance's view after enrolment", meAuth(t, cb), "pwd", "otp", "mfa")
}
