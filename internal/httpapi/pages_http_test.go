package httpapi_test

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// TestPagesReferrerPolicy checks that every HTML page lets a browser send
// its real Origin on a same-origin form POST. Under the Fetch standard
// ("serializing a request origin") a POST from a page whose policy is
// no-referrer carries "Origin: null", which the forms refuse, so no
// browser could sign in. The Chromium suite (e2e/browser) checks the same
// with a real browser.
func TestPagesReferrerPolicy(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	for _, path := range []string{"/login", "/oauth2/authorize?client_id=nope", "/oauth2/logout"} {
		b := newBrowser(t, srv)
		p := b.get(srv.URL + path)
		resp, err := srv.HTTP.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("%s: Referrer-Policy %q, want same-origin", path, got)
		}
		if !strings.Contains(p.body, `<meta name="referrer" content="same-origin">`) || strings.Contains(p.body, "no-referrer") {
			t.Errorf("%s: the page's referrer meta tag is not same-origin:\n%s", path, p.body)
		}
	}
}

// TestLoginFormOrigin checks the login form's origin rule: the issuer's
// own origin (what a browser sends from a same-origin page) and no Origin
// at all (scripts, old browsers) pass with a valid CSRF token; "null" and
// foreign origins never do, token or not.
func TestLoginFormOrigin(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{srv.URL, http.StatusOK},
		{"", http.StatusOK},
		{"null", http.StatusForbidden},
		{"https://evil.example", http.StatusForbidden},
	} {
		b := newBrowser(t, srv)
		p := b.get(srv.URL + "/login")
		m := formRE.FindStringSubmatch(p.body)
		csrf := regexpValue(t, m[2], "csrf_token")
		v := url.Values{"csrf_token": {csrf}, "email": {u.Email}, "password": {u.Password}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		got := b.do(req)
		if got.status != tc.want {
			t.Errorf("Origin %q: status %d, want %d", tc.origin, got.status, tc.want)
		}
		if tc.want == http.StatusForbidden && !strings.Contains(got.body, `value="`+u.Email+`"`) {
			t.Errorf("Origin %q: the refused form lost the typed email", tc.origin)
		}
	}
}

func regexpValue(t *testing.T, form, name string) string {
	t.Helper()
	for _, in := range inputRE.FindAllStringSubmatch(form, -1) {
		if strings.Contains(in[1], `name="`+name+`"`) {
			for _, a := range attrRE.FindAllStringSubmatch(in[1], -1) {
				if a[1] == "value" {
					return a[2]
				}
			}
		}
	}
	t.Fatalf("no input %q in form", name)
	return ""
}

// TestLoginKeepsEmail checks that the login page shown again after an
// error keeps the email typed, escaped, and never the password.
func TestLoginKeepsEmail(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	for _, email := range []string{"someone@example.com", `a"><script>alert(1)</script>@example.com`} {
		b := newBrowser(t, srv)
		p := b.submit(b.get(srv.URL+"/login"), map[string]string{"email": email, "password": "pw-typed-here"}, "")
		if p.status != http.StatusUnauthorized {
			t.Errorf("%q: status %d, want 401", email, p.status)
		}
		if strings.Contains(p.body, "<script>") || strings.Contains(p.body, "pw-typed-here") {
			t.Errorf("%q: the page echoes unescaped input or the password:\n%s", email, p.body)
		}
		if got := html.UnescapeString(regexpValue(t, formRE.FindStringSubmatch(p.body)[2], "email")); got != email {
			t.Errorf("email field %q, want %q", got, email)
		}
	}
}

// TestFavicon checks that /favicon.ico, which every browser asks for, is
// an icon that may be cached, not a 404.
func TestFavicon(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	resp, err := srv.HTTP.Client().Get(srv.URL + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/vnd.microsoft.icon" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "max-age") || !bytes.HasPrefix(b, []byte{0, 0, 1, 0}) {
		t.Errorf("GET /favicon.ico: %d %q %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), len(b))
	}
}
