package session

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// csrfLabel separates the CSRF derivation from the lookup hash of the
// cookie secret, so knowing a CSRF token reveals neither.
const csrfLabel = "gatehouse csrf v1\x00"

// csrfSecret derives the session's CSRF secret from its cookie secret.
// Nothing is stored: any instance that sees the cookie can check a token.
func csrfSecret(cookieSecret string) [32]byte {
	h := sha256.New()
	h.Write([]byte(csrfLabel))
	h.Write([]byte(cookieSecret))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// CSRFToken returns a fresh CSRF token for the session whose cookie secret
// is given. Each call returns a different string (the secret is masked with
// a random pad, which defeats BREACH-style compression attacks), and every
// one of them is valid for the session's life.
func CSRFToken(cookieSecret string) string {
	secret := csrfSecret(cookieSecret)
	var buf [64]byte
	_, _ = rand.Read(buf[:32]) // crypto/rand.Read never fails (Go 1.24+)
	for i := range 32 {
		buf[32+i] = buf[i] ^ secret[i]
	}
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

// ValidCSRFToken reports whether token is a CSRF token of the session whose
// cookie secret is given. The comparison is constant-time.
func ValidCSRFToken(cookieSecret, token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(64) {
		return false
	}
	var buf [64]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(token))
	if err != nil || n != 64 {
		return false
	}
	var got [32]byte
	for i := range 32 {
		got[i] = buf[i] ^ buf[32+i]
	}
	want := csrfSecret(cookieSecret)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
