package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// openLink opens a mailed link in b without following the redirect, checks
// that the page keeps the secret in a cookie scoped to its path and
// redirects to the bare path, then follows it and returns that page.
func openLink(t *testing.T, b *browser, srv *apptest.Server, link string) page {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != u.Path {
		t.Fatalf("GET %s: %d to %q, want 303 to %s", u.Path, resp.StatusCode, resp.Header.Get("Location"), u.Path)
	}
	var kept *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "gatehouse"+strings.ReplaceAll(u.Path, "/", "_") {
			kept = ck
		}
	}
	if kept == nil || kept.Value != u.Query().Get("token") || kept.Path != u.Path || !kept.HttpOnly ||
		kept.SameSite != http.SameSiteLaxMode || kept.MaxAge <= 0 || kept.MaxAge > 3600 {
		t.Fatalf("GET %s?token=: the secret is not kept in an HttpOnly, Lax cookie scoped to the page: %+v", u.Path, kept)
	}
	p := b.get(srv.URL + u.Path)
	if strings.Contains(p.body, u.Query().Get("token")) {
		t.Errorf("the page %s shows the secret", u.Path)
	}
	return p
}

// TestLinkPagesWithoutSecret checks the pages opened without a usable
// secret: a malformed one, none kept, a POST without one.
func TestLinkPagesWithoutSecret(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	for _, tc := range []struct{ name, path, want string }{
		{"malformed token", "/verify?token=" + url.QueryEscape("a b"), "no longer works"},
		{"two tokens", "/verify?token=a&token=b", "no longer works"},
		{"malformed recovery token", "/recover?token=" + strings.Repeat("x", 300), "no longer works"},
		{"nothing kept", "/verify", "link from your mail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newBrowser(t, srv).get(srv.URL + tc.path)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, tc.want) {
				t.Errorf("%s: %d\n%s", tc.path, p.status, p.body)
			}
		})
	}
	// The recovery page without a secret asks for the address.
	p := newBrowser(t, srv).get(srv.URL + "/recover")
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="email"`) {
		t.Errorf("/recover: %d\n%s", p.status, p.body)
	}
}

// TestLinkPagesKeepSecretOutOfURL checks the first GET of a mailed
// link: the secret goes into a cookie scoped to the page, the browser is
// sent to the bare path, and the page then shows its form without the
// secret, under the pages' Referrer-Policy.
func TestLinkPagesKeepSecretOutOfURL(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	for _, tc := range []struct{ path, field string }{
		{"/verify", `id="confirm"`},
		{"/recover", `name="password_again"`},
	} {
		b := newBrowser(t, srv)
		p := openLink(t, b, srv, srv.URL+tc.path+"?token=c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0")
		if p.status != http.StatusOK || !strings.Contains(p.body, tc.field) {
			t.Errorf("%s after the link: %d\n%s", tc.path, p.status, p.body)
		}
		resp, err := b.c.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("%s: Referrer-Policy %q, want same-origin", tc.path, got)
		}
	}
}

// TestVerifyPage follows the verification mail's link as a browser:
// opening it changes nothing (mail scanners open links), the button
// confirms, the link then answers that it no longer works.
func TestVerifyPage(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u, c := srv.NewSession(t)
	link := mailLink(t, srv, u.Email, "/verify")
	b := newBrowser(t, srv)
	p := openLink(t, b, srv, link)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="confirm"`) {
		t.Fatalf("the verification page: %d\n%s", p.status, p.body)
	}
	if emailVerified(t, c) {
		t.Fatal("opening the link verified the address")
	}
	// A form posted from another origin, or with Origin: null, changes
	// nothing.
	for _, origin := range []string{"null", "https://evil.example"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/verify", strings.NewReader(url.Values{"csrf_token": {regexpValue(t, formRE.FindStringSubmatch(p.body)[2], "csrf_token")}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		if got := b.do(req); got.status != http.StatusForbidden {
			t.Errorf("Origin %s: status %d, want 403", origin, got.status)
		}
	}
	if emailVerified(t, c) {
		t.Fatal("a cross-origin form verified the address")
	}
	done := b.submit(p, nil, "")
	if done.status != http.StatusOK || !strings.Contains(done.body, "is confirmed") {
		t.Fatalf("after the button: %d\n%s", done.status, done.body)
	}
	if !emailVerified(t, c) {
		t.Fatal("the button did not verify the address")
	}
	again := b.submit(openLink(t, b, srv, link), nil, "")
	if again.status != http.StatusBadRequest || !strings.Contains(again.body, "no longer works") {
		t.Errorf("a used link: %d\n%s", again.status, again.body)
	}
}

// TestRecoverPage asks for a link on the page, for a known and an unknown
// address (the same answer), sets a new password with the link, and
// checks that the old session and password are dead and the new one
// works.
func TestRecoverPage(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u, old := srv.NewSession(t)
	var answers []page
	for _, email := range []string{u.Email, "nobody-" + u.Email} {
		b := newBrowser(t, srv)
		p := b.submit(b.get(srv.URL+"/recover"), map[string]string{"email": email}, "")
		p.body = strings.ReplaceAll(p.body, email, "EMAIL")
		answers = append(answers, p)
	}
	if answers[0].status != http.StatusOK || answers[0].status != answers[1].status || answers[0].body != answers[1].body {
		t.Fatalf("known and unknown addresses get different pages: %d %d\n%s\n%s", answers[0].status, answers[1].status, answers[0].body, answers[1].body)
	}
	b := newBrowser(t, srv)
	p := openLink(t, b, srv, mailLink(t, srv, u.Email, "/recover"))
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="password_again"`) {
		t.Fatalf("the recovery page: %d\n%s", p.status, p.body)
	}
	if got := b.submit(p, map[string]string{"password": "new password one", "password_again": "new password two"}, ""); got.status != http.StatusBadRequest || !strings.Contains(got.body, "differ") {
		t.Errorf("two different passwords: %d\n%s", got.status, got.body)
	}
	if got := b.submit(p, map[string]string{"password": "short", "password_again": "short"}, ""); got.status != http.StatusBadRequest || !strings.Contains(got.body, "Choose another password") {
		t.Errorf("a short password: %d\n%s", got.status, got.body)
	}
	const newPassword = "a brand new passphrase"
	done := b.submit(p, map[string]string{"password": newPassword, "password_again": newPassword}, "")
	if done.status != http.StatusOK || !strings.Contains(done.body, "Password changed") {
		t.Fatalf("after the new password: %d\n%s", done.status, done.body)
	}
	if r := old.Do(t, http.MethodGet, "/v1/me", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the old session after recovery: %d, want 401", r.Status)
	}
	if r := srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "session"}); r.Status != http.StatusUnauthorized {
		t.Errorf("the old password after recovery: %d, want 401", r.Status)
	}
	srv.Login(t, u.Email, newPassword)
	if got := b.submit(p, map[string]string{"password": newPassword, "password_again": newPassword}, ""); got.status != http.StatusBadRequest || !strings.Contains(got.body, "link from your mail") {
		t.Errorf("the form again after success (the secret is forgotten): %d\n%s", got.status, got.body)
	}
}

// mailLink returns the link of the one mail to to that leads to path.
// (The test clock stands still, so the mailbox's names do not order the
// mails.)
func mailLink(t *testing.T, srv *apptest.Server, to, path string) string {
	t.Helper()
	var links []string
	for _, m := range srv.Mailbox(t, to) {
		if "/"+m.Path == path {
			links = append(links, m.Link)
		}
	}
	if len(links) != 1 {
		t.Fatalf("%d mails to %s link to %s, want 1", len(links), to, path)
	}
	return links[0]
}

// emailVerified reads email_verified at /v1/me with c's session.
func emailVerified(t *testing.T, c *apptest.Client) bool {
	t.Helper()
	var me struct {
		User struct {
			EmailVerified bool `json:"email_verified"`
		} `json:"user"`
	}
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
	return me.User.EmailVerified
}
