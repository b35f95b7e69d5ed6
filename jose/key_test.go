package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestAlgorithm(t *testing.T) {
	for _, a := range []Algorithm{EdDSA, ES256, RS256} {
		if !a.Valid() {
			t.Errorf("%s not valid", a)
		}
	}
	for _, a := range []Algorithm{"", "none", "None", "NONE", "eddsa", "EDDSA", "HS256", "ES384", "PS256", "Ed25519", "RS256 "} {
		if a.Valid() {
			t.Errorf("%q valid", a)
		}
		if _, err := GenerateKey(a, "k"); !errors.Is(err, ErrUnsupportedAlg) {
			t.Errorf("GenerateKey(%q) err = %v", a, err)
		}
	}
	if DefaultAlgorithm != EdDSA {
		t.Errorf("DefaultAlgorithm = %s", DefaultAlgorithm)
	}
}

func TestKeyConstructors(t *testing.T) {
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048 := testKeys(t)[RS256].rsa
	rsaE3 := &rsa.PublicKey{N: rsa2048.N, E: 3}

	pubTests := []struct {
		name string
		alg  Algorithm
		kid  string
		key  any
		want error
	}{
		{"Ed25519", EdDSA, "k", edPub, nil},
		{"P-256", ES256, "k", &p256.PublicKey, nil},
		{"RSA 2048", RS256, "k", &rsa2048.PublicKey, nil},
		{"empty kid", EdDSA, "", edPub, ErrInvalidKey},
		{"long kid", EdDSA, strings.Repeat("k", MaxKeyIDLen+1), edPub, ErrInvalidKey},
		{"kid not UTF-8", EdDSA, "\xff", edPub, ErrInvalidKey},
		{"kid DEL", EdDSA, "a\x7f", edPub, ErrInvalidKey},
		{"EdDSA with P-256 key", EdDSA, "k", &p256.PublicKey, ErrInvalidKey},
		{"EdDSA short key", EdDSA, "k", edPub[:31], ErrInvalidKey},
		{"ES256 with P-384", ES256, "k", &p384.PublicKey, ErrInvalidKey},
		{"ES256 with Ed25519", ES256, "k", edPub, ErrInvalidKey},
		{"ES256 nil", ES256, "k", (*ecdsa.PublicKey)(nil), ErrInvalidKey},
		{"RS256 1024", RS256, "k", &rsa1024.PublicKey, ErrWeakKey},
		{"RS256 e=3", RS256, "k", rsaE3, ErrWeakKey},
		{"RS256 with Ed25519", RS256, "k", edPub, ErrInvalidKey},
		{"RS256 nil", RS256, "k", (*rsa.PublicKey)(nil), ErrInvalidKey},
		{"HS256", "HS256", "k", []byte("secret"), ErrUnsupportedAlg},
	}
	for _, tt := range pubTests {
		t.Run("public/"+tt.name, func(t *testing.T) {
			k, err := NewPublicKey(tt.alg, tt.kid, tt.key)
			if tt.want == nil {
				if err != nil || k.Algorithm() != tt.alg || k.KeyID() != tt.kid {
					t.Fatalf("NewPublicKey = %v, %v", k, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}

	badEd := append(ed25519.PrivateKey(nil), edPriv...)
	badEd[63] ^= 1
	privTests := []struct {
		name string
		alg  Algorithm
		key  any
		want error
	}{
		{"Ed25519", EdDSA, edPriv, nil},
		{"P-256", ES256, p256, nil},
		{"RSA 2048", RS256, rsa2048, nil},
		{"Ed25519 inconsistent", EdDSA, badEd, ErrInvalidKey},
		{"P-384", ES256, p384, ErrInvalidKey},
		{"RSA 1024", RS256, rsa1024, ErrWeakKey},
		{"EdDSA with RSA", EdDSA, rsa2048, ErrInvalidKey},
		{"ES256 with Ed25519", ES256, edPriv, ErrInvalidKey},
		{"RS256 with P-256", RS256, p256, ErrInvalidKey},
	}
	for _, tt := range privTests {
		t.Run("private/"+tt.name, func(t *testing.T) {
			k, err := newPrivateFromAny(tt.alg, "k", tt.key)
			if tt.want == nil {
				if err != nil || k.Algorithm() != tt.alg {
					t.Fatalf("NewPrivateKey = %v, %v", k, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := NewPrivateKey(EdDSA, "k", nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("nil key: err = %v", err)
	}

	// A stored 1024-bit key is refused on load.
	der, _ := x509.MarshalPKCS8PrivateKey(rsa1024)
	if _, err := ParsePrivate(RS256, "k", der); !errors.Is(err, ErrWeakKey) {
		t.Errorf("ParsePrivate(RSA 1024) err = %v", err)
	}
	if _, err := ParsePrivate(EdDSA, "k", []byte("junk")); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParsePrivate(junk) err = %v", err)
	}
	if _, err := ParsePrivate("none", "k", der); !errors.Is(err, ErrUnsupportedAlg) {
		t.Errorf("ParsePrivate(none) err = %v", err)
	}
	if _, err := MarshalPrivate(PrivateKey{}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("MarshalPrivate(zero) err = %v", err)
	}
}

// newPrivateFromAny calls NewPrivateKey with a key of any type.
func newPrivateFromAny(alg Algorithm, kid string, key any) (PrivateKey, error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return NewPrivateKey(alg, kid, k)
	case *ecdsa.PrivateKey:
		return NewPrivateKey(alg, kid, k)
	case *rsa.PrivateKey:
		return NewPrivateKey(alg, kid, k)
	}
	return PrivateKey{}, fmt.Errorf("unexpected %T", key)
}

// TestPrivateKeyRedacted checks that formatting a PrivateKey never prints
// key material.
func TestPrivateKeyRedacted(t *testing.T) {
	for alg, k := range testKeys(t) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, k)
			if !strings.Contains(out, k.KeyID()) || len(out) > 100 {
				t.Errorf("%s %s: %s", alg, verb, out)
			}
		}
		out := fmt.Sprintf("%v", struct{ K PrivateKey }{k})
		if len(out) > 100 {
			t.Errorf("%s nested: %d bytes printed", alg, len(out))
		}
	}
}

func TestPublicKeyAccessors(t *testing.T) {
	k := testKeys(t)[ES256]
	pub := k.Public()
	if pub.CryptoKey().(*ecdsa.PublicKey).Curve != elliptic.P256() {
		t.Errorf("CryptoKey is not P-256")
	}
	if (PublicKey{}).CryptoKey() != nil || !(PublicKey{}).IsZero() || (PublicKey{}).Thumbprint() != "" {
		t.Errorf("zero PublicKey accessors")
	}
	if pub.Equal(testKeys(t)[EdDSA].Public()) || !pub.Equal(pub) {
		t.Errorf("Equal")
	}
	other, _ := NewPublicKey(ES256, "other", pub.CryptoKey())
	if pub.Equal(other) {
		t.Errorf("keys with different kids are Equal")
	}
	if pub.Thumbprint() != other.Thumbprint() {
		t.Errorf("thumbprint depends on kid")
	}
}
