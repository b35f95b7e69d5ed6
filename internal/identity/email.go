package identity

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxEmailLen is the longest address accepted (RFC 5321 path limit).
const maxEmailLen = 254

// NormalizeEmail trims surrounding white space, case-folds the domain of
// an email address and puts the whole address in Unicode Normalization
// Form C (NFC), so that the composed and decomposed spellings of "é" are
// one address. The local part otherwise keeps what was given, case
// included: RFC 5321 leaves its interpretation to the receiving host. It
// returns ErrInvalidEmail for anything that is not local@domain with a
// non-empty local part and a domain that has no white space, and for
// invalid UTF-8 and U+FFFD, the replacement character a JSON decoder puts
// in place of invalid UTF-8 and lone surrogate escapes.
func NormalizeEmail(s string) (string, error) {
	return normalizeEmail(s, true)
}

// olderSpellings returns the spellings under which an account created
// before addresses were put in NFC may be stored, other than normalized:
// the typed address as NormalizeEmail returned it then, and normalized's
// decomposed (NFD) form. Accounts created then keep the form they were
// created with. For an ASCII address there are none.
func olderSpellings(typed, normalized string) []string {
	var out []string
	if old, err := normalizeEmail(typed, false); err == nil && old != normalized {
		out = append(out, old)
	}
	if d := norm.NFD.String(normalized); d != normalized && !slices.Contains(out, d) {
		out = append(out, d)
	}
	return out
}

// normalizeEmail is NormalizeEmail, without the NFC steps unless nfc.
func normalizeEmail(s string, nfc bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return "", ErrInvalidEmail
	}
	if nfc {
		s = norm.NFC.String(s)
	}
	if s == "" || len(s) > maxEmailLen {
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
	if nfc {
		out = norm.NFC.String(out)
	}
	if len(out) > maxEmailLen {
		// Lower-casing can lengthen UTF-8 (U+023A Ⱥ is 2 bytes, ⱥ 3).
		return "", ErrInvalidEmail
	}
	return out, nil
}
