package browser

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestBrowserAccountLifecycle drives the pages of the mailed links with
// Chromium, at a desktop and a mobile viewport, reading the mails from
// the server's dev mailbox (<data-dir>/mail, no --smtp-url):
//
//   - email verification: signup mails a link to /verify; opening it
//     shows a button (a GET confirms nothing), the secret leaves the
//     address bar, pressing the button confirms, /v1/me then says
//     email_verified, and the used link answers "no longer works";
//   - recovery: "Forgot password?" on /login, the address form, the
//     mailed link to /recover, the new-password form; afterwards the
//     session another browser had is refused, the old password is
//     wrong and the new one signs in.
func TestBrowserAccountLifecycle(t *testing.T) {
	chromium(t) // skip before building anything
	g := startGatehouse(t)

	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			email, password := "lifecycle-"+vp.name+"@example.com", "correct horse battery "+vp.name
			g.signup(t, email, password)

			// The first browser signs in; its email is not verified yet.
			old := newTab(t, vp)
			old.signIn(g, email, password)
			if me := old.me(g); me.Status != http.StatusOK || me.User.EmailVerified {
				t.Fatalf("after signup /v1/me: %+v, want 200 and email_verified false", me)
			}

			// Signup mailed a link to /verify. Opening it confirms nothing
			// yet, and leaves no secret in the address bar.
			link := g.mailLink(t, email, "/verify")
			old.navigate(link)
			old.waitFor(g.URL, "/verify", "#confirm")
			if got := old.href(); strings.Contains(got, "token") {
				t.Errorf("the verification page keeps the secret in its URL: %s", got)
			}
			if me := old.me(g); me.User.EmailVerified {
				t.Fatal("opening the verification link verified the email without the button")
			}
			old.navigate(g.URL + "/verify")
			old.waitFor(g.URL, "/verify", "#confirm")
			old.page("verify")
			old.click("#confirm")
			old.waitFor(g.URL, "/verify", "#message")
			old.notExpired("the verification form")
			if st, got := old.status(), old.text("main"); st != http.StatusOK || !strings.Contains(got, email+" is confirmed") {
				t.Fatalf("after the confirmation: %d %q", st, got)
			}
			old.page("verify-done")
			if me := old.me(g); me.Status != http.StatusOK || !me.User.EmailVerified {
				t.Fatalf("after the confirmation /v1/me: %+v, want email_verified true", me)
			}

			// The link works once.
			old.navigate(link)
			old.waitFor(g.URL, "/verify", "#confirm")
			old.click("#confirm")
			old.waitFor(g.URL, "/verify", "#message")
			if st, got := old.status(), old.text("main"); st != http.StatusBadRequest || !strings.Contains(got, "no longer works") {
				t.Errorf("a used verification link: %d %q", st, got)
			}
			old.page("link-used")

			// A second browser has forgotten the password.
			b := newTab(t, vp)
			b.navigate(g.URL + "/login")
			b.waitFor(g.URL, "/login", "#forgot")
			b.click("#forgot")
			b.waitFor(g.URL, "/recover", "#email")
			b.page("recover")
			b.typeInto("#email", email)
			b.click(`button[type=submit]`)
			b.waitFor(g.URL, "/recover", "#message")
			b.notExpired("the recovery form")
			if st, got := b.status(), b.text("main"); st != http.StatusOK || !strings.Contains(got, "Check your mail") {
				t.Fatalf("after asking for a recovery link: %d %q", st, got)
			}
			b.page("recover-sent")

			newPassword := "a brand new passphrase " + vp.name
			b.navigate(g.mailLink(t, email, "/recover"))
			b.waitFor(g.URL, "/recover", "#password_again")
			if got := b.href(); strings.Contains(got, "token") {
				t.Errorf("the recovery page keeps the secret in its URL: %s", got)
			}
			b.page("reset")
			b.typeInto("#password", newPassword)
			b.typeInto("#password_again", newPassword+" typo")
			b.click(`button[type=submit]`)
			b.waitFor(g.URL, "/recover", "#page-error")
			b.notExpired("the new-password form")
			if got := b.text("#page-error"); !strings.Contains(got, "differ") {
				t.Errorf("two different passwords: %q", got)
			}
			b.typeInto("#password", newPassword)
			b.typeInto("#password_again", newPassword)
			b.click(`button[type=submit]`)
			b.waitFor(g.URL, "/recover", "#next")
			b.notExpired("the new-password form")
			if st, got := b.status(), b.text("main"); st != http.StatusOK || !strings.Contains(got, "Password changed") {
				t.Fatalf("after the new password: %d %q", st, got)
			}
			b.page("reset-done")

			// The first browser's session ended with the recovery.
			if me := old.me(g); me.Status != http.StatusUnauthorized {
				t.Errorf("the old session after recovery: /v1/me %+v, want 401", me)
			}
			// The old password is wrong now; the new one signs in.
			b.click("#next")
			b.waitFor(g.URL, "/login", "#email")
			b.typeInto("#email", email)
			b.typeInto("#password", password)
			b.click(`button[type=submit]`)
			b.waitFor(g.URL, "/login", "#login-error")
			b.signIn(g, email, newPassword)
			if me := b.me(g); me.Status != http.StatusOK || me.User.Email != email || !me.User.EmailVerified {
				t.Errorf("signed in with the new password, /v1/me: %+v", me)
			}
		})
	}
}

// signIn signs in on the login page, without return_to.
func (b *tab) signIn(g *gatehouse, email, password string) {
	b.t.Helper()
	b.navigate(g.URL + "/login")
	b.waitFor(g.URL, "/login", "#email")
	b.typeInto("#email", email)
	b.typeInto("#password", password)
	b.click(`button[type=submit]`)
	b.waitFor(g.URL, "/login", "#message")
	b.notExpired("the login form")
	if got := b.text("main"); !strings.Contains(got, "You are signed in") {
		b.t.Fatalf("%s: sign-in as %s: %q", b.vp.name, email, got)
	}
}

// meAnswer is what GET /v1/me showed the browser.
type meAnswer struct {
	Status int
	User   struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	} `json:"user"`
}

// me opens /v1/me in the browser, with its cookies, and returns the
// answer.
func (b *tab) me(g *gatehouse) meAnswer {
	b.t.Helper()
	b.navigate(g.URL + "/v1/me")
	b.waitFor(g.URL, "/v1/me", "body")
	var m meAnswer
	raw := b.text("body")
	m.Status = b.status()
	if m.Status == http.StatusOK {
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			b.t.Fatalf("%s: /v1/me: %v: %s", b.vp.name, err, raw)
		}
	}
	return m
}

// href is the address of the page shown.
func (b *tab) href() string {
	b.t.Helper()
	s, err := eval[string](b, `location.href`)
	if err != nil {
		b.t.Fatalf("%s: location: %v", b.vp.name, err)
	}
	return s
}
