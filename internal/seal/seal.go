// Package seal encrypts small secrets at rest with AES-256-GCM: signing
// keys under the key-encryption key, and a rotated refresh token's
// successor under a key derived from the rotated token itself.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
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
// open what was sealed with it.
func DeriveKey(label string, secret []byte) [KeySize]byte {
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
