// Package seal encrypts small secrets at rest with AES-256-GCM: signing
// keys under the key-encryption key, and a rotated refresh token's
// successor under a key derived from the rotated token itself.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// KeySize is the size of a sealing key: AES-256.
const KeySize = 32

// version prefixes every sealed value so the format can change later.
const version byte = 1

// ErrOpen reports a sealed value that does not decrypt under the key: the
// wrong key, tampering, or truncation.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Seal encrypts plaintext under key, binding aad (which is not stored and
// must be given again to Open). The output is version || nonce || ciphertext.
func Seal(key [KeySize]byte, plaintext, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+gcm.NonceSize(), 1+gcm.NonceSize()+len(plaintext)+gcm.Overhead())
	out[0] = version
	_, _ = rand.Read(out[1:]) // crypto/rand.Read never fails (Go 1.24+)
	return gcm.Seal(out, out[1:1+gcm.NonceSize()], plaintext, aad), nil
}

// Open decrypts a value made by Seal with the same key and aad.
func Open(key [KeySize]byte, sealed, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	n := gcm.NonceSize()
	if len(sealed) < 1+n+gcm.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := gcm.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// DeriveKey derives a sealing key from a high-entropy secret (a refresh
// token) and a purpose label, so that only a holder of the secret can
// open what was sealed with it. It is HKDF-SHA256 (RFC 5869) with no salt
// and the label, under a version prefix, as the info. It fails only when
// crypto/hkdf refuses the secret: in FIPS 140-only mode, one shorter than
// 112 bits.
func DeriveKey(label string, secret []byte) ([KeySize]byte, error) {
	var k [KeySize]byte
	b, err := hkdf.Key(sha256.New, secret, nil, "gatehouse seal v2\x00"+label, KeySize)
	if err != nil {
		return k, fmt.Errorf("seal: derive key %q: %w", label, err)
	}
	copy(k[:], b)
	return k, nil
}

// LegacyDeriveKey is the derivation DeriveKey replaced: SHA-256 over a
// prefix, the label and the secret. It exists only so that values sealed
// before the change still open (refresh successors, read within the
// refresh grace period); nothing new is sealed with it.
//
// Remove it one release after DeriveKey moved to HKDF.
func LegacyDeriveKey(label string, secret []byte) [KeySize]byte {
	h := sha256.New()
	h.Write([]byte("gatehouse seal v1\x00"))
	h.Write([]byte(label))
	h.Write([]byte{0})
	h.Write(secret)
	var k [KeySize]byte
	h.Sum(k[:0])
	return k
}

func newGCM(key [KeySize]byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return gcm, nil
}
