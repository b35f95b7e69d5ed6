package jose

import "errors"

// Errors returned by this package. They are categories: a returned error
// wraps one of them with %w (and sometimes a cause), so callers test with
// errors.Is. Error texts may quote short pieces of the input; they are for
// logs, not for clients.
var (
	// ErrMalformed reports a token, header, claims set or JWK that is not
	// well-formed: wrong number of segments, invalid or non-canonical
	// base64url (RFC 7515 §2), invalid JSON, duplicate members, or a
	// member of the wrong type.
	ErrMalformed = errors.New("jose: malformed input")
	// ErrTooLarge reports a token longer than the verifier's limit.
	ErrTooLarge = errors.New("jose: token too large")
	// ErrUnsupportedAlg reports an "alg" other than EdDSA, ES256 or
	// RS256, including "none" in every spelling (RFC 8725 §3.1, §3.2).
	ErrUnsupportedAlg = errors.New("jose: unsupported algorithm")
	// ErrAlgMismatch reports a token whose "alg" is not the algorithm of
	// the key that verifies it (RFC 8725 §3.1).
	ErrAlgMismatch = errors.New("jose: algorithm does not match key")
	// ErrUnknownKey reports a "kid" the key set does not hold, or a token
	// without "kid" checked against a set that does not hold exactly one
	// key.
	ErrUnknownKey = errors.New("jose: unknown key")
	// ErrBadSignature reports a signature that does not verify.
	ErrBadSignature = errors.New("jose: signature verification failed")
	// ErrCritUnsupported reports a "crit" header parameter; this package
	// understands no extensions, so any "crit" is rejected (RFC 7515
	// §4.1.11).
	ErrCritUnsupported = errors.New("jose: critical header extension not supported")
	// ErrForbiddenHeader reports a "jku", "x5u", "jwk" or "x5c" header
	// parameter. Keys are chosen by the verifier, never by the token
	// (RFC 8725 §3.10).
	ErrForbiddenHeader = errors.New("jose: forbidden header parameter")
	// ErrInvalidKey reports key material that cannot be used: a missing
	// or unusable "kid", a key type that does not fit its algorithm, an EC
	// point not on P-256, wrong lengths, or a zero-value key.
	ErrInvalidKey = errors.New("jose: invalid key")
	// ErrWeakKey reports an RSA key shorter than 2048 bits (RFC 7518
	// §3.3) or with an unsafe public exponent.
	ErrWeakKey = errors.New("jose: key too weak")
	// ErrUnsupportedKey reports a JWK "kty" or "crv" this package does
	// not support, or a key "use" other than "sig".
	ErrUnsupportedKey = errors.New("jose: unsupported key type")
	// ErrPrivateKeyMember reports a JWK that carries private key members
	// ("d", "p", "q", "dp", "dq", "qi", "oth") or a symmetric key ("k")
	// where only public keys are expected.
	ErrPrivateKeyMember = errors.New("jose: private key material in public JWK")
)
