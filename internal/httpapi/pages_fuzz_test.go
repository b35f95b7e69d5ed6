package httpapi

import (
	"net/url"
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
