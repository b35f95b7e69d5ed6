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
