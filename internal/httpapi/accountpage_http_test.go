package httpapi_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/passkey/passkeytest"
)

// Browsers' User-Agent headers, as the account page's devices.
const (
	uaAndroidChrome = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	uaMacSafari     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
)

// accountBrowser signs u in through the login page with return_to=/account
// and returns the browser and the account page it lands on.
func accountBrowser(t *testing.T, srv *apptest.Server, u apptest.User) (*browser, page) {
	t.Helper()
	b := newBrowser(t, srv)
	p := b.login(b.get(srv.URL+"/login?return_to=%2Faccount"), u)
	if p.status != http.StatusOK || p.url.Path != "/account" || !strings.Contains(p.body, html.EscapeString(u.Email)) {
		t.Fatalf("after signing in with return_to=/account: %s %d\n%s", p.url, p.status, p.body)
	}
	return b, p
}

// accountForm returns the fields of the account page's form posting to
// action: its hidden inputs.
func accountForm(t *testing.T, p page, action string) url.Values {
	t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(p.body, -1) {
		if html.UnescapeString(m[1]) != action {
			continue
		}
		return hiddenFields(m[2])
	}
	t.Fatalf("no form posting to %s on %s (status %d):\n%s", action, p.url, p.status, p.body)
	return nil
}

// post sends a form to the server as the browser, with Origin set to
// origin ("" for none).
func (b *browser) post(path string, v url.Values, origin string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(v.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return b.do(req)
}

// submitAccount fills the account page's form posting to action with
// fields and sends it from the server's origin.
func (b *browser) submitAccount(p page, action string, fields map[string]string) page {
	b.t.Helper()
	v := accountForm(b.t, p, action)
	for k, val := range fields {
		v.Set(k, val)
	}
	return b.post(action, v, b.srv.URL)
}

// wantDone checks that a form answered 303 back to /account with the
// given message.
func wantDone(t *testing.T, p page, code, text string) {
	t.Helper()
	if p.status != http.StatusOK || p.url.Path != "/account" || p.url.Query().Get("done") != code || !strings.Contains(p.body, text) {
		t.Fatalf("want the account page with %q after the form, got %s %d\n%s", code, p.url, p.status, p.body)
	}
}

// wantAlive checks whether c's session still authenticates.
func wantAlive(t *testing.T, c *apptest.Client, alive bool, what string) {
	t.Helper()
	st := c.Do(t, http.MethodGet, "/v1/me", nil).Status
	if alive && st != http.StatusOK || !alive && st != http.StatusUnauthorized {
		t.Errorf("%s: GET /v1/me answered %d, want alive=%v", what, st, alive)
	}
}

// deviceSession signs u in through the API as a device with that
// User-Agent.
func deviceSession(t *testing.T, srv *apptest.Server, u apptest.User, ua string) *apptest.Client {
	t.Helper()
	c := srv.NewClient()
	c.Header.Set("User-Agent", ua)
	c.Login(t, u.Email, u.Password)
	return c
}

// TestAccountPageSignedOut checks that without a live session the page
// and every form send the browser to sign in, and change nothing.
func TestAccountPageSignedOut(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	other := deviceSession(t, srv, u, uaAndroidChrome)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ method, path, cookie string }{
		{http.MethodGet, "/account", ""},
		{http.MethodGet, "/account", "not-a-session"},
		{http.MethodPost, "/account/sessions/" + other.SessionID + "/revoke", ""},
		{http.MethodPost, "/account/sessions/revoke-others", "not-a-session"},
		{http.MethodPost, "/account/password", ""},
		{http.MethodPost, "/account/email", ""},
		{http.MethodPost, "/account/verification", ""},
		{http.MethodPost, "/account/consents/some-client/revoke", ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("csrf_token=x&email=new%40example.com"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.cookie != "" {
			req.AddCookie(&http.Cookie{Name: srv.CookieName(), Value: tc.cookie})
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?return_to=%2Faccount" {
			t.Errorf("%s %s (cookie %q): %d to %q, want 303 to the login page", tc.method, tc.path, tc.cookie, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	wantAlive(t, other, true, "the session after forms without a session")
}

// TestAccountPageShowsAccount checks what the page lists: the address and
// its state, every session and grant with its device, IP and times, this
// device marked once, and the second factors.
func TestAccountPageShowsAccount(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	phone := deviceSession(t, srv, u, uaAndroidChrome)
	tokenLogin(t, srv, u)
	_, p := accountBrowser(t, srv, u)
	for _, want := range []string{
		`id="email-state">not confirmed`, `action="/account/verification"`,
		"Chrome on Android", `id="session-` + phone.SessionID + `"`, "App sign-in (tokens)",
		"127.0.0.1", "this device", `action="/account/sessions/revoke-others"`,
		"No app has access", `id="totp-state">off`, "there is no map of addresses to places",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the account page lacks %q", want)
		}
	}
	if n := strings.Count(p.body, "this device</span>"); n != 1 {
		t.Errorf("%d sessions are marked as this device, want 1", n)
	}
	if n := strings.Count(p.body, `<li class="card`); n != 3 {
		t.Errorf("%d sessions listed, want 3 (this browser, the phone, the token grant)", n)
	}
	if strings.Contains(p.body, phone.Cookie) {
		t.Error("the page shows a session's cookie secret")
	}
}

// TestAccountRevokeSession revokes another device's session from the
// page; checks that forms without the CSRF token, from another origin, or
// naming another user's session change nothing; and that signing out
// here ends this browser's session.
func TestAccountRevokeSession(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	phone := deviceSession(t, srv, u, uaAndroidChrome)
	stranger := srv.NewUser(t)
	theirs := deviceSession(t, srv, stranger, uaMacSafari)
	b, p := accountBrowser(t, srv, u)
	action := "/account/sessions/" + phone.SessionID + "/revoke"
	good := accountForm(t, p, action)

	for _, tc := range []struct {
		name   string
		csrf   string
		origin string
	}{
		{"no CSRF token", "", srv.URL},
		{"a wrong CSRF token", "AAAA" + good.Get("csrf_token")[4:], srv.URL},
		{"another origin", good.Get("csrf_token"), "https://evil.example"},
		{"Origin null", good.Get("csrf_token"), "null"},
	} {
		got := b.post(action, url.Values{"csrf_token": {tc.csrf}}, tc.origin)
		if got.status != http.StatusForbidden || !strings.Contains(got.body, "This form expired") {
			t.Errorf("%s: %d, want 403 with the error on the page\n%s", tc.name, got.status, got.body)
		}
	}
	wantAlive(t, phone, true, "the phone after refused forms")

	// Another user's session id: the same answer as an ended one, and it
	// lives on.
	got := b.post("/account/sessions/"+theirs.SessionID+"/revoke", good, srv.URL)
	if got.status != http.StatusNotFound || !strings.Contains(got.body, "ended already") {
		t.Errorf("another user's session: %d\n%s", got.status, got.body)
	}
	wantAlive(t, theirs, true, "another user's session after the form named it")

	done := b.submitAccount(p, action, nil)
	wantDone(t, done, "session_revoked", "That session is signed out.")
	wantAlive(t, phone, false, "the phone after it was revoked on the page")
	if strings.Contains(done.body, `id="session-`+phone.SessionID+`"`) {
		t.Error("the revoked session is still listed")
	}
	again := b.submitAccount(p, action, nil)
	if again.status != http.StatusNotFound {
		t.Errorf("revoking it again: %d, want 404", again.status)
	}

	// This browser's own session: signed out, and the page then asks to
	// sign in.
	var self string
	for _, m := range formRE.FindAllStringSubmatch(done.body, -1) {
		if strings.HasPrefix(m[1], "/account/sessions/") && strings.HasSuffix(m[1], "/revoke") && strings.Contains(m[2], "Sign out here") {
			self = m[1]
		}
	}
	if self == "" {
		t.Fatalf("no sign-out form for this device:\n%s", done.body)
	}
	out := b.submitAccount(done, self, nil)
	if out.status != http.StatusOK || !strings.Contains(out.body, "This device is signed out") {
		t.Fatalf("signing out here: %d\n%s", out.status, out.body)
	}
	if after := b.get(srv.URL + "/account"); after.url.Path != "/login" {
		t.Errorf("the account page after signing out here: %s, want the login page", after.url)
	}
}

// TestAccountRevokeOthers signs out everywhere else: the other sessions
// and grants end, this browser stays.
func TestAccountRevokeOthers(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	phone := deviceSession(t, srv, u, uaAndroidChrome)
	laptop := deviceSession(t, srv, u, uaMacSafari)
	tok := tokenLogin(t, srv, u)
	b, p := accountBrowser(t, srv, u)
	if got := b.post("/account/sessions/revoke-others", url.Values{}, srv.URL); got.status != http.StatusForbidden {
		t.Errorf("without a CSRF token: %d, want 403", got.status)
	}
	wantAlive(t, phone, true, "the phone after a refused form")
	done := b.submitAccount(p, "/account/sessions/revoke-others", nil)
	wantDone(t, done, "others_revoked", "This device stays signed in.")
	wantAlive(t, phone, false, "the phone")
	wantAlive(t, laptop, false, "the laptop")
	if st := refresh(t, srv, tok.RefreshToken).Status; st != http.StatusBadRequest {
		t.Errorf("the token grant's refresh after signing out elsewhere: %d, want 400", st)
	}
	if n := strings.Count(done.body, `<li class="card`); n != 1 || !strings.Contains(done.body, "signed in on this device only") {
		t.Errorf("after signing out elsewhere the page lists %d sessions:\n%s", n, done.body)
	}
}

// TestAccountRevokeConsent removes a connected app: its consent and its
// grants end.
func TestAccountRevokeConsent(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	r := newRP(t, srv, map[string]any{"client_name": "Photo Printer", "scope": "openid email offline_access"})
	b := newBrowser(t, srv)
	verifier := oauth2.GenerateVerifier()
	q := r.authorize(t, b, u, oauth2.S256ChallengeOption(verifier))
	tok, err := r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	p := b.get(srv.URL + "/account")
	for _, want := range []string{"Photo Printer", "Access for Photo Printer", `action="/account/consents/` + r.client.ClientID + `/revoke"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the account page lacks %q:\n%s", want, p.body)
		}
	}
	action := "/account/consents/" + r.client.ClientID + "/revoke"
	if got := b.post(action, url.Values{"csrf_token": {accountForm(t, p, action).Get("csrf_token")}}, "https://evil.example"); got.status != http.StatusForbidden {
		t.Errorf("from another origin: %d, want 403", got.status)
	}
	done := b.submitAccount(p, action, nil)
	wantDone(t, done, "consent_revoked", "access is withdrawn")
	if strings.Contains(done.body, `id="app-`+r.client.ClientID+`"`) || strings.Contains(done.body, "Access for Photo Printer") {
		t.Error("the app or its grant is still listed")
	}
	if _, err := r.config.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the app's refresh token works after its access was removed")
	}
	if got := b.submitAccount(p, action, nil); got.status != http.StatusNotFound {
		t.Errorf("removing it again: %d, want 404", got.status)
	}
}

// TestAccountChangePassword checks the password form: a wrong current
// password, two different new ones, a short one, then a change that ends
// the other sessions and keeps this one.
func TestAccountChangePassword(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	phone := deviceSession(t, srv, u, uaAndroidChrome)
	b, p := accountBrowser(t, srv, u)
	const next = "a new and long passphrase"
	for _, tc := range []struct {
		name       string
		cur, a, b  string
		status     int
		wantOnPage string
	}{
		{"wrong current password", "not the password", next, next, http.StatusUnauthorized, "current password is not right"},
		{"different new passwords", u.Password, next, next + "!", http.StatusBadRequest, "differ"},
		{"short new password", u.Password, "short", "short", http.StatusBadRequest, "Choose another password"},
	} {
		got := b.submitAccount(p, "/account/password", map[string]string{"current_password": tc.cur, "password": tc.a, "password_again": tc.b})
		if got.status != tc.status || !strings.Contains(got.body, tc.wantOnPage) || !strings.Contains(got.body, `<details open>
<summary>Change your password`) {
			t.Errorf("%s: %d, want %d with %q and the form open\n%s", tc.name, got.status, tc.status, tc.wantOnPage, got.body)
		}
		if strings.Contains(got.body, tc.cur) || strings.Contains(got.body, tc.a) {
			t.Errorf("%s: the page shows a typed password", tc.name)
		}
	}
	wantAlive(t, phone, true, "the phone after refused changes")
	done := b.submitAccount(p, "/account/password", map[string]string{"current_password": u.Password, "password": next, "password_again": next})
	wantDone(t, done, "password_changed", "Your password is changed.")
	wantAlive(t, phone, false, "the phone after the password change")
	if got := b.get(srv.URL + "/account"); got.url.Path != "/account" {
		t.Errorf("this browser after its own password change: %s", got.url)
	}
	srv.Login(t, u.Email, next)
}

// TestAccountChangeEmail checks the email form: a taken address keeps the
// typed one; a new one is unverified and mailed a link.
func TestAccountChangeEmail(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	taken := srv.NewUser(t)
	b, p := accountBrowser(t, srv, u)
	got := b.submitAccount(p, "/account/email", map[string]string{"email": taken.Email})
	if got.status != http.StatusConflict || !strings.Contains(got.body, "Another account uses that address") || !strings.Contains(got.body, `value="`+taken.Email+`"`) {
		t.Errorf("a taken address: %d\n%s", got.status, got.body)
	}
	if got := b.submitAccount(p, "/account/email", map[string]string{"email": "not an address"}); got.status != http.StatusBadRequest {
		t.Errorf("a malformed address: %d, want 400", got.status)
	}
	fresh := apptest.RandomEmail()
	done := b.submitAccount(p, "/account/email", map[string]string{"email": fresh})
	wantDone(t, done, "email_changed", "Open the link we sent")
	if !strings.Contains(done.body, fresh) || !strings.Contains(done.body, `id="email-state">not confirmed`) {
		t.Errorf("the page after the change does not show the new, unconfirmed address:\n%s", done.body)
	}
	linkMail(t, srv, fresh, "verify")
}

// TestAccountResendVerification sends a new verification link from the
// page.
func TestAccountResendVerification(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	b, p := accountBrowser(t, srv, u)
	before := len(mailsTo(t, srv, u.Email, "verify"))
	if got := b.post("/account/verification", url.Values{"csrf_token": {accountForm(t, p, "/account/verification").Get("csrf_token")}}, "null"); got.status != http.StatusForbidden {
		t.Errorf("Origin null: %d, want 403", got.status)
	}
	done := b.submitAccount(p, "/account/verification", nil)
	wantDone(t, done, "verification_sent", "We sent a new verification link")
	if after := len(mailsTo(t, srv, u.Email, "verify")); after != before+1 {
		t.Errorf("%d verification mails after the button, want %d", after, before+1)
	}
}

// TestAccountPageEvents checks the recent activity: the user's own
// events in words, with device and address, and no other user's.
func TestAccountPageEvents(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	stranger := srv.NewUser(t)
	bad := srv.NewClient()
	bad.Header.Set("User-Agent", uaMacSafari)
	bad.Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": "not the password"}).WantStatus(t, http.StatusUnauthorized)
	phone := deviceSession(t, srv, u, uaAndroidChrome)
	deviceSession(t, srv, stranger, uaMacSafari)
	b, p := accountBrowser(t, srv, u)
	done := b.submitAccount(p, "/account/sessions/"+phone.SessionID+"/revoke", nil)
	wantDone(t, done, "session_revoked", "That session is signed out.")
	_, events, ok := strings.Cut(done.body, `<section id="events"`)
	if !ok {
		t.Fatalf("no recent activity on the page:\n%s", done.body)
	}
	for _, want := range []string{"Sign-in refused (wrong password)", "Safari on macOS", "Signed in", "Chrome on Android", "Session ended (signed out by you)", "127.0.0.1"} {
		if !strings.Contains(events, want) {
			t.Errorf("the recent activity lacks %q:\n%s", want, events)
		}
	}
	if strings.Count(events, "<li>") < 4 {
		t.Errorf("want at least 4 events (refused, phone, this browser, ended):\n%s", events)
	}
	// Two sign-ins are the user's (the phone, this browser); the
	// stranger's is not shown.
	if n := strings.Count(events, "<strong>Signed in</strong>"); n != 2 {
		t.Errorf("%d sign-ins in the recent activity, want 2 (not another user's):\n%s", n, events)
	}
}

// TestAccountTOTP checks the second factors section: the enrolment link
// without TOTP; with it, the state, the recovery codes left, and the
// removal form (a wrong code refused, a recovery code accepted).
func TestAccountTOTP(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	b, p := accountBrowser(t, srv, u)
	if !strings.Contains(p.body, `href="/mfa/totp?return_to=%2Faccount"`) {
		t.Errorf("no link to set up an authenticator app:\n%s", p.body)
	}
	_, codes := enrolTOTP(t, srv, srv.Login(t, u.Email, u.Password))
	p = b.get(srv.URL + "/account")
	if !strings.Contains(p.body, `id="totp-state">on`) || !strings.Contains(p.body, "10 unused recovery codes") {
		t.Fatalf("after enrolment the page does not show TOTP on:\n%s", p.body)
	}
	if got := b.submitAccount(p, "/account/totp/remove", map[string]string{"code": "000000"}); got.status != http.StatusBadRequest || !strings.Contains(got.body, "code is not right") {
		t.Errorf("a wrong code: %d\n%s", got.status, got.body)
	}
	if got := b.post("/account/totp/remove", url.Values{"csrf_token": {accountForm(t, p, "/account/totp/remove").Get("csrf_token")}, "code": {codes[0]}}, "https://evil.example"); got.status != http.StatusForbidden {
		t.Errorf("from another origin: %d, want 403", got.status)
	}
	done := b.submitAccount(p, "/account/totp/remove", map[string]string{"code": codes[1]})
	wantDone(t, done, "totp_removed", "authenticator app is removed")
	if !strings.Contains(done.body, `id="totp-state">off`) {
		t.Errorf("after removal the page does not show TOTP off:\n%s", done.body)
	}
}

// TestAccountNeedsRecentLogin checks that a form whose action needs a
// recent login, from a session older than the step-up window, changes
// nothing and sends the browser to /reauth, which comes back to
// /account.
func TestAccountNeedsRecentLogin(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	b, _ := accountBrowser(t, srv, u)
	srv.Clock.Advance(15 * time.Minute) // past the 10-minute window, within the idle timeout
	p := b.get(srv.URL + "/account")
	for _, tc := range []struct {
		action string
		fields map[string]string
	}{
		{"/account/email", map[string]string{"email": apptest.RandomEmail()}},
		{"/account/password", map[string]string{"current_password": u.Password, "password": "a new and long passphrase", "password_again": "a new and long passphrase"}},
		{"/account/delete", map[string]string{"confirm": "yes"}},
	} {
		got := b.submitAccount(p, tc.action, tc.fields)
		if got.url.Path != "/reauth" || got.url.Query().Get("return_to") != "/account" {
			t.Errorf("%s from an old session: ended at %s (%d), want /reauth?return_to=/account", tc.action, got.url, got.status)
		}
	}
	if me := meUser(t, srv.Login(t, u.Email, u.Password)); me["email"] != u.Email {
		t.Errorf("after the refused forms the account is %v", me)
	}
}

// TestAccountDelete deletes the account from the page: not without the
// confirmation box; then every session ends and the password is dead.
func TestAccountDelete(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	phone := deviceSession(t, srv, u, uaAndroidChrome)
	b, p := accountBrowser(t, srv, u)
	if got := b.submitAccount(p, "/account/delete", nil); got.status != http.StatusBadRequest || !strings.Contains(got.body, "Tick the box") {
		t.Errorf("without the confirmation: %d\n%s", got.status, got.body)
	}
	if got := b.post("/account/delete", url.Values{"csrf_token": {accountForm(t, p, "/account/delete").Get("csrf_token")}, "confirm": {"yes"}}, "null"); got.status != http.StatusForbidden {
		t.Errorf("Origin null: %d, want 403", got.status)
	}
	wantAlive(t, phone, true, "the phone after refused deletions")
	done := b.submitAccount(p, "/account/delete", map[string]string{"confirm": "yes"})
	if done.status != http.StatusOK || !strings.Contains(done.body, "Account deleted") {
		t.Fatalf("after the deletion: %d\n%s", done.status, done.body)
	}
	wantAlive(t, phone, false, "the phone after the deletion")
	if got := b.get(srv.URL + "/account"); got.url.Path != "/login" {
		t.Errorf("the account page after the deletion: %s, want the login page", got.url)
	}
	srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).WantStatus(t, http.StatusUnauthorized)
}

// TestAccountPasskeys checks the passkeys of the second factors section:
// on a server with passkeys, none and then a registered one by its name,
// with a link to the passkeys page; on a server without (an IP-address
// issuer, as in the other tests) no passkey section.
func TestAccountPasskeys(t *testing.T) {
	srv, _ := startPasskeyServer(t, nil)
	u := srv.NewUser(t)
	c := srv.Login(t, u.Email, u.Password)
	// The issuer is http://localhost:8080, which this test's requests do
	// not come from: the browser carries the API login's cookie and only
	// reads the page.
	b := newBrowser(t, srv)
	b.useSession(srv.URL, c.Cookie)
	p := b.get(srv.URL + "/account")
	if p.status != http.StatusOK || !strings.Contains(p.body, "No passkey yet") || !strings.Contains(p.body, `href="/account/passkeys"`) ||
		!strings.Contains(p.body, "A second factor keeps your account safe") || strings.Contains(p.body, `id="passkey-factor"`) {
		t.Fatalf("the page without passkeys: %d\n%s", p.status, p.body)
	}
	registerPasskey(t, c, passkeytest.New(t), "Work laptop")
	p = b.get(srv.URL + "/account")
	if !strings.Contains(p.body, "<strong>Work laptop</strong>") || !strings.Contains(p.body, "Manage passkeys") {
		t.Errorf("the page after a registration does not list the passkey:\n%s", p.body)
	}
	// The summary counts the passkey as the second factor it is: no
	// warning that the account lacks one.
	if !strings.Contains(p.body, `id="passkey-factor"`) || strings.Contains(p.body, "A second factor keeps your account safe") {
		t.Errorf("the second factors summary of an account with a passkey:\n%s", p.body)
	}

	plain := apptest.Start(t, apptest.Options{})
	_, p = accountBrowser(t, plain, plain.NewUser(t))
	if strings.Contains(p.body, `id="passkeys"`) {
		t.Error("a server without passkeys shows a passkey section")
	}
}

// TestAccountFormsRefuseCSRF sends every form of the page with no CSRF
// token, a token of another browser, from another origin and with
// Origin: null, each with otherwise valid fields: all are refused (403,
// the page with the error) and nothing changes.
func TestAccountFormsRefuseCSRF(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	phone := deviceSession(t, srv, u, uaAndroidChrome)
	b, p := accountBrowser(t, srv, u)
	_, otherPage := accountBrowser(t, srv, srv.NewUser(t))
	foreign := accountForm(t, otherPage, "/account/delete").Get("csrf_token")
	good := accountForm(t, p, "/account/sessions/revoke-others").Get("csrf_token")
	const next = "a new and long passphrase"
	forms := map[string]url.Values{
		"/account/verification": {},
		"/account/email":        {"email": {apptest.RandomEmail()}},
		"/account/password":     {"current_password": {u.Password}, "password": {next}, "password_again": {next}},
		"/account/sessions/" + phone.SessionID + "/revoke": {},
		"/account/sessions/revoke-others":                  {},
		"/account/consents/some-client/revoke":             {},
		"/account/totp/remove":                             {"code": {"123456"}},
		"/account/delete":                                  {"confirm": {"yes"}},
	}
	before := len(mailsTo(t, srv, u.Email, "verify"))
	for action, fields := range forms {
		for _, tc := range []struct{ name, token, origin string }{
			{"no token", "", srv.URL},
			{"another browser's token", foreign, srv.URL},
			{"another origin", good, "https://evil.example"},
			{"Origin null", good, "null"},
		} {
			v := url.Values{}
			for k, vs := range fields {
				v[k] = vs
			}
			if tc.token != "" {
				v.Set("csrf_token", tc.token)
			}
			got := b.post(action, v, tc.origin)
			if got.status != http.StatusForbidden || !strings.Contains(got.body, "This form expired") {
				t.Errorf("%s, %s: %d, want 403 with the error\n%.300s", action, tc.name, got.status, got.body)
			}
		}
	}
	wantAlive(t, phone, true, "the phone after refused forms")
	if me := meUser(t, srv.Login(t, u.Email, u.Password)); me["email"] != u.Email {
		t.Errorf("after refused forms the account is %v", me)
	}
	if after := len(mailsTo(t, srv, u.Email, "verify")); after != before {
		t.Errorf("refused forms sent %d verification mails", after-before)
	}
}

// TestAccountPageEventsHideOthersSources checks that an administrator's
// action on the account shows on the page without the administrator's
// address or user agent.
func TestAccountPageEventsHideOthersSources(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	phone := deviceSession(t, srv, u, uaAndroidChrome)
	admin := srv.Admin()
	admin.Header.Set("User-Agent", uaMacSafari)
	admin.Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID+"/sessions", nil).WantStatus(t, http.StatusNoContent)
	wantAlive(t, phone, false, "the phone after the administrator's revocation")
	_, p := accountBrowser(t, srv, u)
	_, events, _ := strings.Cut(p.body, `<section id="events"`)
	if !strings.Contains(events, "by an administrator") {
		t.Fatalf("the administrator's revocation is not in the recent activity:\n%s", events)
	}
	if strings.Contains(events, "Safari on macOS") {
		t.Errorf("the recent activity shows the administrator's browser:\n%s", events)
	}
}

// TestPasskeysPageReturnTo: the enrolment page's "add a passkey instead"
// keeps the return_to it was given, the passkeys page hands a local one
// to its script (and drops any other), and without a session it keeps
// it through the login.
func TestPasskeysPageReturnTo(t *testing.T) {
	srv, _ := startPasskeyServer(t, nil)
	u := srv.NewUser(t)
	c := srv.Login(t, u.Email, u.Password)
	b := newBrowser(t, srv)
	b.useSession(srv.URL, c.Cookie)

	back := "/oauth2/authorize?client_id=abc"
	p := b.get(srv.URL + "/mfa/totp?" + url.Values{"return_to": {back}}.Encode())
	if p.status != http.StatusOK || !strings.Contains(p.body, `href="/account/passkeys?return_to=%2foauth2%2fauthorize%3fclient_id%3dabc"`) {
		t.Fatalf("the enrolment page's passkey link lost return_to: %d\n%s", p.status, p.body)
	}
	p = b.get(srv.URL + "/account/passkeys?" + url.Values{"return_to": {back}}.Encode())
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-return-to="/oauth2/authorize?client_id=abc"`) {
		t.Fatalf("the passkeys page does not hand return_to to its script: %d\n%s", p.status, p.body)
	}
	for _, foreign := range []string{"https://evil.example/", "//evil.example/", "javascript:alert(1)"} {
		p = b.get(srv.URL + "/account/passkeys?" + url.Values{"return_to": {foreign}}.Encode())
		if p.status != http.StatusOK || strings.Contains(p.body, "data-return-to") {
			t.Errorf("return_to %q reached the page: %d", foreign, p.status)
		}
	}

	// Without a session: to /login, and back to this page with return_to.
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := anon.Get(srv.URL + "/account/passkeys?" + url.Values{"return_to": {back}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	want := "/login?return_to=" + url.QueryEscape("/account/passkeys?"+url.Values{"return_to": {back}}.Encode())
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Errorf("without a session: %d to %q, want 303 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
}
