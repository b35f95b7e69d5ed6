package session_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/session"
)

const (
	secretA = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	secretB = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA"
)

func TestCSRFTokenValidForItsSession(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := session.CSRFToken(secretA)
		if seen[tok] {
			t.Fatalf("token %q repeated: tokens must be masked with fresh randomness", tok)
		}
		seen[tok] = true
		if !session.ValidCSRFToken(secretA, tok) {
			t.Fatalf("token %q not valid for its own session", tok)
		}
		if session.ValidCSRFToken(secretB, tok) {
			t.Fatalf("token %q valid for another session", tok)
		}
		if strings.Contains(tok, secretA) {
			t.Fatalf("token %q contains the cookie secret", tok)
		}
	}
}

func TestCSRFTokenRejects(t *testing.T) {
	good := session.CSRFToken(secretA)
	raw, err := base64.RawURLEncoding.DecodeString(good)
	if err != nil || len(raw) != 64 {
		t.Fatalf("token %q: want 64 bytes of base64url", good)
	}
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x80
		return base64.RawURLEncoding.EncodeToString(b)
	}
	// Pad and masked secret swapped still XOR to the secret: that is not
	// a forgery (it needs a valid token), so it is not listed here.
	zero := make([]byte, 64)
	cases := map[string]string{
		"empty":                  "",
		"truncated":              good[:len(good)-1],
		"extended":               good + "A",
		"padded":                 base64.URLEncoding.EncodeToString(raw),
		"standard alphabet":      strings.NewReplacer("-", "+", "_", "/").Replace(good) + strings.Repeat("", 0),
		"pad bit flipped":        flip(3),
		"masked bit flipped":     flip(40),
		"all zero":               base64.RawURLEncoding.EncodeToString(zero),
		"the secret itself":      secretA,
		"a token of the other":   session.CSRFToken(secretB),
		"white space around":     " " + good,
		"non-ASCII of same size": strings.Repeat("é", len(good)/2) + "A",
	}
	for name, tok := range cases {
		if tok == good {
			continue // the replacer changed nothing
		}
		if session.ValidCSRFToken(secretA, tok) {
			t.Errorf("%s: %q accepted", name, tok)
		}
	}
	if !session.ValidCSRFToken(secretA, good) {
		t.Fatal("the good token stopped working")
	}
}

func TestValidSecretSyntax(t *testing.T) {
	cases := []struct {
		s    string
		want bool
	}{
		{secretA, true},
		{"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123-_9", true},
		{"", false},
		{secretA[:42], false},
		{secretA + "A", false},
		{secretA[:42] + "=", false},
		{secretA[:42] + "+", false},
		{secretA[:42] + "/", false},
		{secretA[:42] + ".", false},
		{secretA[:42] + " ", false},
		{secretA[:42] + "\x00", false},
		{secretA[:41] + "é", false}, // 43 bytes, not 43 characters of the alphabet
	}
	for _, tc := range cases {
		if got := session.ValidSecretSyntax(tc.s); got != tc.want {
			t.Errorf("ValidSecretSyntax(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
