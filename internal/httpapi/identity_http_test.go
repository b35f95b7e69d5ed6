package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// These tests go through the real router, middleware and wiring (app.New
// over SQLite) and check the rows of shared/spec/http-api.md, "Identity and
// login", in session mode.

func TestSignup(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	c := srv.NewClient()
	r := c.Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": "  Alice@Example.COM ", "password": "correct horse"}).
		WantStatus(t, http.StatusCreated)
	var body map[string]map[string]any
	r.Decode(t, &body)
	u := body["user"]
	if len(body) != 1 || u == nil {
		t.Fatalf("signup body %s: want exactly a user member", r.Body)
	}
	if id, _ := u["id"].(string); id == "" {
		t.Errorf("user id = %v, want a non-empty string", u["id"])
	}
	if got, want := u["email"], "Alice@example.com"; got != want {
		t.Errorf("email = %v, want %q (trimmed, domain lower-cased)", got, want)
	}
	if got, want := u["created_at"], srv.Clock.Now().UTC().Format(time.RFC3339); got != want {
		t.Errorf("created_at = %v, want %q (RFC 3339 UTC)", got, want)
	}
	for _, secret := range []string{"correct horse", "argon2", "password"} {
		if bytes.Contains(bytes.ToLower(r.Body), []byte(secret)) {
			t.Errorf("signup answer mentions %q: %s", secret, r.Body)
		}
	}

	// The same address again, however it is spelled, is a conflict.
	c.Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": "Alice@example.com", "password": "another password"}).
		WantError(t, http.StatusConflict, "conflict")

	// The account works.
	lc := srv.Login(t, "Alice@EXAMPLE.com", "correct horse")
	if lc.UserID != u["id"] {
		t.Errorf("login user id %q, want the signup's %v", lc.UserID, u["id"])
	}
}

// badBodies are requests that every JSON endpoint must refuse the same way.
// They share the shape {body, content type, status, code}.
type badBody struct {
	name        string
	body        string
	contentType string
	status      int
	code        string
}

func badJSONBodies(valid string) []badBody {
	return []badBody{
		{"malformed JSON", `{"email": "a@example.com", "password": `, "application/json", 400, "invalid_request"},
		{"not an object", `["a@example.com", "password1"]`, "application/json", 400, "invalid_request"},
		{"a string", `"hello"`, "application/json", 400, "invalid_request"},
		{"empty body", ``, "application/json", 400, "invalid_request"},
		{"trailing data", valid + `{}`, "application/json", 400, "invalid_request"},
		{"email is a number", `{"email": 5, "password": "password123"}`, "application/json", 400, "invalid_request"},
		{"password is an object", `{"email": "a@example.com", "password": {"x": 1}}`, "application/json", 400, "invalid_request"},
		{"email is an array", `{"email": ["a@example.com"], "password": "password123"}`, "application/json", 400, "invalid_request"},
		{"text/plain", valid, "text/plain", 415, "unsupported_media_type"},
		{"form", "email=a%40example.com&password=password123", "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"no content type", valid, "", 415, "unsupported_media_type"},
		{"latin-1 charset", valid, "application/json; charset=iso-8859-1", 415, "unsupported_media_type"},
		{"garbled content type", valid, "application/json; charset", 415, "unsupported_media_type"},
	}
}

func TestSignupBadRequests(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	valid := `{"email": "a@example.com", "password": "password123"}`
	cases := append(badJSONBodies(valid),
		badBody{"missing email", `{"password": "password123"}`, "application/json", 400, "invalid_request"},
		badBody{"missing password", `{"email": "a@example.com"}`, "application/json", 400, "invalid_request"},
		badBody{"null password", `{"email": "a@example.com", "password": null}`, "application/json", 400, "invalid_request"},
		badBody{"password of 7 bytes", `{"email": "a@example.com", "password": "1234567"}`, "application/json", 400, "invalid_request"},
		badBody{"password over 1024 bytes", `{"email": "a@example.com", "password": "` + strings.Repeat("p", 1025) + `"}`, "application/json", 400, "invalid_request"},
		badBody{"no @", `{"email": "a.example.com", "password": "password123"}`, "application/json", 400, "invalid_request"},
		badBody{"empty local part", `{"email": "@example.com", "password": "password123"}`, "application/json", 400, "invalid_request"},
		badBody{"space in domain", `{"email": "a@exa mple.com", "password": "password123"}`, "application/json", 400, "invalid_request"},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.NewClient().Do(t, http.MethodPost, "/v1/signup", tc.body, "Content-Type", tc.contentType).
				WantError(t, tc.status, tc.code)
		})
	}
	// None of them created the account; the valid body does, with any
	// spelling of the UTF-8 charset and unknown fields ignored.
	srv.NewClient().Do(t, http.MethodPost, "/v1/signup", `{"email": "a@example.com", "password": "password123", "colour": "blue"}`,
		"Content-Type", "application/json; charset=UTF-8").WantStatus(t, http.StatusCreated)
}

func TestSignupClosed(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--signup=false"}})
	srv.NewClient().Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": "a@example.com", "password": "password123"}).
		WantError(t, http.StatusForbidden, "forbidden")
	// Closed signup leaves administrators able to create accounts, and
	// those accounts able to log in.
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/users", map[string]string{"email": "a@example.com", "password": "password123"}).
		WantStatus(t, http.StatusCreated)
	srv.Login(t, "a@example.com", "password123")
}

func TestSignupEnvVariable(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Env: map[string]string{"GATEHOUSE_SIGNUP": "false"}})
	srv.NewClient().Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": "a@example.com", "password": "password123"}).
		WantError(t, http.StatusForbidden, "forbidden")
}

func TestLoginSession(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--session-idle-timeout", "20m", "--session-lifetime", "8h"}})
	u := srv.NewUser(t)
	now := srv.Clock.Now()
	c := srv.NewClient()
	r := c.Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "session"}, "User-Agent", "apptest/1.0").
		WantStatus(t, http.StatusOK)

	var body struct {
		User    map[string]any `json:"user"`
		Session map[string]any `json:"session"`
		CSRF    string         `json:"csrf_token"`
	}
	r.Decode(t, &body)
	if body.User["id"] != u.ID || body.User["email"] != u.Email {
		t.Errorf("login user = %v, want id %s, email %s", body.User, u.ID, u.Email)
	}
	want := map[string]string{
		"created_at":      now.Format(time.RFC3339),
		"expires_at":      now.Add(8 * time.Hour).Format(time.RFC3339),
		"idle_expires_at": now.Add(20 * time.Minute).Format(time.RFC3339),
	}
	for k, v := range want {
		if body.Session[k] != v {
			t.Errorf("session.%s = %q, want %q", k, body.Session[k], v)
		}
	}
	if id, _ := body.Session["id"].(string); id == "" || body.CSRF == "" {
		t.Fatalf("login body %s: want a session id and a csrf_token", r.Body)
	}

	ck := r.Cookie("gatehouse_session")
	if ck == nil {
		t.Fatalf("no gatehouse_session cookie; Set-Cookie: %q", r.Header.Values("Set-Cookie"))
	}
	if body.Session["kind"] != "cookie" {
		t.Errorf("session.kind = %v, want cookie", body.Session["kind"])
	}
	if ck.Value == body.Session["id"] || strings.Contains(string(r.Body), ck.Value) {
		t.Errorf("the cookie value appears in the login body (session id %q)", body.Session["id"])
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(raw)*8 < 256 {
		t.Errorf("cookie value %q: want at least 256 random bits in base64url (err %v, %d bits)", ck.Value, err, len(raw)*8)
	}
	if got, want := ck.MaxAge, int((8 * time.Hour).Seconds()); got != want {
		t.Errorf("cookie Max-Age = %d, want %d (the absolute lifetime)", got, want)
	}

	// /v1/me shows the session that was just created.
	c.Cookie = ck.Value
	c.SessionID, _ = body.Session["id"].(string)
	var me struct {
		User map[string]any `json:"user"`
		Auth map[string]any `json:"auth"`
	}
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
	if me.User["id"] != u.ID || me.User["email"] != u.Email {
		t.Errorf("/v1/me user = %v, want %s", me.User, u.ID)
	}
	wantAuth := map[string]string{"method": "session", "session_id": c.SessionID, "expires_at": want["idle_expires_at"],
		"acr": "urn:gatehouse:acr:1fa", "auth_time": want["created_at"]}
	for k, v := range wantAuth {
		if me.Auth[k] != v {
			t.Errorf("/v1/me auth.%s = %v, want %q", k, me.Auth[k], v)
		}
	}
	if amr, _ := me.Auth["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Errorf("/v1/me auth.amr = %v, want [pwd]", me.Auth["amr"])
	}
	if _, ok := me.User["password_hash"]; ok {
		t.Errorf("/v1/me shows the password hash")
	}
}

func TestLoginDefaultModeIsSession(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	c := srv.NewClient()
	r := c.Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).WantStatus(t, http.StatusOK)
	if r.Cookie(srv.CookieName()) == nil {
		t.Fatalf("a login without mode set no session cookie")
	}
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
}

func TestCookieAttributes(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		cookieName string
		secure     bool
		hsts       bool
	}{
		{"http issuer", nil, "gatehouse_session", false, false},
		{"https issuer", []string{"--issuer", "https://auth.example.com"}, "__Host-gatehouse", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: tc.args})
			u := srv.NewUser(t)
			r := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).
				WantStatus(t, http.StatusOK)
			set := r.Header.Values("Set-Cookie")
			if len(set) != 1 {
				t.Fatalf("Set-Cookie = %q, want exactly one cookie", set)
			}
			ck := r.Cookie(tc.cookieName)
			if ck == nil {
				t.Fatalf("Set-Cookie %q: want a cookie named %s", set, tc.cookieName)
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure != tc.secure || ck.Domain != "" {
				t.Errorf("Set-Cookie %q: want HttpOnly, SameSite=Lax, Path=/, no Domain, Secure=%v", set[0], tc.secure)
			}
			if got := r.Header.Get("Strict-Transport-Security") != ""; got != tc.hsts {
				t.Errorf("Strict-Transport-Security present = %v, want %v", got, tc.hsts)
			}
			// The cookie authenticates under that name and no other.
			c := srv.NewClient()
			c.Do(t, http.MethodGet, "/v1/me", nil, "Cookie", tc.cookieName+"="+ck.Value).WantStatus(t, http.StatusOK)
			other := "__Host-gatehouse"
			if tc.cookieName == other {
				other = "gatehouse_session"
			}
			c.Do(t, http.MethodGet, "/v1/me", nil, "Cookie", other+"="+ck.Value).WantError(t, http.StatusUnauthorized, "unauthenticated")
		})
	}
}

// TestLoginFailuresAreIdentical checks that an unknown email, a wrong
// password, a disabled account and a string that is no address at all get
// byte-identical answers: nothing tells an attacker which accounts exist.
func TestLoginFailuresAreIdentical(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	disabled := srv.NewUser(t)
	srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+disabled.ID, map[string]any{"disabled": true}).WantStatus(t, http.StatusOK)

	attempts := []struct{ name, email, password string }{
		{"wrong password", u.Email, u.Password + "x"},
		{"unknown email", "nobody-" + u.Email, u.Password},
		{"unknown email, other domain", "someone@elsewhere.example", "password123"},
		{"disabled account, right password", disabled.Email, disabled.Password},
		{"not an address", "not-an-address", "password123"},
		{"password too long", u.Email, strings.Repeat("x", 2000)},
		{"password too short", u.Email, "short"},
	}
	var first *apptest.Response
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			r := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": a.email, "password": a.password})
			r.WantError(t, http.StatusUnauthorized, "invalid_credentials")
			if r.Cookie(srv.CookieName()) != nil {
				t.Errorf("a failed login set a session cookie")
			}
			if first == nil {
				first = r
				return
			}
			if !bytes.Equal(r.Body, first.Body) {
				t.Errorf("body %s differs from the %q answer %s", r.Body, attempts[0].name, first.Body)
			}
			for _, h := range []string{"Content-Type", "Content-Length", "WWW-Authenticate", "Retry-After", "Set-Cookie"} {
				if r.Header.Get(h) != first.Header.Get(h) {
					t.Errorf("header %s = %q, differs from %q", h, r.Header.Get(h), first.Header.Get(h))
				}
			}
		})
	}
}

func TestLoginBadRequests(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	valid := `{"email": "` + u.Email + `", "password": "` + u.Password + `"}`
	cases := append(badJSONBodies(valid),
		badBody{"unknown mode", `{"email": "a@example.com", "password": "password123", "mode": "cookie"}`, "application/json", 400, "invalid_request"},
		badBody{"mode is a number", `{"email": "a@example.com", "password": "password123", "mode": 1}`, "application/json", 400, "invalid_request"},
		badBody{"missing password", `{"email": "a@example.com"}`, "application/json", 400, "invalid_request"},
		badBody{"missing email", `{"password": "password123"}`, "application/json", 400, "invalid_request"},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.NewClient()
			r := c.Do(t, http.MethodPost, "/v1/login", tc.body, "Content-Type", tc.contentType)
			r.WantError(t, tc.status, tc.code)
			if c.Cookie != "" {
				t.Errorf("a refused login set a cookie")
			}
		})
	}
	// The bad requests used none of the account's failed-login budget: the
	// right password still works after more of them than the limit allows.
	srv.Login(t, u.Email, u.Password)
}

func TestLoginBodyTooLarge(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	big := `{"email": "a@example.com", "password": "password123", "pad": "` + strings.Repeat("x", 1<<20) + `"}`
	for _, path := range []string{"/v1/login", "/v1/signup"} {
		t.Run(path+" with Content-Length", func(t *testing.T) {
			srv.NewClient().Do(t, http.MethodPost, path, big).WantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
		})
		t.Run(path+" chunked", func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(big))
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = -1 // unknown: sent chunked, so only reading finds the size
			req.Header.Set("Content-Type", "application/json")
			srv.NewClient().Send(t, req).WantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
		})
	}
	// Just under the limit is read (and refused for what it says, not its
	// size).
	pad := 1<<20 - len(`{"email": "a@example.com", "password": "password123", "pad": ""}`)
	justUnder := `{"email": "a@example.com", "password": "password123", "pad": "` + strings.Repeat("x", pad) + `"}`
	if len(justUnder) != 1<<20 {
		t.Fatalf("test body is %d bytes, want %d", len(justUnder), 1<<20)
	}
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", justUnder).WantError(t, http.StatusUnauthorized, "invalid_credentials")
}

func TestLogout(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	_, other := srv.NewSession(t)
	cookie := c.Cookie

	// Logout is an unsafe cookie request: without the CSRF token it is
	// refused and the session lives on.
	c.Do(t, http.MethodPost, "/v1/logout", nil, "X-CSRF-Token", "").WantError(t, http.StatusForbidden, "csrf_failed")
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)

	r := c.Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Errorf("204 with body %q", r.Body)
	}
	ck := r.Cookie(srv.CookieName())
	if ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
		t.Errorf("logout Set-Cookie %q: want the cookie cleared (Max-Age=0)", r.Header.Values("Set-Cookie"))
	}
	stale := srv.NewClient()
	stale.Cookie = cookie
	stale.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	stale.CSRF = c.CSRF
	stale.Do(t, http.MethodPost, "/v1/logout", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	// Another user's session is untouched.
	other.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
}

func TestMeUnauthenticated(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	forged := []byte(c.Cookie)
	forged[0] ^= 1
	cases := []struct{ name, cookie string }{
		{"no cookie", ""},
		{"empty cookie", srv.CookieName() + "="},
		{"garbage", srv.CookieName() + "=hello"},
		{"well-formed unknown secret", srv.CookieName() + "=" + base64.RawURLEncoding.EncodeToString(make([]byte, 32))},
		{"one bit off", srv.CookieName() + "=" + string(forged)},
		{"the public session id", srv.CookieName() + "=" + c.SessionID},
		{"the hash of the secret", srv.CookieName() + "=" + hashB64(c.Cookie)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.NewClient().Do(t, http.MethodGet, "/v1/me", nil, "Cookie", tc.cookie)
			r.WantError(t, http.StatusUnauthorized, "unauthenticated")
			if r.Header.Get("WWW-Authenticate") != "" {
				t.Errorf("WWW-Authenticate %q on a cookie request; the contract sends it only for bearer tokens", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func hashB64(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// TestSessionFixation checks that a cookie sent with a login is never
// kept: the login answers a new secret, and the old session ends.
func TestSessionFixation(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	victim := srv.NewUser(t)
	_, attackerClient := srv.NewSession(t)

	cases := []struct {
		name    string
		planted func(t *testing.T) string
		// live reports whether the planted cookie was a live session,
		// which the login must end.
		live bool
	}{
		{"attacker's live session", func(t *testing.T) string { return attackerClient.Cookie }, true},
		{"victim's own earlier session", func(t *testing.T) string { return srv.Login(t, victim.Email, victim.Password).Cookie }, true},
		{"made-up secret", func(t *testing.T) string { return base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)) }, false},
		{"garbage", func(t *testing.T) string { return "x" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			planted := tc.planted(t)
			c := srv.NewClient()
			c.Cookie = planted
			c.Login(t, victim.Email, victim.Password)
			if c.Cookie == "" || c.Cookie == planted {
				t.Fatalf("login kept the planted cookie %q", planted)
			}
			c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
			old := srv.NewClient()
			old.Cookie = planted
			r := old.Do(t, http.MethodGet, "/v1/me", nil)
			r.WantError(t, http.StatusUnauthorized, "unauthenticated")
		})
	}
}

func TestLoginRateLimitPerAccount(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--login-limit-account", "3/15m", "--login-limit-ip", "1000/15m"}})
	u := srv.NewUser(t)
	ghost := "ghost-" + u.Email // never signed up

	// Both accounts see the same answers, failure for failure.
	answers := map[string][]*apptest.Response{}
	for _, email := range []string{u.Email, ghost} {
		for range 4 {
			answers[email] = append(answers[email], srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": email, "password": "wrong password"}))
		}
	}
	for email, rs := range answers {
		for i, r := range rs[:3] {
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s attempt %d: status %d, want 401", email, i+1, r.Status)
			}
		}
		rs[3].WantError(t, http.StatusTooManyRequests, "rate_limited")
	}
	a, b := answers[u.Email][3], answers[ghost][3]
	if !bytes.Equal(a.Body, b.Body) || a.Header.Get("Retry-After") != b.Header.Get("Retry-After") {
		t.Errorf("rate-limited answers differ: existing %s (Retry-After %q), unknown %s (Retry-After %q)",
			a.Body, a.Header.Get("Retry-After"), b.Body, b.Header.Get("Retry-After"))
	}
	// With 3 per 15 minutes, one more attempt is allowed every 5 minutes.
	retry, err := strconv.Atoi(a.Header.Get("Retry-After"))
	if err != nil || retry <= 0 || retry > 300 {
		t.Fatalf("Retry-After %q: want whole seconds in (0, 300]", a.Header.Get("Retry-After"))
	}

	// The right password is refused too while the account is locked: the
	// limit protects the account, not the guesser's luck.
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).
		WantError(t, http.StatusTooManyRequests, "rate_limited")
	// Other accounts are not affected.
	other := srv.NewUser(t)
	srv.Login(t, other.Email, other.Password)
	// The lock is per account however the domain is spelled.
	local, domain, _ := strings.Cut(u.Email, "@")
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": " " + local + "@" + strings.ToUpper(domain), "password": u.Password}).
		WantError(t, http.StatusTooManyRequests, "rate_limited")

	// After Retry-After, the right password works, and a success clears
	// the account's failures.
	srv.Clock.Advance(time.Duration(retry) * time.Second)
	srv.Login(t, u.Email, u.Password)
	for range 3 {
		srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": "wrong"}).
			WantError(t, http.StatusUnauthorized, "invalid_credentials")
	}
}

func TestLoginRateLimitPerIP(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--login-limit-account", "100/15m", "--login-limit-ip", "4/1m"}})
	u := srv.NewUser(t) // a signup counts against the address too
	for _, email := range []string{"1" + u.Email, "2" + u.Email, "not an address"} {
		srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": email, "password": "wrong password"}).
			WantError(t, http.StatusUnauthorized, "invalid_credentials")
	}
	for _, email := range []string{u.Email, "never-" + u.Email, "still not an address"} {
		r := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": email, "password": u.Password})
		r.WantError(t, http.StatusTooManyRequests, "rate_limited")
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra <= 0 || ra > 60 {
			t.Errorf("Retry-After %q: want whole seconds in (0, 60]", r.Header.Get("Retry-After"))
		}
	}
	// A minute later the address has its budget back.
	srv.Clock.Advance(time.Minute)
	srv.Login(t, u.Email, u.Password)
}

// TestLoginRateLimitByForwardedAddress checks that behind a trusted proxy
// the limit applies to the client address from X-Forwarded-For, and that
// the session records that address.
func TestLoginRateLimitByForwardedAddress(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--login-limit-account", "100/15m", "--login-limit-ip", "2/1m", "--trusted-proxies", "127.0.0.1/8,::1"}})
	u := srv.NewUser(t)
	login := func(xff, password string) *apptest.Response {
		return srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": password}, "X-Forwarded-For", xff)
	}
	for range 2 {
		login("203.0.113.7", "wrong password").WantError(t, http.StatusUnauthorized, "invalid_credentials")
	}
	login("203.0.113.7", u.Password).WantError(t, http.StatusTooManyRequests, "rate_limited")
	// A client cannot escape by prepending a spoofed hop: the proxy appends
	// the real address, which is the right-most one.
	login("198.51.100.1, 203.0.113.7", u.Password).WantError(t, http.StatusTooManyRequests, "rate_limited")
	// Another client behind the same proxy is not limited.
	r := login("198.51.100.9", u.Password).WantStatus(t, http.StatusOK)
	c := srv.NewClient()
	c.Cookie = r.Cookie(srv.CookieName()).Value
	var list struct {
		Sessions []struct {
			IP string `json:"ip"`
		} `json:"sessions"`
	}
	c.Do(t, http.MethodGet, "/v1/sessions", nil).WantStatus(t, http.StatusOK).Decode(t, &list)
	if len(list.Sessions) != 1 || list.Sessions[0].IP != "198.51.100.9" {
		t.Errorf("sessions = %+v, want one from 198.51.100.9", list.Sessions)
	}
}

// TestEmailUnicode checks email identity through the real router: invalid
// UTF-8 and lone surrogate escapes in the address are 400 invalid_request
// at signup and admin creation (never a stored U+FFFD), a login with one
// is the usual 401, and the NFC and NFD spellings are one account.
func TestEmailUnicode(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	for name, body := range map[string]string{
		"invalid UTF-8":  "{\"email\": \"jos\xc3@example.com\", \"password\": \"password123\"}",
		"lone surrogate": `{"email": "\ud800@example.com", "password": "password123"}`,
		"U+FFFD":         `{"email": "\ufffd@example.com", "password": "password123"}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv.NewClient().Do(t, http.MethodPost, "/v1/signup", body).WantError(t, http.StatusBadRequest, "invalid_request")
			srv.Admin().Do(t, http.MethodPost, "/admin/v1/users", body).WantError(t, http.StatusBadRequest, "invalid_request")
			srv.NewClient().Do(t, http.MethodPost, "/v1/login", body).WantError(t, http.StatusUnauthorized, "invalid_credentials")
		})
	}
	const nfc, nfd = "jos\u00e9@example.com", "jose\u0301@example.com"
	r := srv.NewClient().Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": nfd, "password": "password123"}).
		WantStatus(t, http.StatusCreated)
	var created struct {
		User struct{ Email string } `json:"user"`
	}
	r.Decode(t, &created)
	if created.User.Email != nfc {
		t.Errorf("signed up as %q, want the NFC form %q", created.User.Email, nfc)
	}
	srv.NewClient().Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": nfc, "password": "password123"}).
		WantError(t, http.StatusConflict, "conflict")
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/users", map[string]string{"email": nfc, "password": "password123"}).
		WantError(t, http.StatusConflict, "conflict")
	for _, email := range []string{nfc, nfd} {
		srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": email, "password": "password123"}).
			WantStatus(t, http.StatusOK)
	}
}
