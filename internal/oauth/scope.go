package oauth

import (
	"slices"
	"strings"
)

// Limits on what a client may register or request.
const (
	maxScopes        = 100
	maxScopeTokenLen = 128
	maxAudiences     = 20
	maxAudienceLen   = 512
)

// Service scopes give power over the Gatehouse server itself rather than
// over a user's data. A user cannot delegate power they do not hold, so a
// service scope is granted only through client credentials, to a client
// registered with it; never through a user's authorization, consent,
// code, refresh or a first-party login.
const (
	// ServiceScopePrefix starts every service scope.
	ServiceScopePrefix = "gatehouse:"
	// ScopeAdmin makes a client credentials token an admin credential.
	ScopeAdmin = "gatehouse:admin"
	// ScopeIntrospect makes a client a resource server: it may
	// introspect every token and session cookie, and do nothing more.
	ScopeIntrospect = "gatehouse:introspect"
)

// IsServiceScope reports whether s is a service scope (ServiceScopePrefix).
func IsServiceScope(s string) bool { return strings.HasPrefix(s, ServiceScopePrefix) }

// errServiceScope refuses a service scope asked for on a user's behalf.
func errServiceScope(s string) *Error {
	return ErrInvalidScope.WithDescription("scope " + quoteShort(s) + " is granted only to a client through client credentials, never on a user's behalf")
}

// ParseScope splits a scope parameter (RFC 6749 section 3.3): tokens
// separated by spaces, each made of the characters %x21 / %x23-5B /
// %x5D-7E (printable ASCII except space, '"' and '\'). Repeated spaces
// are tolerated and a repeated token counts once; the order is kept. An
// empty or all-space scope is nil.
func ParseScope(scope string) ([]string, error) {
	var out []string
	for _, tok := range strings.Split(scope, " ") {
		if tok == "" || slices.Contains(out, tok) {
			continue
		}
		if !validScopeToken(tok) {
			return nil, ErrInvalidScope.WithDescription("scope " + quoteShort(tok) + " is malformed")
		}
		if len(out) == maxScopes {
			return nil, ErrInvalidScope.WithDescription("too many scopes")
		}
		out = append(out, tok)
	}
	return out, nil
}

// validScopeToken reports whether tok is a scope-token of RFC 6749
// section 3.3, at most maxScopeTokenLen bytes long.
func validScopeToken(tok string) bool {
	if tok == "" || len(tok) > maxScopeTokenLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// parseAudience splits an audience parameter: values separated by spaces,
// each printable ASCII, as for scopes. A repeated value counts once. An
// empty parameter is nil.
func parseAudience(audience string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(audience, " ") {
		if a == "" || slices.Contains(out, a) {
			continue
		}
		if !validAudience(a) {
			return nil, ErrInvalidTarget.WithDescription("audience " + quoteShort(a) + " is malformed")
		}
		if len(out) == maxAudiences {
			return nil, ErrInvalidTarget.WithDescription("too many audiences")
		}
		out = append(out, a)
	}
	return out, nil
}

// validAudience reports whether a is a usable audience value: 1 to
// maxAudienceLen bytes of printable ASCII without spaces, so that it can
// travel in a space-separated parameter.
func validAudience(a string) bool {
	if a == "" || len(a) > maxAudienceLen {
		return false
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// subset returns the first member of want that is not in allowed, and
// whether there is none.
func subset(want, allowed []string) (string, bool) {
	for _, w := range want {
		if !slices.Contains(allowed, w) {
			return w, false
		}
	}
	return "", true
}

// quoteShort quotes s for an error description, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return '?'
		}
		return r
	}, s) + `"`
}
