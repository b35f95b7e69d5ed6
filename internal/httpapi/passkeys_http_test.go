package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/syncbuf"
)

// These tests run the WebAuthn ceremonies of the contract's "Second
// factors and passkeys" rows through the real router, with the software
// authenticator of passkey/passkeytest playing the browser and the
// authenticator. The issuer is http://localhost:8080 (a domain name, as
// WebAuthn needs; the requests go to the test listener all the same).

const (
	pkIssuer = "http://localhost:8080"
	pkOrigin = "http://localhost:8080"
	pkRPID   = "localhost"
)

// passkeyBackends are the databases (and session stores) the passkey tests
// run on: the ceremonies live in the database, sessions where --sessions
// says.
var passkeyBackends = []struct {
	name string
	args func(t *testing.T) []string
}{
	{"SQLite", func(*testing.T) []string { return nil }},
	{"PostgreSQL", func(t *testing.T) []string { return []string{"--db", pgtest.NewDatabase(t)} }},
	{"Redis sessions", func(t *testing.T) []string { return []string{"--sessions", redisSessions(t)} }},
}

func startPasskeyServer(t *testing.T, args []string) (*apptest.Server, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	srv := apptest.Start(t, apptest.Options{
		Args: append([]string{"--issuer", pkIssuer}, args...),
		Log:  slog.New(slog.NewTextHandler(logs, nil)),
	})
	return srv, logs
}

type passkeyBody struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackupEligible bool       `json:"backup_eligible"`
	BackedUp       bool       `json:"backed_up"`
	Transports     []string   `json:"transports"`
}

// registerPasskey registers a for the signed-in client c under name.
func registerPasskey(t *testing.T, c *apptest.Client, a *passkeytest.Authenticator, name string) passkeyBody {
	t.Helper()
	r := c.Do(t, http.MethodPost, "/v1/passkeys/register/begin", nil).WantStatus(t, http.StatusOK)
	opts := passkeytest.CreationOptions(t, r.Body)
	body := a.Create(t, opts, pkOrigin, pkRPID)
	if name != "" {
		body = passkeytest.With(t, body, map[string]any{"name": name})
	}
	var pk passkeyBody
	c.Do(t, http.MethodPost, "/v1/passkeys/register/finish", body).WantStatus(t, http.StatusCreated).Decode(t, &pk)
	if pk.ID != passkeytest.B64.EncodeToString(a.CredID) {
		t.Fatalf("registered id %q, want the credential id %q", pk.ID, passkeytest.B64.EncodeToString(a.CredID))
	}
	return pk
}

// listPasskeys returns the client's passkeys.
func listPasskeys(t *testing.T, c *apptest.Client) []passkeyBody {
	t.Helper()
	var list struct {
		Passkeys []passkeyBody `json:"passkeys"`
	}
	c.Do(t, http.MethodGet, "/v1/passkeys", nil).WantStatus(t, http.StatusOK).Decode(t, &list)
	return list.Passkeys
}

// beginPasskeyLogin asks for request options, with the mfa_token of a
// pending login or none (passwordless).
func beginPasskeyLogin(t *testing.T, srv *apptest.Server, mfaToken string) []byte {
	t.Helper()
	var body any
	if mfaToken != "" {
		body = map[string]string{"mfa_token": mfaToken}
	}
	return srv.NewClient().Do(t, http.MethodPost, "/v1/login/passkey/begin", body).WantStatus(t, http.StatusOK).Body
}

// passkeyLogin runs a whole passwordless login with a from a fresh
// client and returns the client and the finish answer.
func passkeyLogin(t *testing.T, srv *apptest.Server, a *passkeytest.Authenticator, mode string) (*apptest.Client, *apptest.Response) {
	t.Helper()
	opts := passkeytest.RequestOptions(t, beginPasskeyLogin(t, srv, ""))
	c := srv.NewClient()
	return c, c.Do(t, http.MethodPost, "/v1/login/passkey/finish", passkeytest.With(t, a.Get(t, opts, pkOrigin, pkRPID), map[string]any{"mode": mode}))
}

func TestPasskeyRegisterListRenameDelete(t *testing.T) {
	for _, be := range passkeyBackends[:2] {
		t.Run(be.name, func(t *testing.T) {
			srv, _ := startPasskeyServer(t, be.args(t))
			u, c := srv.NewSession(t)
			if got := listPasskeys(t, c); len(got) != 0 {
				t.Fatalf("a new user has passkeys: %+v", got)
			}
			phone, key := passkeytest.New(t), passkeytest.New(t)
			phone.BE, phone.BS = true, true
			p1 := registerPasskey(t, c, phone, "My phone")
			p2 := registerPasskey(t, c, key, "")
			if p1.Name != "My phone" || !p1.BackupEligible || !p1.BackedUp || p1.LastUsedAt != nil || !p1.CreatedAt.Equal(srv.Clock.Now()) {
				t.Errorf("first passkey = %+v", p1)
			}
			if p2.Name != "Passkey 2" || p2.BackupEligible {
				t.Errorf("unnamed second passkey = %+v, want the name Passkey 2", p2)
			}
			list := listPasskeys(t, c)
			if len(list) != 2 || list[0].ID != p1.ID || list[1].ID != p2.ID || !slices.Equal(list[0].Transports, []string{"internal", "hybrid"}) {
				t.Fatalf("list = %+v", list)
			}

			// Registering the same credential again is a conflict; the
			// exclusion list names both.
			r := c.Do(t, http.MethodPost, "/v1/passkeys/register/begin", nil).WantStatus(t, http.StatusOK)
			opts := passkeytest.CreationOptions(t, r.Body)
			if n := len(opts.Response.CredentialExcludeList); n != 2 {
				t.Errorf("excludeCredentials has %d entries, want 2", n)
			}
			c.Do(t, http.MethodPost, "/v1/passkeys/register/finish", key.Create(t, opts, pkOrigin, pkRPID)).WantError(t, http.StatusConflict, "conflict")

			// Rename; bad names and other users' ids change nothing.
			c.Do(t, http.MethodPatch, "/v1/passkeys/"+p2.ID, map[string]string{"name": "  YubiKey   5  "}).WantStatus(t, http.StatusOK)
			c.Do(t, http.MethodPatch, "/v1/passkeys/"+p2.ID, map[string]string{"name": "bad\u202ename"}).WantError(t, http.StatusBadRequest, "invalid_request")
			_, other := srv.NewSession(t)
			other.Do(t, http.MethodPatch, "/v1/passkeys/"+p2.ID, map[string]string{"name": "mine"}).WantError(t, http.StatusNotFound, "not_found")
			other.Do(t, http.MethodDelete, "/v1/passkeys/"+p2.ID, nil).WantError(t, http.StatusNotFound, "not_found")
			other.Do(t, http.MethodDelete, "/v1/passkeys/not*base64", nil).WantError(t, http.StatusNotFound, "not_found")
			if list := listPasskeys(t, c); list[1].Name != "YubiKey 5" {
				t.Errorf("renamed passkey = %+v", list[1])
			}
			if len(listPasskeys(t, other)) != 0 {
				t.Error("another user sees passkeys")
			}

			// Step-up: a login older than the window can neither add nor
			// remove one.
			srv.Clock.Advance(11 * time.Minute)
			c.Do(t, http.MethodPost, "/v1/passkeys/register/begin", nil).WantError(t, http.StatusForbidden, "reauthentication_required")
			c.Do(t, http.MethodDelete, "/v1/passkeys/"+p1.ID, nil).WantError(t, http.StatusForbidden, "reauthentication_required")
			// Signed in again (password, then the passkey as second
			// factor), the user can remove them; the last one gone, a
			// password is enough again.
			c = passkeySecondFactorLogin(t, srv, u.Email, u.Password, key)
			c.Do(t, http.MethodDelete, "/v1/passkeys/"+p1.ID, nil).WantStatus(t, http.StatusNoContent)
			c.Do(t, http.MethodDelete, "/v1/passkeys/"+p1.ID, nil).WantError(t, http.StatusNotFound, "not_found")
			c.Do(t, http.MethodDelete, "/v1/passkeys/"+p2.ID, nil).WantStatus(t, http.StatusNoContent)
			if len(listPasskeys(t, c)) != 0 {
				t.Error("passkeys left after deleting both")
			}
			srv.Login(t, u.Email, u.Password)
		})
	}
}

// signedIn makes c the browser of the session login answer r: its CSRF
// token (the cookie is kept by the client already).
func signedIn(t *testing.T, c *apptest.Client, r *apptest.Response) *apptest.Client {
	t.Helper()
	var res apptest.LoginResult
	r.WantStatus(t, http.StatusOK).Decode(t, &res)
	if c.Cookie == "" || res.CSRFToken == "" {
		t.Fatalf("session login without a cookie or CSRF token: %s", r.Body)
	}
	c.CSRF, c.SessionID, c.UserID = res.CSRFToken, res.Session.ID, res.User.ID
	return c
}

// passkeySecondFactorLogin logs in with the password, then with a as the
// second factor, in session mode, and returns the signed-in client.
func passkeySecondFactorLogin(t *testing.T, srv *apptest.Server, email, pw string, a *passkeytest.Authenticator) *apptest.Client {
	t.Helper()
	tok := mfaRequired(t, srv, email, pw, "session")
	opts := passkeytest.RequestOptions(t, beginPasskeyLogin(t, srv, tok))
	c := srv.NewClient()
	r := c.Do(t, http.MethodPost, "/v1/login/passkey/finish", passkeytest.With(t, a.Get(t, opts, pkOrigin, pkRPID), map[string]any{"mfa_token": tok}))
	return signedIn(t, c, r)
}

func TestPasskeyPasswordlessLogin(t *testing.T) {
	for _, be := range passkeyBackends {
		t.Run(be.name, func(t *testing.T) {
			srv, _ := startPasskeyServer(t, be.args(t))
			u, c := srv.NewSession(t)
			a := passkeytest.New(t)
			registerPasskey(t, c, a, "Laptop")

			// The options ask for a discoverable credential: no
			// allowCredentials, user verification required, this RP ID.
			opts := passkeytest.RequestOptions(t, beginPasskeyLogin(t, srv, ""))
			if len(opts.Response.AllowedCredentials) != 0 || opts.Response.UserVerification != "required" || opts.Response.RelyingPartyID != pkRPID {
				t.Errorf("request options = %+v", opts.Response)
			}

			// Session mode: a cookie, a CSRF token, and the old session
			// of the browser is not reused.
			browser := srv.NewClient()
			browser.Cookie = c.Cookie
			r := browser.Do(t, http.MethodPost, "/v1/login/passkey/finish", passkeytest.With(t, a.Get(t, opts, pkOrigin, pkRPID), map[string]any{"mode": "session"}))
			signedIn(t, browser, r)
			if browser.Cookie == c.Cookie || browser.UserID != c.UserID {
				t.Errorf("passkey login kept the old cookie or signed in %q, want %q", browser.UserID, c.UserID)
			}
			c.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
			me := whoami(t, browser)
			if me.User.Email != u.Email || !slices.Equal(me.Auth.AMR, []string{"hwk", "user", "mfa"}) || me.Auth.ACR != "urn:gatehouse:acr:mfa" {
				t.Errorf("/v1/me after a passkey login (device-bound key, UV) = %+v, want amr [hwk user mfa]", me)
			}

			// Token mode.
			srv.Clock.Advance(time.Minute)
			_, r = passkeyLogin(t, srv, a, "token")
			var tok struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			r.WantStatus(t, http.StatusOK).Decode(t, &tok)
			bearer := srv.NewClient()
			bearer.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			if me := whoami(t, bearer); !slices.Equal(me.Auth.AMR, []string{"hwk", "user", "mfa"}) {
				t.Errorf("token-mode passkey login: amr %q, want [hwk user mfa]", me.Auth.AMR)
			}
			// A synced passkey is swk.
			synced := passkeytest.New(t)
			synced.BE, synced.BS = true, true
			registerPasskey(t, browser, synced, "Phone")
			phone, r := passkeyLogin(t, srv, synced, "session")
			if me := whoami(t, signedIn(t, phone, r)); !slices.Equal(me.Auth.AMR, []string{"swk", "user", "mfa"}) {
				t.Errorf("synced passkey login: amr %q, want [swk user mfa]", me.Auth.AMR)
			}

			// The counter and the last use are stored.
			list := listPasskeys(t, browser)
			if len(list) != 2 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(srv.Clock.Now()) {
				t.Errorf("after two logins: %+v", list)
			}
			_, r = passkeyLogin(t, srv, a, "bearer")
			r.WantError(t, http.StatusBadRequest, "invalid_request")

			// A disabled account cannot sign in with its passkey.
			disabled := true
			srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"disabled": disabled}).WantStatus(t, http.StatusOK)
			_, r = passkeyLogin(t, srv, a, "session")
			r.WantError(t, http.StatusUnauthorized, "invalid_credentials")
		})
	}
}

// TestPasskeyLoginRefusals sends the answers an attacker or a broken
// client could: each is 401 invalid_credentials with the same body,
// creates nothing, and uses its challenge up.
func TestPasskeyLoginRefusals(t *testing.T) {
	for _, be := range passkeyBackends[:2] {
		t.Run(be.name, func(t *testing.T) {
			srv, logs := startPasskeyServer(t, append(be.args(t), "--login-limit-account", "100/15m"))
			_, c := srv.NewSession(t)
			a := passkeytest.New(t)
			registerPasskey(t, c, a, "")
			_, bobClient := srv.NewSession(t)

			var first *apptest.ErrorBody
			refused := func(name string, body []byte) {
				t.Helper()
				cl := srv.NewClient()
				r := cl.Do(t, http.MethodPost, "/v1/login/passkey/finish", passkeytest.With(t, body, map[string]any{"mode": "session"}))
				e := r.WantError(t, http.StatusUnauthorized, "invalid_credentials")
				if cl.Cookie != "" {
					t.Errorf("%s: a refused login set a cookie", name)
				}
				if first == nil {
					first = &e
				} else if e != *first {
					t.Errorf("%s: answer %+v differs from %+v (the answers must not tell refusals apart)", name, e, *first)
				}
			}
			opts := func() *protocol.CredentialAssertion {
				return passkeytest.RequestOptions(t, beginPasskeyLogin(t, srv, ""))
			}

			refused("wrong origin", a.Get(t, opts(), "http://evil.example", pkRPID))
			refused("wrong RP ID", a.Get(t, opts(), pkOrigin, "example.com"))
			noUV := a.Clone()
			noUV.UV = false
			refused("no user verification", noUV.Get(t, opts(), pkOrigin, pkRPID))
			refused("unknown credential", passkeytest.New(t).Get(t, opts(), pkOrigin, pkRPID))
			liar := a.Clone()
			liar.UserHandle = []byte(bobClient.UserID)
			refused("user handle of another user", liar.Get(t, opts(), pkOrigin, pkRPID))

			// A replayed challenge: the first use works, the second not.
			o := opts()
			ok := a.Get(t, o, pkOrigin, pkRPID)
			srv.NewClient().Do(t, http.MethodPost, "/v1/login/passkey/finish", ok).WantStatus(t, http.StatusOK)
			refused("replayed response", ok)
			a2 := a.Clone()
			refused("fresh signature on a used challenge", a2.Get(t, o, pkOrigin, pkRPID))

			// A challenge of another ceremony: registration options of a
			// signed-in user cannot finish a login.
			reg := passkeytest.CreationOptions(t, c.Do(t, http.MethodPost, "/v1/passkeys/register/begin", nil).WantStatus(t, http.StatusOK).Body)
			forged := opts()
			forged.Response.Challenge = reg.Response.Challenge
			refused("registration challenge", a.Get(t, forged, pkOrigin, pkRPID))
			// ... and a login challenge cannot finish a registration, nor
			// can another user's registration challenge.
			login := opts()
			reg.Response.Challenge = login.Response.Challenge
			c.Do(t, http.MethodPost, "/v1/passkeys/register/finish", passkeytest.New(t).Create(t, reg, pkOrigin, pkRPID)).WantError(t, http.StatusBadRequest, "invalid_request")
			bobReg := passkeytest.CreationOptions(t, bobClient.Do(t, http.MethodPost, "/v1/passkeys/register/begin", nil).WantStatus(t, http.StatusOK).Body)
			c.Do(t, http.MethodPost, "/v1/passkeys/register/finish", passkeytest.New(t).Create(t, bobReg, pkOrigin, pkRPID)).WantError(t, http.StatusBadRequest, "invalid_request")
			c.Do(t, http.MethodPost, "/v1/passkeys/register/finish", passkeytest.New(t).Create(t, passkeytest.CreationOptions(t, c.Do(t, http.MethodPost, "/v1/passkeys/register/begin", nil).Body), "http://evil.example", pkRPID)).WantError(t, http.StatusBadRequest, "invalid_request")
			if n := len(listPasskeys(t, c)); n != 1 {
				t.Errorf("refused registrations left %d passkeys, want 1", n)
			}

			// A cloned authenticator: the copy signs with a counter the
			// original passed already.
			copyOfKey := a.Clone()
			_, r := passkeyLogin(t, srv, a, "session")
			r.WantStatus(t, http.StatusOK)
			copyOfKey.Counter -= 1
			refused("cloned authenticator", copyOfKey.Get(t, opts(), pkOrigin, pkRPID))
			if !strings.Contains(logs.String(), "possibly cloned authenticator") {
				t.Error("the cloned authenticator was not logged")
			}
			// The original still works.
			_, r = passkeyLogin(t, srv, a, "session")
			r.WantStatus(t, http.StatusOK)

			// Malformed bodies are refused the same way.
			refused("not a response", []byte(`{"id":"x"}`))
		})
	}
}

// TestPasskeyLoginLimit checks that refused assertions count toward the
// owner's login limit, and that a limited account gets 429 even with a
// right assertion.
func TestPasskeyLoginLimit(t *testing.T) {
	srv, _ := startPasskeyServer(t, []string{"--login-limit-account", "3/15m"})
	_, c := srv.NewSession(t)
	a := passkeytest.New(t)
	registerPasskey(t, c, a, "")
	for range 3 {
		opts := passkeytest.RequestOptions(t, beginPasskeyLogin(t, srv, ""))
		srv.NewClient().Do(t, http.MethodPost, "/v1/login/passkey/finish", a.Get(t, opts, "http://evil.example", pkRPID)).
			WantError(t, http.StatusUnauthorized, "invalid_credentials")
	}
	_, r := passkeyLogin(t, srv, a, "session")
	r.WantError(t, http.StatusTooManyRequests, "rate_limited")
	srv.Clock.Advance(15 * time.Minute)
	_, r = passkeyLogin(t, srv, a, "session")
	r.WantStatus(t, http.StatusOK)
}

func TestPasskeySecondFactor(t *testing.T) {
	for _, be := range passkeyBackends[:2] {
		t.Run(be.name, func(t *testing.T) {
			srv, _ := startPasskeyServer(t, be.args(t))
			u, c := srv.NewSession(t)
			a := passkeytest.New(t)
			a.UV = false // a security key touched, no PIN: fine after a password
			p := registerPasskey(t, c, a, "Key")

			r := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"})
			r.WantStatus(t, http.StatusUnauthorized)
			var required struct {
				Token   string   `json:"mfa_token"`
				Factors []string `json:"factors"`
			}
			r.Decode(t, &required)
			if !slices.Equal(required.Factors, []string{"passkey"}) || required.Token == "" {
				t.Fatalf("mfa_required = %s, want factors [passkey]", r.Body)
			}

			// Options for this user's passkeys only.
			opts := passkeytest.RequestOptions(t, beginPasskeyLogin(t, srv, required.Token))
			if len(opts.Response.AllowedCredentials) != 1 || passkeytest.B64.EncodeToString(opts.Response.AllowedCredentials[0].CredentialID) != p.ID {
				t.Errorf("allowCredentials = %+v, want the user's passkey", opts.Response.AllowedCredentials)
			}
			// A wrong assertion (another key) does not burn the token.
			finish := func(resp []byte) *apptest.Response {
				return srv.NewClient().Do(t, http.MethodPost, "/v1/login/passkey/finish", passkeytest.With(t, resp, map[string]any{"mfa_token": required.Token}))
			}
			finish(passkeytest.New(t).Get(t, opts, pkOrigin, pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			// Its challenge is used up, though.
			finish(a.Get(t, opts, pkOrigin, pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			// A passwordless challenge cannot finish a second factor.
			finish(a.Get(t, passkeytest.RequestOptions(t, beginPasskeyLogin(t, srv, "")), pkOrigin, pkRPID)).WantError(t, http.StatusUnauthorized, "invalid_credentials")
			opts = passkeytest.RequestOptions(t, beginPasskeyLogin(t, srv, required.Token))
			var tokens struct {
				AccessToken string `json:"access_token"`
			}
			finish(a.Get(t, opts, pkOrigin, pkRPID)).WantStatus(t, http.StatusOK).Decode(t, &tokens)
			if tokens.AccessToken == "" {
				t.Fatal("second factor answered no access token (the login asked for token mode)")
			}
			// The token is used up.
			srv.NewClient().Do(t, http.MethodPost, "/v1/login/passkey/begin", map[string]string{"mfa_token": required.Token}).
				WantError(t, http.StatusUnauthorized, "invalid_credentials")
			// The session records the password and the key.
			// A key without user verification cannot log in alone.
			_, r = passkeyLogin(t, srv, a, "session")
			r.WantError(t, http.StatusUnauthorized, "invalid_credentials")

			// With TOTP too, both factors are offered, and a code works
			// as well.
			c = passkeySecondFactorLogin(t, srv, u.Email, u.Password, a)
			if me := whoami(t, c); !slices.Equal(me.Auth.AMR, []string{"pwd", "hwk", "mfa"}) {
				t.Errorf("password + security key without UV: amr %q, want [pwd hwk mfa]", me.Auth.AMR)
			}
			enrolTOTP(t, srv, c)
			r = srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password})
			r.Decode(t, &required)
			if !slices.Equal(required.Factors, []string{"totp", "passkey"}) {
				t.Errorf("factors = %q, want [totp passkey]", required.Factors)
			}
			// An account with TOTP only has no passkey options.
			ou, other := srv.NewSession(t)
			enrolTOTP(t, srv, other)
			tok := mfaRequired(t, srv, ou.Email, ou.Password, "session")
			srv.NewClient().Do(t, http.MethodPost, "/v1/login/passkey/begin", map[string]string{"mfa_token": tok}).
				WantError(t, http.StatusBadRequest, "invalid_request")
		})
	}
}

func TestPasskeysOffForIPIssuer(t *testing.T) {
	logs := &syncbuf.Buffer{}
	srv := apptest.Start(t, apptest.Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	if !strings.Contains(logs.String(), "passkeys are off") {
		t.Errorf("no start-up warning for the IP-address issuer %s; logs:\n%s", srv.Origin(), logs.String())
	}
	_, c := srv.NewSession(t)
	c.Do(t, http.MethodGet, "/v1/passkeys", nil).WantError(t, http.StatusNotFound, "not_found")
	c.Do(t, http.MethodPost, "/v1/passkeys/register/begin", nil).WantError(t, http.StatusNotFound, "not_found")
	srv.NewClient().Do(t, http.MethodPost, "/v1/login/passkey/begin", nil).WantError(t, http.StatusNotFound, "not_found")
}

// TestPasskeyPages checks the pages' side: /login offers a passkey
// through the one script file, allowed by its CSP (and only when passkeys
// are on); /account/passkeys lists and removes passkeys with the
// session's CSRF token and the step-up rule, escaping names.
func TestPasskeyPages(t *testing.T) {
	off := apptest.Start(t, apptest.Options{})
	r := off.NewClient().Do(t, http.MethodGet, "/login", nil).WantStatus(t, http.StatusOK)
	if strings.Contains(string(r.Body), "passkey") || strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src") {
		t.Errorf("the login page of an IP-address issuer offers passkeys or allows script")
	}

	srv, _ := startPasskeyServer(t, nil)
	r = srv.NewClient().Do(t, http.MethodGet, "/login?return_to=/account/passkeys", nil).WantStatus(t, http.StatusOK)
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("login page CSP %q, want script-src 'self' and connect-src 'self', nothing inline", csp)
	}
	body := string(r.Body)
	if !strings.Contains(body, `<script src="/static/passkey.js" defer></script>`) || !strings.Contains(body, `id="passkey-login"`) || !strings.Contains(body, `data-return-to="/account/passkeys"`) {
		t.Errorf("login page without the passkey button and script:\n%s", body)
	}
	js := srv.NewClient().Do(t, http.MethodGet, "/static/passkey.js", nil).WantStatus(t, http.StatusOK)
	if ct := js.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") || !strings.Contains(string(js.Body), "navigator.credentials.get") {
		t.Errorf("/static/passkey.js: %q", ct)
	}

	// The password form's second step offers the passkey, and no code
	// form to an account without TOTP.
	pu, pc := srv.NewSession(t)
	registerPasskey(t, pc, passkeytest.New(t), "")
	lc := srv.NewClient()
	r = lc.Do(t, http.MethodGet, "/login", nil).WantStatus(t, http.StatusOK)
	var csrfCookie string
	for _, ck := range r.Header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(ck, "gatehouse_login_csrf="); ok {
			csrfCookie, _, _ = strings.Cut(v, ";")
		}
	}
	form := "csrf_token=" + regexpValue(t, string(r.Body), "csrf_token") + "&email=" + url.QueryEscape(pu.Email) + "&password=" + url.QueryEscape(pu.Password)
	step := string(lc.Do(t, http.MethodPost, "/login", form, "Content-Type", "application/x-www-form-urlencoded",
		"Origin", pkOrigin, "Cookie", "gatehouse_login_csrf="+csrfCookie).WantStatus(t, http.StatusOK).Body)
	if !strings.Contains(step, `id="passkey-login"`) || !strings.Contains(step, `data-mfa-token="`) || strings.Contains(step, `name="code"`) {
		t.Errorf("second step of a passkey account:\n%s", step)
	}

	// Without a session the page sends the browser to sign in.
	r = srv.NewClient().Do(t, http.MethodGet, "/account/passkeys", nil).WantStatus(t, http.StatusOK)
	if !strings.Contains(string(r.Body), `action="/login"`) {
		t.Errorf("/account/passkeys without a session did not lead to /login:\n%s", r.Body)
	}

	u, c := srv.NewSession(t)
	a := passkeytest.New(t)
	p := registerPasskey(t, c, a, `<script>alert(1)</script>`)
	page := func() string {
		r := c.Do(t, http.MethodGet, "/account/passkeys", nil).WantStatus(t, http.StatusOK)
		if !strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("passkeys page CSP %q", r.Header.Get("Content-Security-Policy"))
		}
		return string(r.Body)
	}
	body = page()
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(body, `data-id="`+p.ID+`"`) {
		t.Errorf("passkeys page does not list the passkey, escaped:\n%s", body)
	}
	if !strings.Contains(body, `data-csrf="`+c.CSRF+`"`) && !strings.Contains(body, `name="csrf_token" value="`) {
		t.Errorf("passkeys page without the session's CSRF token")
	}
	if want := "Added " + srv.Clock.Now().UTC().Format("2 Jan 2006") + " · never used"; !strings.Contains(body, want) {
		t.Errorf("passkeys page does not say %q:\n%s", want, body)
	}
	remove := func(csrf, origin string) *apptest.Response {
		return c.Do(t, http.MethodPost, "/account/passkeys/remove", "csrf_token="+csrf+"&id="+p.ID,
			"Content-Type", "application/x-www-form-urlencoded", "Origin", origin, "X-CSRF-Token", "")
	}
	formCSRF := regexpValue(t, body[strings.Index(body, `<form method="post" action="/account/passkeys/remove">`):], "csrf_token")
	remove("nonsense", pkOrigin).WantStatus(t, http.StatusForbidden)
	remove(formCSRF, "http://evil.example").WantStatus(t, http.StatusForbidden)
	if len(listPasskeys(t, c)) != 1 {
		t.Fatal("a refused form removed the passkey")
	}
	srv.Clock.Advance(11 * time.Minute)
	if r := remove(formCSRF, pkOrigin).WantStatus(t, http.StatusForbidden); !strings.Contains(string(r.Body), "Sign in again") {
		t.Errorf("an old login got %s", r.Body)
	}
	// Signed in again (password and passkey), the form works.
	c = passkeySecondFactorLogin(t, srv, u.Email, u.Password, a)
	body = page()
	if want := "last used " + srv.Clock.Now().UTC().Format("2 Jan 2006 15:04 MST"); !strings.Contains(body, want) || strings.Contains(body, "never used") {
		t.Errorf("passkeys page after a passkey login does not say %q:\n%s", want, body)
	}
	formCSRF = regexpValue(t, body[strings.Index(body, `<form method="post" action="/account/passkeys/remove">`):], "csrf_token")
	r = remove(formCSRF, pkOrigin).WantStatus(t, http.StatusOK)
	if !strings.Contains(string(r.Body), "The passkey was removed.") || !strings.Contains(string(r.Body), `id="no-passkeys"`) {
		t.Errorf("after removal:\n%s", r.Body)
	}
}

// meBody is the part of GET /v1/me the passkey tests read.
type meBody struct {
	User struct {
		Email string `json:"email"`
	} `json:"user"`
	Auth struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	} `json:"auth"`
}

func whoami(t *testing.T, c *apptest.Client) meBody {
	t.Helper()
	var me meBody
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
	return me
}
