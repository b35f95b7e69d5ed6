package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE (RFC 7636). Only S256 is accepted: "plain" gives no protection
// against an attacker who sees the authorization request (RFC 9700
// section 2.1.1).
const (
	// PKCEMethodS256 is the only code_challenge_method accepted.
	PKCEMethodS256 = "S256"
	// Verifier lengths (RFC 7636 section 4.1).
	minVerifierLen = 43
	maxVerifierLen = 128
	// s256ChallengeLen is the length of base64url(SHA-256(verifier)).
	s256ChallengeLen = 43
)

// validPKCEString reports whether s is made of the unreserved characters
// of RFC 7636 section 4.1 (A-Z, a-z, 0-9, "-", ".", "_", "~") and is
// between minLen and maxLen bytes long.
func validPKCEString(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// S256Challenge returns the S256 code challenge of verifier:
// BASE64URL(SHA256(verifier)) without padding.
func S256Challenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// verifyPKCE reports whether verifier is well formed and matches the S256
// challenge, in constant time.
func verifyPKCE(challenge, verifier string) bool {
	if !validPKCEString(verifier, minVerifierLen, maxVerifierLen) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(S256Challenge(verifier)), []byte(challenge)) == 1
}
