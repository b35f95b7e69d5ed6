package identity_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/identity"
)

// FuzzNormalizeEmail checks the properties the rest of the server relies
// on: a normalised address is valid UTF-8, at most 254 bytes, trimmed,
// with one non-empty local part and a lower-case domain, free of control
// characters, and normalising it again changes nothing (so lookups and
// the rate limiter's account keys agree however the user spells it).
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"alice@example.com", " Alice@Example.COM ", "a@b", "@", "a@", "@b", "a@@b", "a@b..c", "\"x@y\"@z",
		"ÜSER@BÜCHER.example", "a@\u212a.example", "a@\u0130.example", "x@y\x00", "\xff@x", strings.Repeat("a", 250) + "@b.c",
		strings.Repeat("a", 243) + "@\u023a.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := identity.NormalizeEmail(s)
		if err != nil {
			if n != "" {
				t.Fatalf("NormalizeEmail(%q) = %q with error %v", s, n, err)
			}
			return
		}
		if !utf8.ValidString(n) || len(n) > 254 || n != strings.TrimSpace(n) {
			t.Fatalf("NormalizeEmail(%q) = %q: invalid UTF-8, too long or untrimmed", s, n)
		}
		at := strings.LastIndexByte(n, '@')
		if at <= 0 || at == len(n)-1 {
			t.Fatalf("NormalizeEmail(%q) = %q: want local@domain", s, n)
		}
		if d := n[at+1:]; d != strings.ToLower(d) {
			t.Fatalf("NormalizeEmail(%q) = %q: domain not lower case", s, n)
		}
		for _, r := range n {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("NormalizeEmail(%q) = %q: control character", s, n)
			}
		}
		again, err := identity.NormalizeEmail(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeEmail is not idempotent: %q -> %q -> %q, %v", s, n, again, err)
		}
	})
}
