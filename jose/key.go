package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"
	"unicode/utf8"
)

// Key size limits.
const (
	// MinRSABits is the smallest RSA modulus accepted anywhere in this
	// package (RFC 7518 §3.3: "a key of size 2048 bits or larger MUST be
	// used").
	MinRSABits = 2048
	// MaxRSABits is the largest RSA modulus accepted. It bounds the cost
	// of a single verification.
	MaxRSABits = 8192
	// GenerateRSABits is the modulus size GenerateKey uses for RS256.
	GenerateRSABits = 2048
	// MaxKeyIDLen is the longest "kid" accepted, in bytes.
	MaxKeyIDLen = 256
)

// PublicKey is a verification key pinned to one algorithm and named by a
// key ID ("kid", RFC 7515 §4.1.4). The algorithm is a property of the key,
// not of the tokens it checks (RFC 8725 §3.1). Every PublicKey is a
// signature key ("use": "sig", RFC 7517 §4.2).
//
// Build one with NewPublicKey, PrivateKey.Public or ParseJWK. The zero
// value verifies nothing. A PublicKey is immutable and safe for
// concurrent use; copying it is cheap.
type PublicKey struct {
	kid string
	alg Algorithm
	ed  ed25519.PublicKey
	ec  *ecdsa.PublicKey
	rsa *rsa.PublicKey
	// sigLen is the exact signature length for alg and this key.
	sigLen int
}

// NewPublicKey returns a PublicKey for alg named kid. key must match alg:
// ed25519.PublicKey for EdDSA, *ecdsa.PublicKey on P-256 for ES256, and
// *rsa.PublicKey of MinRSABits to MaxRSABits bits for RS256. The key
// material is copied.
func NewPublicKey(alg Algorithm, kid string, key crypto.PublicKey) (PublicKey, error) {
	if err := checkAlg(alg); err != nil {
		return PublicKey{}, err
	}
	if err := checkKeyID(kid); err != nil {
		return PublicKey{}, err
	}
	k := PublicKey{kid: kid, alg: alg}
	switch alg {
	case EdDSA:
		pub, ok := key.(ed25519.PublicKey)
		if !ok || len(pub) != ed25519.PublicKeySize {
			return PublicKey{}, fmt.Errorf("%w: EdDSA needs a %d-byte ed25519.PublicKey, got %T", ErrInvalidKey, ed25519.PublicKeySize, key)
		}
		k.ed = append(ed25519.PublicKey(nil), pub...)
		k.sigLen = ed25519.SignatureSize
	case ES256:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || pub == nil {
			return PublicKey{}, fmt.Errorf("%w: ES256 needs an *ecdsa.PublicKey, got %T", ErrInvalidKey, key)
		}
		if pub.Curve != elliptic.P256() {
			return PublicKey{}, fmt.Errorf("%w: ES256 needs a P-256 key", ErrInvalidKey)
		}
		raw, err := pub.Bytes()
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		// Re-parsing validates the point and detaches the copy.
		if k.ec, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw); err != nil {
			return PublicKey{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		k.sigLen = 64
	case RS256:
		pub, ok := key.(*rsa.PublicKey)
		if !ok || pub == nil || pub.N == nil {
			return PublicKey{}, fmt.Errorf("%w: RS256 needs an *rsa.PublicKey, got %T", ErrInvalidKey, key)
		}
		if err := checkRSA(pub.N, pub.E); err != nil {
			return PublicKey{}, err
		}
		k.rsa = &rsa.PublicKey{N: new(big.Int).Set(pub.N), E: pub.E}
		k.sigLen = pub.Size()
	}
	return k, nil
}

// KeyID returns the key's "kid".
func (k PublicKey) KeyID() string { return k.kid }

// Algorithm returns the one algorithm this key verifies.
func (k PublicKey) Algorithm() Algorithm { return k.alg }

// CryptoKey returns the underlying ed25519.PublicKey, *ecdsa.PublicKey or
// *rsa.PublicKey, or nil for the zero PublicKey. The caller must not
// modify it.
func (k PublicKey) CryptoKey() crypto.PublicKey {
	switch k.alg {
	case EdDSA:
		return k.ed
	case ES256:
		return k.ec
	case RS256:
		return k.rsa
	}
	return nil
}

// IsZero reports whether k is the zero PublicKey, which verifies nothing.
func (k PublicKey) IsZero() bool { return k.alg == "" }

// Equal reports whether k and o have the same key ID, algorithm and key
// material.
func (k PublicKey) Equal(o PublicKey) bool {
	if k.kid != o.kid || k.alg != o.alg {
		return false
	}
	switch k.alg {
	case EdDSA:
		return k.ed.Equal(o.ed)
	case ES256:
		return k.ec.Equal(o.ec)
	case RS256:
		return k.rsa.Equal(o.rsa)
	}
	return true
}

// verify checks sig over input with the key's algorithm. sig has already
// been checked to be sigLen bytes long.
func (k *PublicKey) verify(input, sig []byte) bool {
	switch k.alg {
	case EdDSA:
		return ed25519.Verify(k.ed, input, sig)
	case ES256:
		var der [72]byte
		asn1Sig := rawToASN1(&der, sig)
		if asn1Sig == nil {
			return false
		}
		h := sha256.Sum256(input)
		return ecdsa.VerifyASN1(k.ec, h[:], asn1Sig)
	case RS256:
		h := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(k.rsa, crypto.SHA256, h[:], sig) == nil
	}
	return false
}

// rawToASN1 converts a 64-byte ES256 signature, R || S as fixed-size
// big-endian integers (RFC 7518 §3.4), into the ASN.1 DER
// SEQUENCE { r INTEGER, s INTEGER } that crypto/ecdsa verifies. It returns
// nil if R or S is zero.
func rawToASN1(dst *[72]byte, sig []byte) []byte {
	r, s := trimZeros(sig[:32]), trimZeros(sig[32:])
	if len(r) == 0 || len(s) == 0 {
		return nil
	}
	out := append(dst[:0], 0x30, 0)
	out = appendASN1Int(out, r)
	out = appendASN1Int(out, s)
	out[1] = byte(len(out) - 2) // at most 68, so the short length form
	return out
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// appendASN1Int appends a DER INTEGER holding the positive big-endian
// value v, which has no leading zero bytes.
func appendASN1Int(dst, v []byte) []byte {
	if v[0]&0x80 != 0 {
		return append(append(dst, 0x02, byte(len(v)+1), 0), v...)
	}
	return append(append(dst, 0x02, byte(len(v))), v...)
}

// PrivateKey is a signing key pinned to one algorithm and named by a key
// ID. Build one with GenerateKey, NewPrivateKey or ParsePrivate; store it
// with MarshalPrivate. The zero value signs nothing. A PrivateKey is safe
// for concurrent use. Its String and GoString methods print only the key
// ID and algorithm, so logging one does not leak key material.
type PrivateKey struct {
	pub PublicKey
	ed  ed25519.PrivateKey
	ec  *ecdsa.PrivateKey
	rsa *rsa.PrivateKey
}

// GenerateKey creates a new key for alg named kid: an Ed25519 key for
// EdDSA, a P-256 key for ES256, or a GenerateRSABits-bit RSA key for
// RS256. Randomness comes from crypto/rand.
func GenerateKey(alg Algorithm, kid string) (PrivateKey, error) {
	if err := checkAlg(alg); err != nil {
		return PrivateKey{}, err
	}
	if err := checkKeyID(kid); err != nil {
		return PrivateKey{}, err
	}
	var (
		key crypto.Signer
		err error
	)
	switch alg {
	case EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, GenerateRSABits)
	}
	if err != nil {
		return PrivateKey{}, fmt.Errorf("jose: generate %s key: %w", alg, err)
	}
	return NewPrivateKey(alg, kid, key)
}

// NewPrivateKey returns a PrivateKey for alg named kid. key must match
// alg: ed25519.PrivateKey for EdDSA, *ecdsa.PrivateKey on P-256 for ES256,
// and *rsa.PrivateKey of MinRSABits to MaxRSABits bits for RS256. The key
// is checked for internal consistency and then owned by the PrivateKey;
// the caller must not modify it afterwards.
func NewPrivateKey(alg Algorithm, kid string, key crypto.Signer) (PrivateKey, error) {
	if err := checkAlg(alg); err != nil {
		return PrivateKey{}, err
	}
	if key == nil {
		return PrivateKey{}, fmt.Errorf("%w: nil key", ErrInvalidKey)
	}
	var k PrivateKey
	switch alg {
	case EdDSA:
		priv, ok := key.(ed25519.PrivateKey)
		if !ok || len(priv) != ed25519.PrivateKeySize {
			return PrivateKey{}, fmt.Errorf("%w: EdDSA needs an ed25519.PrivateKey, got %T", ErrInvalidKey, key)
		}
		if !ed25519.NewKeyFromSeed(priv.Seed()).Equal(priv) {
			return PrivateKey{}, fmt.Errorf("%w: ed25519 public half does not match seed", ErrInvalidKey)
		}
		k.ed = priv
	case ES256:
		priv, ok := key.(*ecdsa.PrivateKey)
		if !ok || priv == nil {
			return PrivateKey{}, fmt.Errorf("%w: ES256 needs an *ecdsa.PrivateKey, got %T", ErrInvalidKey, key)
		}
		if priv.Curve != elliptic.P256() {
			return PrivateKey{}, fmt.Errorf("%w: ES256 needs a P-256 key", ErrInvalidKey)
		}
		k.ec = priv
	case RS256:
		priv, ok := key.(*rsa.PrivateKey)
		if !ok || priv == nil {
			return PrivateKey{}, fmt.Errorf("%w: RS256 needs an *rsa.PrivateKey, got %T", ErrInvalidKey, key)
		}
		if err := priv.Validate(); err != nil {
			return PrivateKey{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		k.rsa = priv
	}
	pub, err := NewPublicKey(alg, kid, key.Public())
	if err != nil {
		return PrivateKey{}, err
	}
	k.pub = pub
	return k, nil
}

// Public returns the verification key for k, with the same key ID and
// algorithm.
func (k PrivateKey) Public() PublicKey { return k.pub }

// KeyID returns the key's "kid".
func (k PrivateKey) KeyID() string { return k.pub.kid }

// Algorithm returns the one algorithm this key signs with.
func (k PrivateKey) Algorithm() Algorithm { return k.pub.alg }

// IsZero reports whether k is the zero PrivateKey, which signs nothing.
func (k PrivateKey) IsZero() bool { return k.pub.alg == "" }

// String describes the key by key ID and algorithm only.
func (k PrivateKey) String() string {
	return fmt.Sprintf("jose.PrivateKey{kid: %q, alg: %s}", k.pub.kid, k.pub.alg)
}

// GoString is String, so %#v does not print key material either.
func (k PrivateKey) GoString() string { return k.String() }

// signer returns the crypto.Signer behind k.
func (k PrivateKey) signer() crypto.Signer {
	switch k.pub.alg {
	case EdDSA:
		return k.ed
	case ES256:
		return k.ec
	case RS256:
		return k.rsa
	}
	return nil
}

// sign signs input with the key's algorithm and returns the JWS
// signature bytes (RFC 7518 §3.3, §3.4; RFC 8037 §3.1).
func (k PrivateKey) sign(input []byte) ([]byte, error) {
	switch k.pub.alg {
	case EdDSA:
		return ed25519.Sign(k.ed, input), nil
	case ES256:
		h := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, k.ec, h[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	case RS256:
		h := sha256.Sum256(input)
		return rsa.SignPKCS1v15(nil, k.rsa, crypto.SHA256, h[:])
	}
	return nil, fmt.Errorf("%w: zero PrivateKey", ErrInvalidKey)
}

// checkKeyID accepts key IDs of 1 to MaxKeyIDLen bytes of UTF-8 text
// without control characters.
func checkKeyID(kid string) error {
	if kid == "" {
		return fmt.Errorf("%w: empty kid", ErrInvalidKey)
	}
	if len(kid) > MaxKeyIDLen {
		return fmt.Errorf("%w: kid longer than %d bytes", ErrInvalidKey, MaxKeyIDLen)
	}
	if !utf8.ValidString(kid) {
		return fmt.Errorf("%w: kid is not UTF-8", ErrInvalidKey)
	}
	for _, r := range kid {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: kid has a control character", ErrInvalidKey)
		}
	}
	return nil
}

// checkRSA enforces the RSA key policy: a modulus of MinRSABits to
// MaxRSABits bits that is odd, and an odd public exponent of at least
// 65537 that fits crypto/rsa (FIPS 186-4 Appendix B.3.1 requires
// e > 2^16).
func checkRSA(n *big.Int, e int) error {
	bits := n.BitLen()
	if bits < MinRSABits {
		return fmt.Errorf("%w: RSA modulus has %d bits, need at least %d", ErrWeakKey, bits, MinRSABits)
	}
	if bits > MaxRSABits {
		return fmt.Errorf("%w: RSA modulus has %d bits, at most %d allowed", ErrInvalidKey, bits, MaxRSABits)
	}
	if n.Bit(0) == 0 {
		return fmt.Errorf("%w: RSA modulus is even", ErrInvalidKey)
	}
	if e < 65537 || e > 1<<31-1 || e%2 == 0 {
		return fmt.Errorf("%w: RSA public exponent %d not allowed", ErrWeakKey, e)
	}
	return nil
}
