package httpapi_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// lifecycleBackends are the databases the lifecycle tests run on: the
// tokens and the outbox live there.
var lifecycleBackends = []struct {
	name string
	args func(t *testing.T) []string
}{
	{"SQLite", func(*testing.T) []string { return nil }},
	{"PostgreSQL", func(t *testing.T) []string { return []string{"--db", pgtest.NewDatabase(t)} }},
}

// meUser returns the user object of GET /v1/me for c.
func meUser(t *testing.T, c *apptest.Client) map[string]any {
	t.Helper()
	var body struct {
		User map[string]any `json:"user"`
	}
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &body)
	return body.User
}

// userOf decodes the {"user"} answer of r.
func userOf(t *testing.T, r *apptest.Response) map[string]any {
	t.Helper()
	var body struct {
		User map[string]any `json:"user"`
	}
	r.Decode(t, &body)
	if body.User == nil {
		t.Fatalf("answer %s has no user", r.Body)
	}
	return body.User
}

// linkMail returns the newest mail to to that carries a link to path
// (mails queued together are delivered in no set order, so the newest
// of each kind is what a test can rely on).
func linkMail(t *testing.T, srv *apptest.Server, to, path string) apptest.Mail {
	t.Helper()
	var m apptest.Mail
	for _, x := range srv.Mailbox(t, to) {
		if x.Path == path {
			m = x
		}
	}
	if m.Token == "" {
		t.Fatalf("no mail to %s has a /%s link", to, path)
	}
	if !strings.HasPrefix(m.Link, srv.URL+"/"+path+"?token=") {
		t.Errorf("link %q, want %s/%s?token=…", m.Link, srv.URL, path)
	}
	if len(m.Token) < 22 {
		t.Errorf("token %q is shorter than 128 bits of base64url", m.Token)
	}
	return m
}

// mailsTo returns the mails to to with a link to path ("" for mails
// without a link: notices).
func mailsTo(t *testing.T, srv *apptest.Server, to, path string) []apptest.Mail {
	t.Helper()
	var out []apptest.Mail
	for _, m := range srv.Mailbox(t, to) {
		if m.Path == path {
			out = append(out, m)
		}
	}
	return out
}

func confirmVerification(t *testing.T, srv *apptest.Server, token string) *apptest.Response {
	t.Helper()
	return srv.NewClient().Do(t, http.MethodPost, "/v1/verification/email/confirm", map[string]string{"token": token})
}

func confirmRecovery(t *testing.T, srv *apptest.Server, token, pw string) *apptest.Response {
	t.Helper()
	return srv.NewClient().Do(t, http.MethodPost, "/v1/recovery/confirm", map[string]string{"token": token, "password": pw})
}

func requestRecovery(t *testing.T, srv *apptest.Server, email string, header ...string) *apptest.Response {
	t.Helper()
	return srv.NewClient().Do(t, http.MethodPost, "/v1/recovery", map[string]string{"email": email}, header...)
}

// TestEmailVerification: signup mails a /verify link (the dev mailbox
// counts as configured mail); the link verifies the address once; a
// used, superseded or expired token is invalid_token; every user object
// carries email_verified.
func TestEmailVerification(t *testing.T) {
	for _, be := range lifecycleBackends {
		t.Run(be.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: be.args(t)})
			c := srv.NewClient()
			email := apptest.RandomEmail()
			signup := userOf(t, c.Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": email, "password": "correct horse"}).WantStatus(t, http.StatusCreated))
			if signup["email_verified"] != false {
				t.Errorf("signup user email_verified = %v, want false", signup["email_verified"])
			}
			first := linkMail(t, srv, email, "verify")
			lc := srv.Login(t, email, "correct horse")
			if v := meUser(t, lc)["email_verified"]; v != false {
				t.Errorf("/v1/me email_verified = %v before the link, want false", v)
			}

			// A new request supersedes the signup's link.
			lc.Do(t, http.MethodPost, "/v1/verification/email", nil).WantStatus(t, http.StatusAccepted)
			second := linkMail(t, srv, email, "verify")
			if second.Token == first.Token {
				t.Fatal("the second link repeats the first token")
			}
			confirmVerification(t, srv, first.Token).WantError(t, http.StatusBadRequest, "invalid_token")

			u := userOf(t, confirmVerification(t, srv, second.Token).WantStatus(t, http.StatusOK))
			if u["email_verified"] != true || u["email"] != email {
				t.Errorf("confirm answered %v, want the user verified", u)
			}
			if v := meUser(t, lc)["email_verified"]; v != true {
				t.Errorf("/v1/me email_verified = %v after the link, want true", v)
			}
			admin := srv.Admin().Do(t, http.MethodGet, "/admin/v1/users/"+lc.UserID, nil).WantStatus(t, http.StatusOK).JSON(t)
			if admin["email_verified"] != true {
				t.Errorf("admin user email_verified = %v, want true", admin["email_verified"])
			}
			// Used once.
			confirmVerification(t, srv, second.Token).WantError(t, http.StatusBadRequest, "invalid_token")
			// A verified address gets no more links; the answer is the same.
			lc.Do(t, http.MethodPost, "/v1/verification/email", nil).WantStatus(t, http.StatusAccepted)
			if n := len(mailsTo(t, srv, email, "verify")); n != 2 {
				t.Errorf("%d verification mails to a verified address, want the 2 sent before", n)
			}

			// Expiry: 24 hours by default, dead at the second.
			u2, c2 := srv.NewSession(t)
			tok := linkMail(t, srv, u2.Email, "verify").Token
			srv.Clock.Advance(24 * time.Hour)
			confirmVerification(t, srv, tok).WantError(t, http.StatusBadRequest, "invalid_token")
			if v := srv.Admin().Do(t, http.MethodGet, "/admin/v1/users/"+c2.UserID, nil).WantStatus(t, http.StatusOK).JSON(t)["email_verified"]; v != false {
				t.Errorf("an expired link verified the address")
			}
		})
	}
}

func TestEmailVerificationBadRequests(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	recoverTok := func() string {
		requestRecovery(t, srv, u.Email).WantStatus(t, http.StatusAccepted)
		return linkMail(t, srv, u.Email, "recover").Token
	}()
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"verify no token", "/v1/verification/email/confirm", map[string]string{}, 400, "invalid_request"},
		{"verify unknown token", "/v1/verification/email/confirm", map[string]string{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 400, "invalid_token"},
		{"verify huge token", "/v1/verification/email/confirm", map[string]string{"token": strings.Repeat("A", 5000)}, 400, "invalid_token"},
		{"verify with a recovery token", "/v1/verification/email/confirm", map[string]string{"token": recoverTok}, 400, "invalid_token"},
		{"verify token not a string", "/v1/verification/email/confirm", `{"token": 5}`, 400, "invalid_request"},
		{"recover no token", "/v1/recovery/confirm", map[string]string{"password": "a new password"}, 400, "invalid_request"},
		{"recover no password", "/v1/recovery/confirm", map[string]string{"token": recoverTok}, 400, "invalid_request"},
		{"recover short password", "/v1/recovery/confirm", map[string]string{"token": recoverTok, "password": "short"}, 400, "invalid_request"},
		{"recover unknown token", "/v1/recovery/confirm", map[string]string{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "password": "a new password"}, 400, "invalid_token"},
		{"recovery no email", "/v1/recovery", map[string]string{}, 400, "invalid_request"},
		{"recovery not an address", "/v1/recovery", map[string]string{"email": "not an address"}, 400, "invalid_request"},
		{"recovery malformed JSON", "/v1/recovery", `{"email":`, 400, "invalid_request"},
		{"verification request unauthenticated", "/v1/verification/email", nil, 401, "unauthenticated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.NewClient().Do(t, http.MethodPost, tc.path, tc.body).WantError(t, tc.status, tc.code)
		})
	}
	// None of the refusals used the recovery token up.
	confirmRecovery(t, srv, recoverTok, "a new password").WantStatus(t, http.StatusOK)
}

// TestRecovery: the request answers 202 for known and unknown addresses
// alike (only the known one gets a mail); the confirmation sets the
// password, verifies the address and revokes every session, token grant
// and authorization code of the user; the token is single use.
func TestRecovery(t *testing.T) {
	for _, be := range lifecycleBackends {
		t.Run(be.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: be.args(t)})
			u, cookie := srv.NewSession(t)
			// A token grant with a refresh token.
			var tokens struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
				WantStatus(t, http.StatusOK).Decode(t, &tokens)
			// An authorization code, issued but not redeemed.
			r := newRP(t, srv, map[string]any{"client_name": "RP", "scope": "openid email"})
			verifier := oauth2.GenerateVerifier()
			code := r.authorize(t, newBrowser(t, srv), u, oauth2.S256ChallengeOption(verifier)).Get("code")

			known := requestRecovery(t, srv, u.Email).WantStatus(t, http.StatusAccepted)
			ghost := "ghost-" + u.Email
			unknown := requestRecovery(t, srv, ghost).WantStatus(t, http.StatusAccepted)
			if !bytes.Equal(known.Body, unknown.Body) {
				t.Errorf("answers differ: known %s, unknown %s", known.Body, unknown.Body)
			}
			m := linkMail(t, srv, u.Email, "recover")
			if n := len(srv.Mailbox(t, ghost)); n != 0 {
				t.Errorf("%d mails to an address without an account", n)
			}

			got := userOf(t, confirmRecovery(t, srv, m.Token, "a brand new password").WantStatus(t, http.StatusOK))
			if got["email_verified"] != true {
				t.Errorf("recovered user email_verified = %v, want true (the link proved the address)", got["email_verified"])
			}
			confirmRecovery(t, srv, m.Token, "yet another password").WantError(t, http.StatusBadRequest, "invalid_token")

			// Everything of the user is dead.
			cookie.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
			bearer := srv.NewClient()
			bearer.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
			bearer.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusUnauthorized)
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens.RefreshToken}}.Encode()
			srv.NewClient().Do(t, http.MethodPost, "/oauth2/token", form, "Content-Type", "application/x-www-form-urlencoded").
				WantError(t, http.StatusBadRequest, "invalid_grant")
			_, err := r.config.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
			wantOAuthError(t, err, "invalid_grant")

			// The new password works, the old one does not.
			srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).
				WantError(t, http.StatusUnauthorized, "invalid_credentials")
			srv.Login(t, u.Email, "a brand new password")
		})
	}
}

func TestRecoveryTokenLifetime(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)

	// Superseded by a newer link.
	requestRecovery(t, srv, u.Email).WantStatus(t, http.StatusAccepted)
	first := linkMail(t, srv, u.Email, "recover")
	requestRecovery(t, srv, u.Email).WantStatus(t, http.StatusAccepted)
	second := linkMail(t, srv, u.Email, "recover")
	confirmRecovery(t, srv, first.Token, "a new password 1").WantError(t, http.StatusBadRequest, "invalid_token")

	// Expired after an hour (the default), dead at the second.
	srv.Clock.Advance(time.Hour)
	confirmRecovery(t, srv, second.Token, "a new password 2").WantError(t, http.StatusBadRequest, "invalid_token")
	srv.Login(t, u.Email, u.Password) // nothing changed

	// A link is for the address it was sent to: after an address change
	// it is dead.
	_, c := srv.NewSession(t)
	me := meUser(t, c)
	requestRecovery(t, srv, me["email"].(string)).WantStatus(t, http.StatusAccepted)
	old := linkMail(t, srv, me["email"].(string), "recover")
	c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"email": apptest.RandomEmail()}).WantStatus(t, http.StatusOK)
	confirmRecovery(t, srv, old.Token, "a new password 3").WantError(t, http.StatusBadRequest, "invalid_token")
}

// TestRecoveryRateLimits: every request counts, per address and per
// client address, whether or not the address has an account, with the
// same 429 for both.
func TestRecoveryRateLimits(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--mail-limit-address", "2/1h", "--mail-limit-ip", "1000/1h"}})
	u := srv.NewUser(t)
	ghost := "ghost-" + u.Email
	var last []*apptest.Response
	for _, email := range []string{u.Email, ghost} {
		for range 2 {
			requestRecovery(t, srv, email).WantStatus(t, http.StatusAccepted)
		}
		r := requestRecovery(t, srv, email)
		r.WantError(t, http.StatusTooManyRequests, "rate_limited")
		last = append(last, r)
	}
	if !bytes.Equal(last[0].Body, last[1].Body) || last[0].Header.Get("Retry-After") != last[1].Header.Get("Retry-After") {
		t.Errorf("429s differ: %s %q vs %s %q", last[0].Body, last[0].Header.Get("Retry-After"), last[1].Body, last[1].Header.Get("Retry-After"))
	}
	retry, err := strconv.Atoi(last[0].Header.Get("Retry-After"))
	if err != nil || retry <= 0 || retry > 1800 {
		t.Fatalf("Retry-After %q: want whole seconds in (0, 1800]", last[0].Header.Get("Retry-After"))
	}
	if n := len(mailsTo(t, srv, u.Email, "recover")); n != 2 {
		t.Errorf("%d recovery mails, want 2 (the limited request sends none)", n)
	}
	// The address limit spans the lifecycle: a verification request of
	// the same address is limited too.
	c := srv.Login(t, u.Email, u.Password)
	c.Do(t, http.MethodPost, "/v1/verification/email", nil).WantError(t, http.StatusTooManyRequests, "rate_limited")
	srv.Clock.Advance(time.Duration(retry) * time.Second)
	requestRecovery(t, srv, u.Email).WantStatus(t, http.StatusAccepted)

	// Per client address.
	ip := apptest.Start(t, apptest.Options{Args: []string{"--mail-limit-address", "1000/1h", "--mail-limit-ip", "3/1h"}})
	for i := range 3 {
		requestRecovery(t, ip, "someone-"+strconv.Itoa(i)+"@example.com").WantStatus(t, http.StatusAccepted)
	}
	requestRecovery(t, ip, "someone-else@example.com").WantError(t, http.StatusTooManyRequests, "rate_limited")
}

// TestPatchMeEmail: a new address is unverified, gets a /verify link,
// and the old address a notice; the old address's link is dead; a taken
// address is 409; bad bodies are 400.
func TestPatchMeEmail(t *testing.T) {
	for _, be := range lifecycleBackends {
		t.Run(be.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: be.args(t)})
			u, c := srv.NewSession(t)
			oldLink := linkMail(t, srv, u.Email, "verify")
			confirmVerification(t, srv, oldLink.Token).WantStatus(t, http.StatusOK)

			newEmail := apptest.RandomEmail()
			got := userOf(t, c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"email": newEmail}).WantStatus(t, http.StatusOK))
			if got["email"] != newEmail || got["email_verified"] != false {
				t.Fatalf("PATCH /v1/me answered %v, want the new address unverified", got)
			}
			if me := meUser(t, c); me["email"] != newEmail || me["email_verified"] != false {
				t.Errorf("/v1/me = %v", me)
			}
			if notices := mailsTo(t, srv, u.Email, ""); len(notices) != 1 || !strings.Contains(notices[0].Text, newEmail) {
				t.Errorf("notices to the old address: %+v, want one naming the new address", notices)
			}
			link := linkMail(t, srv, newEmail, "verify")
			if v := userOf(t, confirmVerification(t, srv, link.Token).WantStatus(t, http.StatusOK)); v["email_verified"] != true || v["email"] != newEmail {
				t.Errorf("confirm = %v", v)
			}
			// The new address logs in.
			srv.Login(t, newEmail, u.Password)

			other := srv.NewUser(t)
			for _, tc := range []struct {
				name   string
				body   any
				status int
				code   string
			}{
				{"taken", map[string]string{"email": other.Email}, 409, "conflict"},
				{"not an address", map[string]string{"email": "nope"}, 400, "invalid_request"},
				{"empty", map[string]string{"email": ""}, 400, "invalid_request"},
				{"both forms", map[string]string{"email": apptest.RandomEmail(), "password": "a new password", "current_password": u.Password}, 400, "invalid_request"},
				{"neither", map[string]string{}, 400, "invalid_request"},
				{"not a string", `{"email": 1}`, 400, "invalid_request"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					c.Do(t, http.MethodPatch, "/v1/me", tc.body).WantError(t, tc.status, tc.code)
					if me := meUser(t, c); me["email"] != newEmail {
						t.Errorf("a refused change changed the address to %v", me["email"])
					}
				})
			}
			// CSRF and authentication as for every unsafe method.
			c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"email": apptest.RandomEmail()}, "X-CSRF-Token", "").WantError(t, http.StatusForbidden, "csrf_failed")
			srv.NewClient().Do(t, http.MethodPatch, "/v1/me", map[string]string{"email": apptest.RandomEmail()}).WantError(t, http.StatusUnauthorized, "unauthenticated")
		})
	}
}

// TestPatchMePassword: the current password is required (a wrong one is
// 401 invalid_credentials, limited as logins are); a change keeps the
// calling session, revokes the others and the token grants, and mails a
// notice.
func TestPatchMePassword(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--login-limit-account", "3/15m"}})
	u, c := srv.NewSession(t)
	other := srv.Login(t, u.Email, u.Password)
	var tokens struct {
		RefreshToken string `json:"refresh_token"`
	}
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(t, http.StatusOK).Decode(t, &tokens)

	c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"password": "a new password"}).WantError(t, http.StatusBadRequest, "invalid_request")
	c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"password": "short", "current_password": u.Password}).WantError(t, http.StatusBadRequest, "invalid_request")
	c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"password": "a new password", "current_password": "wrong password"}).
		WantError(t, http.StatusUnauthorized, "invalid_credentials")
	meUser(t, other) // a refused change revokes nothing

	got := userOf(t, c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"password": "a new password", "current_password": u.Password}).WantStatus(t, http.StatusOK))
	if got["id"] != c.UserID {
		t.Errorf("answer %v", got)
	}
	meUser(t, c) // the caller's session stays
	other.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens.RefreshToken}}.Encode()
	srv.NewClient().Do(t, http.MethodPost, "/oauth2/token", form, "Content-Type", "application/x-www-form-urlencoded").
		WantError(t, http.StatusBadRequest, "invalid_grant")
	if notices := mailsTo(t, srv, u.Email, ""); len(notices) != 1 || !strings.Contains(strings.ToLower(notices[0].Subject), "password") {
		t.Errorf("notices to %s: %+v, want one about the password", u.Email, notices)
	}
	srv.Login(t, u.Email, "a new password")
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).
		WantError(t, http.StatusUnauthorized, "invalid_credentials")

	// Wrong current passwords count toward the account's login limit.
	for range 2 {
		c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"password": "another password", "current_password": "wrong"}).
			WantError(t, http.StatusUnauthorized, "invalid_credentials")
	}
	c.Do(t, http.MethodPatch, "/v1/me", map[string]string{"password": "another password", "current_password": "wrong"}).
		WantError(t, http.StatusTooManyRequests, "rate_limited")
}

// TestRequireVerifiedEmail: with --require-verified-email a wrong
// password is still 401, and only a right one learns 403
// email_not_verified; once verified (by link or by an administrator),
// the login works.
func TestRequireVerifiedEmail(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Args: []string{"--require-verified-email"}})
	u := srv.NewUser(t)
	login := func(pw string) *apptest.Response {
		return srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": pw})
	}
	login("wrong password").WantError(t, http.StatusUnauthorized, "invalid_credentials")
	login(u.Password).WantError(t, http.StatusForbidden, "email_not_verified")
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantError(t, http.StatusForbidden, "email_not_verified")
	confirmVerification(t, srv, linkMail(t, srv, u.Email, "verify").Token).WantStatus(t, http.StatusOK)
	srv.Login(t, u.Email, u.Password)

	// An administrator vouches for another address.
	v := srv.NewUser(t)
	got := srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+v.ID, map[string]any{"email_verified": true}).WantStatus(t, http.StatusOK).JSON(t)
	if got["email_verified"] != true {
		t.Errorf("admin PATCH answered %v", got)
	}
	srv.Login(t, v.Email, v.Password)
	srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+v.ID, map[string]any{"email_verified": "yes"}).WantError(t, http.StatusBadRequest, "invalid_request")
}
