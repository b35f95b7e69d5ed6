package jose

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"
)

// MaxJWKSKeys is the most keys ParseJWKS accepts in one set. It bounds the
// work a hostile or broken JWKS endpoint can cause.
const MaxJWKSKeys = 64

// MarshalJSON returns k as a public JWK (RFC 7517 §4) with its "kid",
// "alg" and "use":"sig". Members come in a fixed order: for EdDSA
// {"kty":"OKP","crv":"Ed25519","x",...} (RFC 8037 §2), for ES256
// {"kty":"EC","crv":"P-256","x","y",...} (RFC 7518 §6.2.1), for RS256
// {"kty":"RSA","n","e",...} (RFC 7518 §6.3.1).
func (k PublicKey) MarshalJSON() ([]byte, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("%w: zero PublicKey", ErrInvalidKey)
	}
	out := make([]byte, 0, 128+len(k.kid)+4*k.sigLen/3)
	out = k.appendMembers(out, false)
	out = append(out, `,"kid":`...)
	out = appendJSONString(out, k.kid)
	out = append(out, `,"alg":"`...)
	out = append(out, k.alg...)
	out = append(out, `","use":"sig"}`...)
	return out, nil
}

// appendMembers appends '{' and the key-type members of k. With sorted
// set, the members are the required ones in lexicographic order, as the
// JWK thumbprint needs (RFC 7638 §3.2); otherwise kty and crv come first.
func (k PublicKey) appendMembers(out []byte, sorted bool) []byte {
	str := func(out []byte, name, val string) []byte {
		out = append(out, '"')
		out = append(out, name...)
		out = append(out, `":"`...)
		out = append(out, val...)
		return append(out, '"')
	}
	b64 := func(out []byte, name string, val []byte) []byte {
		out = append(out, '"')
		out = append(out, name...)
		out = append(out, `":"`...)
		out = appendB64(out, val)
		return append(out, '"')
	}
	out = append(out, '{')
	switch k.alg {
	case EdDSA:
		if sorted {
			out = str(out, "crv", "Ed25519")
			out = append(out, ',')
			out = str(out, "kty", "OKP")
		} else {
			out = str(out, "kty", "OKP")
			out = append(out, ',')
			out = str(out, "crv", "Ed25519")
		}
		out = append(out, ',')
		out = b64(out, "x", k.ed)
	case ES256:
		raw, _ := k.ec.Bytes() // 0x04 || X || Y, validated on construction
		if sorted {
			out = str(out, "crv", "P-256")
			out = append(out, ',')
			out = str(out, "kty", "EC")
		} else {
			out = str(out, "kty", "EC")
			out = append(out, ',')
			out = str(out, "crv", "P-256")
		}
		out = append(out, ',')
		out = b64(out, "x", raw[1:33])
		out = append(out, ',')
		out = b64(out, "y", raw[33:65])
	case RS256:
		e := big.NewInt(int64(k.rsa.E)).Bytes()
		if sorted {
			out = b64(out, "e", e)
			out = append(out, ',')
			out = str(out, "kty", "RSA")
			out = append(out, ',')
			out = b64(out, "n", k.rsa.N.Bytes())
		} else {
			out = str(out, "kty", "RSA")
			out = append(out, ',')
			out = b64(out, "n", k.rsa.N.Bytes())
			out = append(out, ',')
			out = b64(out, "e", e)
		}
	}
	return out
}

// Thumbprint returns the RFC 7638 JWK thumbprint of k with SHA-256, in
// base64url: a stable name for the key material that does not depend on
// "kid" or "alg". It returns "" for the zero PublicKey.
func (k PublicKey) Thumbprint() string {
	if k.IsZero() {
		return ""
	}
	sum := sha256.Sum256(append(k.appendMembers(nil, true), '}'))
	return string(appendB64(nil, sum[:]))
}

// JWK members that parseJWK tracks.
const (
	jwkKty = 1 << iota
	jwkCrv
	jwkX
	jwkY
	jwkN
	jwkE
	jwkKid
	jwkAlg
	jwkUse
	jwkKeyOps
)

// jwkFields holds the raw members of one JWK while it is read.
type jwkFields struct {
	seen          int
	kty, crv      string
	kid, alg, use string
	x, y, n, e    []byte
	opsSeen       bool
}

// ParseJWK parses one public JWK (RFC 7517 §4) for use as a verification
// key. It requires "kid" and "alg", accepts "use" only if it is "sig" and
// "key_ops" only if it is ["verify"], and rejects:
//   - private or symmetric key members "d", "p", "q", "dp", "dq", "qi",
//     "oth", "k" (ErrPrivateKeyMember);
//   - a "kty"/"crv" other than OKP/Ed25519, EC/P-256 or RSA
//     (ErrUnsupportedKey), or one that does not fit "alg" (ErrInvalidKey);
//   - coordinates that are not exactly 32 bytes or not a point on P-256
//     (RFC 7518 §6.2.1.2), and RSA values with leading zero bytes
//     (RFC 7518 §2, §6.3.1.1) (ErrInvalidKey);
//   - RSA moduli under 2048 bits or exponents under 65537 (ErrWeakKey).
//
// Other members, such as "x5c" or "x5t", are ignored and never used.
func ParseJWK(data []byte) (PublicKey, error) {
	sc := scanner{data: data}
	k, err := parseJWK(&sc)
	if err != nil {
		return PublicKey{}, err
	}
	if err := sc.end(); err != nil {
		return PublicKey{}, fmt.Errorf("%w: jwk: trailing data", ErrMalformed)
	}
	return k, nil
}

// parseJWK reads one JWK object from sc.
func parseJWK(sc *scanner) (PublicKey, error) {
	var f jwkFields
	if err := sc.expect('{'); err != nil {
		return PublicKey{}, fmt.Errorf("%w: jwk is not a JSON object", ErrMalformed)
	}
	first := true
	for {
		name, ok, err := sc.member(&first)
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: jwk: %w", ErrMalformed, err)
		}
		if !ok {
			break
		}
		var bit int
		switch string(name) {
		case "kty":
			bit = jwkKty
		case "crv":
			bit = jwkCrv
		case "x":
			bit = jwkX
		case "y":
			bit = jwkY
		case "n":
			bit = jwkN
		case "e":
			bit = jwkE
		case "kid":
			bit = jwkKid
		case "alg":
			bit = jwkAlg
		case "use":
			bit = jwkUse
		case "key_ops":
			bit = jwkKeyOps
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			return PublicKey{}, fmt.Errorf("%w: member %q", ErrPrivateKeyMember, name)
		default:
			if err := sc.skip(0); err != nil {
				return PublicKey{}, fmt.Errorf("%w: jwk: %w", ErrMalformed, err)
			}
			continue
		}
		if f.seen&bit != 0 {
			return PublicKey{}, fmt.Errorf("%w: jwk: duplicate %q", ErrMalformed, name)
		}
		f.seen |= bit
		if bit == jwkKeyOps {
			if err := f.readKeyOps(sc); err != nil {
				return PublicKey{}, err
			}
			continue
		}
		val, err := sc.str()
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: jwk: %s is not a string", ErrMalformed, jwkName(bit))
		}
		switch bit {
		case jwkKty:
			f.kty = string(val)
		case jwkCrv:
			f.crv = string(val)
		case jwkKid:
			f.kid = string(val)
		case jwkAlg:
			f.alg = string(val)
		case jwkUse:
			f.use = string(val)
		default:
			dec, err := decodeB64(nil, val)
			if err != nil {
				return PublicKey{}, fmt.Errorf("jwk: %s: %w", jwkName(bit), err)
			}
			switch bit {
			case jwkX:
				f.x = dec
			case jwkY:
				f.y = dec
			case jwkN:
				f.n = dec
			case jwkE:
				f.e = dec
			}
		}
	}
	return f.key()
}

// readKeyOps reads "key_ops" (RFC 7517 §4.3), which must be an array
// holding "verify" and nothing else.
func (f *jwkFields) readKeyOps(sc *scanner) error {
	if err := sc.expect('['); err != nil {
		return fmt.Errorf("%w: jwk: key_ops is not an array", ErrMalformed)
	}
	first := true
	for {
		ok, err := sc.next(&first)
		if err != nil {
			return fmt.Errorf("%w: jwk: %w", ErrMalformed, err)
		}
		if !ok {
			break
		}
		op, err := sc.str()
		if err != nil {
			return fmt.Errorf("%w: jwk: key_ops holds a non-string", ErrMalformed)
		}
		if string(op) != "verify" {
			return fmt.Errorf("%w: key_ops %q", ErrUnsupportedKey, clip(string(op)))
		}
		f.opsSeen = true
	}
	if !f.opsSeen {
		return fmt.Errorf("%w: empty key_ops", ErrUnsupportedKey)
	}
	return nil
}

// key checks the collected members and builds the PublicKey.
func (f *jwkFields) key() (PublicKey, error) {
	if f.seen&jwkKty == 0 {
		return PublicKey{}, fmt.Errorf("%w: jwk has no kty", ErrMalformed)
	}
	if f.seen&jwkKid == 0 {
		return PublicKey{}, fmt.Errorf("%w: jwk has no kid", ErrInvalidKey)
	}
	if f.seen&jwkAlg == 0 {
		return PublicKey{}, fmt.Errorf("%w: jwk %q has no alg", ErrInvalidKey, clip(f.kid))
	}
	if f.seen&jwkUse != 0 && f.use != "sig" {
		return PublicKey{}, fmt.Errorf("%w: use %q", ErrUnsupportedKey, clip(f.use))
	}
	alg := Algorithm(f.alg)
	if err := checkAlg(alg); err != nil {
		return PublicKey{}, err
	}
	// Members that do not belong to the key type.
	var want, allowed int
	switch f.kty {
	case "OKP":
		if f.crv != "Ed25519" {
			return PublicKey{}, fmt.Errorf("%w: OKP crv %q", ErrUnsupportedKey, clip(f.crv))
		}
		want, allowed = jwkX, jwkX|jwkCrv
	case "EC":
		if f.crv != "P-256" {
			return PublicKey{}, fmt.Errorf("%w: EC crv %q", ErrUnsupportedKey, clip(f.crv))
		}
		want, allowed = jwkX|jwkY, jwkX|jwkY|jwkCrv
	case "RSA":
		want, allowed = jwkN|jwkE, jwkN|jwkE
	default:
		return PublicKey{}, fmt.Errorf("%w: kty %q", ErrUnsupportedKey, clip(f.kty))
	}
	const keyMembers = jwkCrv | jwkX | jwkY | jwkN | jwkE
	if f.seen&want != want {
		return PublicKey{}, fmt.Errorf("%w: %s jwk is missing key members", ErrInvalidKey, f.kty)
	}
	if f.seen&keyMembers&^allowed != 0 {
		return PublicKey{}, fmt.Errorf("%w: %s jwk has members of another key type", ErrInvalidKey, f.kty)
	}

	var key any
	switch f.kty {
	case "OKP":
		if alg != EdDSA {
			return PublicKey{}, fmt.Errorf("%w: alg %s does not fit an Ed25519 key", ErrInvalidKey, alg)
		}
		if len(f.x) != ed25519.PublicKeySize {
			return PublicKey{}, fmt.Errorf("%w: Ed25519 x is %d bytes", ErrInvalidKey, len(f.x))
		}
		key = ed25519.PublicKey(f.x)
	case "EC":
		if alg != ES256 {
			return PublicKey{}, fmt.Errorf("%w: alg %s does not fit a P-256 key", ErrInvalidKey, alg)
		}
		if len(f.x) != 32 || len(f.y) != 32 {
			return PublicKey{}, fmt.Errorf("%w: P-256 coordinates must be 32 bytes", ErrInvalidKey)
		}
		raw := make([]byte, 0, 65)
		raw = append(append(append(raw, 4), f.x...), f.y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		key = pub
	case "RSA":
		if alg != RS256 {
			return PublicKey{}, fmt.Errorf("%w: alg %s does not fit an RSA key", ErrInvalidKey, alg)
		}
		if len(f.n) == 0 || f.n[0] == 0 || len(f.e) == 0 || f.e[0] == 0 {
			return PublicKey{}, fmt.Errorf("%w: RSA n and e must be minimal-length unsigned integers", ErrInvalidKey)
		}
		if len(f.e) > 4 {
			return PublicKey{}, fmt.Errorf("%w: RSA exponent too large", ErrWeakKey)
		}
		e := 0
		for _, b := range f.e {
			e = e<<8 | int(b)
		}
		key = &rsa.PublicKey{N: new(big.Int).SetBytes(f.n), E: e}
	}
	return NewPublicKey(alg, f.kid, key)
}

func jwkName(bit int) string {
	switch bit {
	case jwkKty:
		return "kty"
	case jwkCrv:
		return "crv"
	case jwkX:
		return "x"
	case jwkY:
		return "y"
	case jwkN:
		return "n"
	case jwkE:
		return "e"
	case jwkKid:
		return "kid"
	case jwkAlg:
		return "alg"
	case jwkUse:
		return "use"
	}
	return "key_ops"
}

// JWKS is an immutable set of public keys with distinct key IDs (RFC 7517
// §5). It implements KeySet, and marshals to the JSON document a server
// publishes at its jwks_uri. The nil *JWKS is an empty set.
type JWKS struct {
	keys  []PublicKey
	index map[string]int
}

var _ KeySet = (*JWKS)(nil)

// NewJWKS returns a set holding keys, in order. It rejects zero keys and
// repeated key IDs.
func NewJWKS(keys ...PublicKey) (*JWKS, error) {
	s := &JWKS{keys: make([]PublicKey, 0, len(keys)), index: make(map[string]int, len(keys))}
	for _, k := range keys {
		if k.IsZero() {
			return nil, fmt.Errorf("%w: zero PublicKey in set", ErrInvalidKey)
		}
		if _, dup := s.index[k.kid]; dup {
			return nil, fmt.Errorf("%w: duplicate kid %q", ErrInvalidKey, clip(k.kid))
		}
		s.index[k.kid] = len(s.keys)
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// ParseJWKS parses a JWK Set document {"keys":[...]} (RFC 7517 §5). Each
// key must pass ParseJWK; one bad key rejects the whole set, as do
// repeated key IDs and more than MaxJWKSKeys keys. Members other than
// "keys" are ignored. An empty "keys" array gives an empty set.
func ParseJWKS(data []byte) (*JWKS, error) {
	sc := scanner{data: data}
	if err := sc.expect('{'); err != nil {
		return nil, fmt.Errorf("%w: jwks is not a JSON object", ErrMalformed)
	}
	var (
		keys     []PublicKey
		seenKeys bool
		first    = true
	)
	for {
		name, ok, err := sc.member(&first)
		if err != nil {
			return nil, fmt.Errorf("%w: jwks: %w", ErrMalformed, err)
		}
		if !ok {
			break
		}
		if string(name) != "keys" {
			if err := sc.skip(0); err != nil {
				return nil, fmt.Errorf("%w: jwks: %w", ErrMalformed, err)
			}
			continue
		}
		if seenKeys {
			return nil, fmt.Errorf("%w: jwks: duplicate \"keys\"", ErrMalformed)
		}
		seenKeys = true
		if err := sc.expect('['); err != nil {
			return nil, fmt.Errorf("%w: jwks: keys is not an array", ErrMalformed)
		}
		firstKey := true
		for {
			ok, err := sc.next(&firstKey)
			if err != nil {
				return nil, fmt.Errorf("%w: jwks: %w", ErrMalformed, err)
			}
			if !ok {
				break
			}
			if len(keys) == MaxJWKSKeys {
				return nil, fmt.Errorf("%w: jwks has more than %d keys", ErrMalformed, MaxJWKSKeys)
			}
			k, err := parseJWK(&sc)
			if err != nil {
				return nil, fmt.Errorf("jwks key %d: %w", len(keys), err)
			}
			keys = append(keys, k)
		}
	}
	if err := sc.end(); err != nil {
		return nil, fmt.Errorf("%w: jwks: trailing data", ErrMalformed)
	}
	if !seenKeys {
		return nil, fmt.Errorf("%w: jwks has no \"keys\" member", ErrMalformed)
	}
	return NewJWKS(keys...)
}

// Key returns the key named kid. For an empty kid it returns the only key
// of a one-key set, and false otherwise (see KeySet). The set is in
// memory: ctx is not used.
func (s *JWKS) Key(_ context.Context, kid string) (PublicKey, bool) {
	if s == nil {
		return PublicKey{}, false
	}
	if kid == "" {
		if len(s.keys) == 1 {
			return s.keys[0], true
		}
		return PublicKey{}, false
	}
	i, ok := s.index[kid]
	if !ok {
		return PublicKey{}, false
	}
	return s.keys[i], true
}

// Keys returns a copy of the set's keys, in order.
func (s *JWKS) Keys() []PublicKey {
	if s == nil {
		return nil
	}
	return append([]PublicKey(nil), s.keys...)
}

// Len returns the number of keys in the set.
func (s *JWKS) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// MarshalJSON returns the set as a JWK Set document, {"keys":[...]},
// with the keys in order, each as PublicKey.MarshalJSON writes it.
func (s *JWKS) MarshalJSON() ([]byte, error) {
	out := []byte(`{"keys":[`)
	for i, k := range s.Keys() {
		if i > 0 {
			out = append(out, ',')
		}
		b, err := k.MarshalJSON()
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return append(out, "]}"...), nil
}
