package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := DeriveKey("test", []byte("secret"))
	other := DeriveKey("test", []byte("other secret"))
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
	if DeriveKey("a", []byte("s")) == DeriveKey("b", []byte("s")) {
		t.Error("different labels give the same key")
	}
	if k1, k2 := DeriveKey("a", []byte("s")), DeriveKey("a", []byte("s")); k1 != k2 {
		t.Error("DeriveKey is not deterministic")
	}
}
