package jose

import "fmt"

// Algorithm is a JWS "alg" value (RFC 7515 §4.1.1). Only the constants
// below exist in this package; any other value is rejected wherever an
// Algorithm is accepted.
type Algorithm string

// The supported algorithms. EdDSA is Gatehouse's default.
const (
	// EdDSA is Ed25519 signing as registered by RFC 8037 §3.1.
	EdDSA Algorithm = "EdDSA"
	// ES256 is ECDSA on P-256 with SHA-256 (RFC 7518 §3.4). Signatures
	// are the 64-byte R || S concatenation, not ASN.1.
	ES256 Algorithm = "ES256"
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), with keys
	// of at least 2048 bits.
	RS256 Algorithm = "RS256"
)

// DefaultAlgorithm is the algorithm Gatehouse signs with unless configured
// otherwise.
const DefaultAlgorithm = EdDSA

// Valid reports whether a is one of the supported algorithms. The
// comparison is exact and case-sensitive (RFC 7515 §4.1.1), so "none",
// "None", "eddsa" and "" are all invalid.
func (a Algorithm) Valid() bool {
	switch a {
	case EdDSA, ES256, RS256:
		return true
	}
	return false
}

// String returns the "alg" value.
func (a Algorithm) String() string { return string(a) }

// checkAlg returns nil if a is supported and an ErrUnsupportedAlg error
// otherwise.
func checkAlg(a Algorithm) error {
	if a.Valid() {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnsupportedAlg, clip(string(a)))
}

// algFromBytes maps an "alg" value to an Algorithm without allocating.
func algFromBytes(b []byte) (Algorithm, bool) {
	switch string(b) {
	case string(EdDSA):
		return EdDSA, true
	case string(ES256):
		return ES256, true
	case string(RS256):
		return RS256, true
	}
	return "", false
}

// clip shortens attacker-controlled text before it goes into an error.
func clip(s string) string {
	const max = 32
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
