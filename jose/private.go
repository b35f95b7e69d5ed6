package jose

import (
	"crypto"
	"crypto/x509"
	"fmt"
)

// MarshalPrivate returns k's private key as unencrypted PKCS #8 DER
// (RFC 5208), for storage at rest. The bytes are secret: the caller must
// encrypt them (Gatehouse seals them with AES-GCM) and keep the key ID and
// algorithm alongside, since PKCS #8 holds neither.
func MarshalPrivate(k PrivateKey) ([]byte, error) {
	s := k.signer()
	if s == nil {
		return nil, fmt.Errorf("%w: zero PrivateKey", ErrInvalidKey)
	}
	der, err := x509.MarshalPKCS8PrivateKey(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return der, nil
}

// ParsePrivate parses PKCS #8 DER written by MarshalPrivate into a
// PrivateKey for alg named kid. The key type must fit alg, and RSA keys
// must have at least 2048 bits, exactly as for NewPrivateKey.
func ParsePrivate(alg Algorithm, kid string, der []byte) (PrivateKey, error) {
	if err := checkAlg(alg); err != nil {
		return PrivateKey{}, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return PrivateKey{}, fmt.Errorf("%w: %T is not a signing key", ErrInvalidKey, key)
	}
	return NewPrivateKey(alg, kid, s)
}
