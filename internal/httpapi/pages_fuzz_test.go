package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeReturnTo checks that whatever safeReturnTo accepts, resolved
// against the issuer as a browser would, stays on the issuer's origin.
func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/oauth2/authorize?client_id=x", "//evil.example", "/\\evil.example", "https://evil.example", "/%2F%2Fevil", "/a/../..//evil", "", "/\t/evil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://id.example/login")
	f.Fuzz(func(t *testing.T, v string) {
		got := safeReturnTo(v)
		if got == "" {
			return
		}
		if got != v {
			t.Fatalf("safeReturnTo(%q) = %q: it must accept as is or refuse", v, got)
		}
		u, err := base.Parse(got)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", got, err)
		}
		if u.Scheme != "https" || u.Host != "id.example" {
			t.Fatalf("accepted %q, which leads to %s://%s", got, u.Scheme, u.Host)
		}
	})
}

// FuzzLinkToken checks the filter of the secrets the link pages keep in a
// cookie: what it accepts is short, and comes back from the browser's
// Cookie header exactly as it was set.
func FuzzLinkToken(f *testing.F) {
	for _, s := range []string{"hTq0m4bVx8Yk1Zc2Rr7nA3sPdE5uWf6gLj9iKo0pQwM", "", "a b", "a;b", `a"b`, "é", strings.Repeat("x", 300), "-_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !plausibleLinkToken(v) {
			return
		}
		if v == "" || len(v) > maxLinkToken {
			t.Fatalf("accepted %q (%d bytes)", v, len(v))
		}
		c := &http.Cookie{Name: verifyPage.cookie, Value: v, Path: verifyPage.path}
		if err := c.Valid(); err != nil {
			t.Fatalf("accepted %q, which is no cookie value: %v", v, err)
		}
		r := &http.Request{Header: http.Header{"Cookie": {c.Name + "=" + c.Value}}}
		got, err := r.Cookie(c.Name)
		if err != nil || got.Value != v {
			t.Fatalf("accepted %q, which comes back as %v, %v", v, got, err)
		}
	})
}
