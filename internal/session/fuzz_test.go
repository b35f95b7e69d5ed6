package session_test

import (
	"encoding/base64"
	"errors"
	"regexp"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/session"
)

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// FuzzValidSecretSyntax checks ValidSecretSyntax against a regular
// expression of the same rule, and that whatever it accepts is 32 bytes of
// base64url (or is refused by AuthenticateCookie, never accepted).
func FuzzValidSecretSyntax(f *testing.F) {
	for _, s := range []string{"", secretA, secretB, secretA[:42], secretA + "A", secretA[:42] + "=", secretA[:41] + "é", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := session.ValidSecretSyntax(s)
		if want := secretRE.MatchString(s); got != want {
			t.Fatalf("ValidSecretSyntax(%q) = %v, regexp says %v", s, got, want)
		}
		if got {
			if b, err := base64.RawURLEncoding.DecodeString(s); err == nil && len(b) != 32 {
				t.Fatalf("%q decodes to %d bytes", s, len(b))
			}
		}
	})
}

// FuzzAuthenticateCookie feeds arbitrary cookie values to a manager that
// holds one live session: only its secret authenticates, and everything
// else is ErrInvalid, never another error or a panic.
func FuzzAuthenticateCookie(f *testing.F) {
	m, _, _ := newManager(f, session.Config{})
	live := create(f, m, "u")
	f.Add("")
	f.Add(live.Secret)
	f.Add(secretA)
	f.Add(live.Session.ID)
	f.Add("x")
	f.Add(live.Secret[:42] + "=")
	f.Add("%41%41")
	f.Add("\x00")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := m.AuthenticateCookie(t.Context(), s)
		if s == live.Secret {
			if err != nil || got.ID != live.Session.ID {
				t.Fatalf("the live secret: %+v, %v", got, err)
			}
			return
		}
		if !errors.Is(err, session.ErrInvalid) {
			t.Fatalf("AuthenticateCookie(%q) = %+v, %v; want ErrInvalid", s, got, err)
		}
	})
}

// FuzzValidCSRFToken checks that arbitrary strings are never valid CSRF
// tokens of a session whose tokens they are not, and never panic.
func FuzzValidCSRFToken(f *testing.F) {
	f.Add(session.CSRFToken(secretB))
	f.Add("")
	f.Add(secretA)
	f.Add(session.CSRFToken(secretA)[:85] + "=")
	f.Fuzz(func(t *testing.T, tok string) {
		if session.ValidCSRFToken(secretA, tok) {
			// A valid token unmasks to the session's secret; a fuzzer
			// cannot find one without breaking SHA-256.
			t.Fatalf("ValidCSRFToken accepted %q", tok)
		}
	})
}
