package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := mustDerive(t, "test", "secret")
	other := mustDerive(t, "test", "other secret")
	msg := []byte("private key bytes")
	sealed, err := Seal(key, msg, []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, msg) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := Open(key, sealed, []byte("kid-1"))
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v; want %q", got, err, msg)
	}
	again, _ := Seal(key, msg, []byte("kid-1"))
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same value are equal: nonce not random")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	cases := map[string]struct {
		key    [KeySize]byte
		sealed []byte
		aad    string
	}{
		"wrong key":   {other, sealed, "kid-1"},
		"wrong aad":   {key, sealed, "kid-2"},
		"tampered":    {key, tampered, "kid-1"},
		"truncated":   {key, sealed[:10], "kid-1"},
		"empty":       {key, nil, "kid-1"},
		"bad version": {key, append([]byte{9}, sealed[1:]...), "kid-1"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Open(c.key, c.sealed, []byte(c.aad)); !errors.Is(err, ErrOpen) {
				t.Errorf("Open = %v, want ErrOpen", err)
			}
		})
	}
}

func TestDeriveKeySeparatesLabels(t *testing.T) {
	if mustDerive(t, "a", "s") == mustDerive(t, "b", "s") {
		t.Error("different labels give the same key")
	}
	if k1, k2 := mustDerive(t, "a", "s"), mustDerive(t, "a", "s"); k1 != k2 {
		t.Error("DeriveKey is not deterministic")
	}
}

// sealedBeforeHKDF is a refresh successor sealed by the key derivation in
// use before crypto/hkdf: plain SHA-256 over a prefix, the label and the
// secret. Values like it sit in stores; they must keep opening with
// LegacyDeriveKey.
const (
	legacySecret = "ghr_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	legacyBody   = `{"access_token":"a","token_type":"Bearer","expires_in":300,"refresh_token":"ghr_next","scope":"openid"}`
	legacyAAD    = "old hash"
	legacyKey    = "dc50a5d2a215026f94764dd6c2d448eb527f33181cbbdb629bc60ed812c07067"
	legacySealed = "0175801af0743d82bc0c1fee68c606c3c53148adff08c566f0cefff6075abfc5b39d6722291ebabb5d26812fa8927fea38f0a054f2fba7a4f1bfba4dd8894e2322b75360f4ae73053e1a0942d0c051d6bf5e4e16807492db9227348c59e55d5cb4200c2ed417a5fe63d614c8cf1871706d65e879f4766c782e1312d83aaabb265097a96c"
)

// TestLegacyDeriveKeyVector pins the old derivation to the output it had
// before DeriveKey moved to HKDF (computed from that code), and opens a
// value sealed then.
func TestLegacyDeriveKeyVector(t *testing.T) {
	k := LegacyDeriveKey("refresh successor", []byte(legacySecret))
	if got := hex.EncodeToString(k[:]); got != legacyKey {
		t.Fatalf("LegacyDeriveKey = %s, want %s", got, legacyKey)
	}
	sealed, _ := hex.DecodeString(legacySealed)
	got, err := Open(k, sealed, []byte(legacyAAD))
	if err != nil || string(got) != legacyBody {
		t.Fatalf("Open(legacy value) = %q, %v; want %q", got, err, legacyBody)
	}
	if nk := mustDerive(t, "refresh successor", legacySecret); nk == k {
		t.Error("DeriveKey still gives the legacy key")
	}
}

// TestDeriveKeyIsHKDF checks DeriveKey against RFC 5869 computed here
// with crypto/hmac: Extract with an all-zero salt, then one block of
// Expand with the versioned label as info.
func TestDeriveKeyIsHKDF(t *testing.T) {
	secret := []byte(legacySecret)
	ext := hmac.New(sha256.New, make([]byte, sha256.Size))
	ext.Write(secret)
	prk := ext.Sum(nil)
	exp := hmac.New(sha256.New, prk)
	exp.Write([]byte("gatehouse seal v2\x00refresh successor"))
	exp.Write([]byte{1})
	want := exp.Sum(nil)
	got := mustDerive(t, "refresh successor", legacySecret)
	if !bytes.Equal(got[:], want) {
		t.Fatalf("DeriveKey = %x, want %x", got, want)
	}
	// Pinned: a change here makes every sealed successor unreadable.
	if got := hex.EncodeToString(got[:]); got != "1a612a266ea860bee00b9e8c5ea5a1b7cc0a0ed4b50ff01bb081862b8ae5d078" {
		t.Fatalf("DeriveKey = %s, want the pinned vector", got)
	}
}

func mustDerive(t *testing.T, label, secret string) [KeySize]byte {
	t.Helper()
	k, err := DeriveKey(label, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
