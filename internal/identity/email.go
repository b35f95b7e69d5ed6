package identity

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxEmailLen is the longest address accepted (RFC 5321 path limit).
const maxEmailLen = 254

// NormalizeEmail trims surrounding white space and case-folds the domain
// of an email address. The local part keeps its case: RFC 5321 leaves its
// interpretation to the receiving host. It returns ErrInvalidEmail for
// anything that is not local@domain with a non-empty local part and a
// domain that has no white space.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxEmailLen || !utf8.ValidString(s) {
		return "", ErrInvalidEmail
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", ErrInvalidEmail
	}
	local, domain := s[:at], s[at+1:]
	if strings.ContainsAny(domain, " \t\r\n@,;<>()[]\\\"") || strings.ContainsAny(local, " \t\r\n") {
		return "", ErrInvalidEmail
	}
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", ErrInvalidEmail
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", ErrInvalidEmail
		}
	}
	out := fmt.Sprintf("%s@%s", local, strings.ToLower(domain))
	if len(out) > maxEmailLen {
		// Lower-casing can lengthen UTF-8 (U+023A Ⱥ is 2 bytes, ⱥ 3).
		return "", ErrInvalidEmail
	}
	return out, nil
}
