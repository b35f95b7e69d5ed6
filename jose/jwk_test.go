package jose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

func TestJWKMarshal(t *testing.T) {
	key, err := ParseJWK([]byte(rfc8037JWK))
	if err != nil {
		t.Fatal(err)
	}
	got, err := key.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","kid":"rfc8037","alg":"EdDSA","use":"sig"}`
	if string(got) != want {
		t.Errorf("MarshalJSON = %s\nwant %s", got, want)
	}
	ec, _ := ParseJWK([]byte(rfc7515A3JWK))
	got, _ = ec.MarshalJSON()
	want = `{"kty":"EC","crv":"P-256","x":"` + rfc7515A3X + `","y":"` + rfc7515A3Y + `","kid":"e9bc097a-ce51-4036-9562-d2ade882db0d","alg":"ES256","use":"sig"}`
	if string(got) != want {
		t.Errorf("MarshalJSON = %s\nwant %s", got, want)
	}
	rs, _ := ParseJWK([]byte(rfc7515A2JWK))
	got, _ = rs.MarshalJSON()
	want = `{"kty":"RSA","n":"` + rfc7515A2N + `","e":"AQAB","kid":"2010-12-29","alg":"RS256","use":"sig"}`
	if string(got) != want {
		t.Errorf("MarshalJSON = %s\nwant %s", got, want)
	}
	if _, err := (PublicKey{}).MarshalJSON(); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("zero key MarshalJSON err = %v", err)
	}
	set, _ := NewJWKS(key, ec, rs)
	doc, _ := set.MarshalJSON()
	if !strings.HasPrefix(string(doc), `{"keys":[{"kty":"OKP"`) || !strings.HasSuffix(string(doc), `"use":"sig"}]}`) {
		t.Errorf("JWKS document = %s", doc)
	}
	empty, _ := NewJWKS()
	if doc, _ := empty.MarshalJSON(); string(doc) != `{"keys":[]}` {
		t.Errorf("empty JWKS = %s", doc)
	}
}

// jwkWith returns the RFC 8037 JWK with extra members spliced in after
// the opening brace, and the listed members removed.
func jwkWith(base, extra string, drop ...string) string {
	s := base
	for _, m := range drop {
		i := strings.Index(s, `"`+m+`":`)
		j := strings.IndexAny(s[i:], ",}")
		if s[i+j] == ',' {
			j++
		}
		s = s[:i] + s[i+j:]
		s = strings.Replace(s, ",}", "}", 1)
	}
	if extra != "" {
		s = "{" + extra + "," + s[1:]
	}
	return s
}

func rsaJWK(t testing.TB, bits, e int) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`{"kty":"RSA","n":"%s","e":"%s","kid":"r","alg":"RS256"}`,
		appendB64(nil, k.N.Bytes()), appendB64(nil, big.NewInt(int64(e)).Bytes()))
}

func TestParseJWK(t *testing.T) {
	rsa1024 := rsaJWK(t, 1024, 65537)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384raw, _ := p384.PublicKey.Bytes()
	p384JWK := fmt.Sprintf(`{"kty":"EC","crv":"P-384","x":"%s","y":"%s","kid":"e","alg":"ES256"}`,
		appendB64(nil, p384raw[1:49]), appendB64(nil, p384raw[49:]))
	offCurveY := []byte(rfc7515A3Y)
	offCurveY[0] = 'y'
	rfcN, _ := decodeB64(nil, []byte(rfc7515A2N))

	tests := []struct {
		name string
		jwk  string
		want error // nil means accepted
	}{
		{"Ed25519", rfc8037JWK, nil},
		{"P-256", rfc7515A3JWK, nil},
		{"RSA", rfc7515A2JWK, nil},
		{"use sig", jwkWith(rfc8037JWK, `"use":"sig"`), nil},
		{"key_ops verify", jwkWith(rfc8037JWK, `"key_ops":["verify"]`), nil},
		{"unknown members ignored", jwkWith(rfc8037JWK, `"x5t":"abc","x5c":["MIIB"],"ext":true,"D":"upper case is not d"`), nil},

		{"no kid", jwkWith(rfc8037JWK, "", "kid"), ErrInvalidKey},
		{"empty kid", jwkWith(rfc8037JWK, `"kid":""`, "kid"), ErrInvalidKey},
		{"kid control character", jwkWith(rfc8037JWK, `"kid":"a\nb"`, "kid"), ErrInvalidKey},
		{"no alg", jwkWith(rfc8037JWK, "", "alg"), ErrInvalidKey},
		{"alg none", jwkWith(rfc8037JWK, `"alg":"none"`, "alg"), ErrUnsupportedAlg},
		{"alg HS256", jwkWith(rfc8037JWK, `"alg":"HS256"`, "alg"), ErrUnsupportedAlg},
		{"alg Ed25519", jwkWith(rfc8037JWK, `"alg":"Ed25519"`, "alg"), ErrUnsupportedAlg},
		{"alg of another key type", jwkWith(rfc8037JWK, `"alg":"ES256"`, "alg"), ErrInvalidKey},
		{"RSA with alg EdDSA", jwkWith(rfc7515A2JWK, `"alg":"EdDSA"`, "alg"), ErrInvalidKey},
		{"use enc", jwkWith(rfc8037JWK, `"use":"enc"`), ErrUnsupportedKey},
		{"key_ops sign", jwkWith(rfc8037JWK, `"key_ops":["sign","verify"]`), ErrUnsupportedKey},
		{"key_ops empty", jwkWith(rfc8037JWK, `"key_ops":[]`), ErrUnsupportedKey},
		{"key_ops not array", jwkWith(rfc8037JWK, `"key_ops":"verify"`), ErrMalformed},

		{"private d", jwkWith(rfc8037JWK, `"d":"`+rfc8037D+`"`), ErrPrivateKeyMember},
		{"private p", jwkWith(rfc7515A2JWK, `"p":"AQAB"`), ErrPrivateKeyMember},
		{"private q", jwkWith(rfc7515A2JWK, `"q":"AQAB"`), ErrPrivateKeyMember},
		{"private dp", jwkWith(rfc7515A2JWK, `"dp":"AQAB"`), ErrPrivateKeyMember},
		{"private dq", jwkWith(rfc7515A2JWK, `"dq":"AQAB"`), ErrPrivateKeyMember},
		{"private qi", jwkWith(rfc7515A2JWK, `"qi":"AQAB"`), ErrPrivateKeyMember},
		{"private oth", jwkWith(rfc7515A2JWK, `"oth":[]`), ErrPrivateKeyMember},
		{"private d null", jwkWith(rfc8037JWK, `"d":null`), ErrPrivateKeyMember},
		{"symmetric oct", `{"kty":"oct","k":"c2VjcmV0","kid":"s","alg":"HS256"}`, ErrPrivateKeyMember},

		{"no kty", jwkWith(rfc8037JWK, "", "kty"), ErrMalformed},
		{"kty oct", `{"kty":"oct","kid":"s","alg":"EdDSA"}`, ErrUnsupportedKey},
		{"kty lowercase", jwkWith(rfc8037JWK, `"kty":"okp"`, "kty"), ErrUnsupportedKey},
		{"crv X25519", jwkWith(rfc8037JWK, `"crv":"X25519"`, "crv"), ErrUnsupportedKey},
		{"crv Ed448", jwkWith(rfc8037JWK, `"crv":"Ed448"`, "crv"), ErrUnsupportedKey},
		{"OKP no crv", jwkWith(rfc8037JWK, "", "crv"), ErrUnsupportedKey},
		{"crv P-384", p384JWK, ErrUnsupportedKey},
		{"crv secp256k1", jwkWith(rfc7515A3JWK, `"crv":"secp256k1"`, "crv"), ErrUnsupportedKey},
		{"OKP with y", jwkWith(rfc8037JWK, `"y":"`+rfc7515A3Y+`"`), ErrInvalidKey},
		{"EC with n", jwkWith(rfc7515A3JWK, `"n":"AQAB"`), ErrInvalidKey},
		{"Ed25519 x short", jwkWith(rfc8037JWK, `"x":"AAAA"`, "x"), ErrInvalidKey},
		{"Ed25519 no x", jwkWith(rfc8037JWK, "", "x"), ErrInvalidKey},
		{"EC no y", jwkWith(rfc7515A3JWK, "", "y"), ErrInvalidKey},
		{"EC point off curve", jwkWith(rfc7515A3JWK, `"y":"`+string(offCurveY)+`"`, "y"), ErrInvalidKey},
		{"EC zero point", jwkWith(rfc7515A3JWK, `"x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`, "x", "y"), ErrInvalidKey},
		{"EC x 33 bytes", jwkWith(rfc7515A3JWK, `"x":"AH_Nzidw9sRdQYPL7m_bS3tYBzM1e-nvE7rPbjx70VRF"`, "x"), ErrInvalidKey},
		{"RSA 1024 bits", rsa1024, ErrWeakKey},
		{"RSA e=3", jwkWith(rfc7515A2JWK, `"e":"Aw"`, "e"), ErrWeakKey},
		{"RSA e=65536", jwkWith(rfc7515A2JWK, `"e":"AQAA"`, "e"), ErrWeakKey},
		{"RSA e 5 bytes", jwkWith(rfc7515A2JWK, `"e":"AQAAAAE"`, "e"), ErrWeakKey},
		{"RSA e leading zero", jwkWith(rfc7515A2JWK, `"e":"AAEAAQ"`, "e"), ErrInvalidKey},
		{"RSA n leading zero", jwkWith(rfc7515A2JWK, `"n":"`+string(appendB64(nil, append([]byte{0}, rfcN...)))+`"`, "n"), ErrInvalidKey},
		{"RSA n even", jwkWith(rfc7515A2JWK, `"n":"`+string(appendB64(nil, append(append([]byte{}, rfcN[:len(rfcN)-1]...), rfcN[len(rfcN)-1]&^1)))+`"`, "n"), ErrInvalidKey},
		{"RSA no e", jwkWith(rfc7515A2JWK, "", "e"), ErrInvalidKey},

		{"x padded", jwkWith(rfc8037JWK, `"x":"`+rfc8037X+`="`, "x"), ErrMalformed},
		{"x standard alphabet", jwkWith(rfc8037JWK, `"x":"`+strings.NewReplacer("_", "/", "-", "+").Replace(rfc8037X)+`"`, "x"), ErrMalformed},
		{"x non-canonical", jwkWith(rfc8037JWK, `"x":"`+rfc8037X[:len(rfc8037X)-1]+nonCanonical(rfc8037X)+`"`, "x"), ErrMalformed},
		{"x with line break", jwkWith(rfc8037JWK, `"x":"`+rfc8037X[:10]+`\n`+rfc8037X[10:]+`"`, "x"), ErrMalformed},
		{"x not a string", jwkWith(rfc8037JWK, `"x":1`, "x"), ErrMalformed},
		{"duplicate kid", jwkWith(rfc8037JWK, `"kid":"other"`), ErrMalformed},
		{"duplicate x", jwkWith(rfc8037JWK, `"x":"`+rfc8037X+`"`), ErrMalformed},
		{"not an object", `[` + rfc8037JWK + `]`, ErrMalformed},
		{"trailing data", rfc8037JWK + `{}`, ErrMalformed},
		{"empty", ``, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseJWK([]byte(tt.jwk))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ParseJWK(%s): %v", tt.jwk, err)
				}
				if k.IsZero() {
					t.Fatal("zero key")
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseJWK(%s) err = %v, want %v", tt.jwk, err, tt.want)
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	three := `{"keys":[` + rfc8037JWK + `,` + rfc7515A2JWK + `,` + rfc7515A3JWK + `]}`
	set, err := ParseJWKS([]byte(three))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 3 {
		t.Fatalf("Len = %d", set.Len())
	}
	if k, ok := set.Key(t.Context(), "2010-12-29"); !ok || k.Algorithm() != RS256 {
		t.Errorf("Key(2010-12-29) = %v, %v", k.Algorithm(), ok)
	}
	if _, ok := set.Key(t.Context(), ""); ok {
		t.Errorf("Key(\"\") found a key in a three-key set")
	}
	if _, ok := set.Key(t.Context(), "missing"); ok {
		t.Errorf("Key(missing) found a key")
	}
	keys := set.Keys()
	keys[0] = PublicKey{}
	if k, _ := set.Key(t.Context(), "rfc8037"); k.IsZero() {
		t.Errorf("Keys returned the set's own slice")
	}

	many := `{"keys":[` + strings.Repeat(rfc8037JWK+",", MaxJWKSKeys) + rfc8037JWK + `]}`
	tests := []struct {
		name string
		doc  string
		want error
		n    int
	}{
		{"empty keys", `{"keys":[]}`, nil, 0},
		{"other members ignored", `{"x":{"keys":1},"keys":[` + rfc8037JWK + `],"y":null}`, nil, 1},
		{"duplicate kid", `{"keys":[` + rfc8037JWK + `,` + rfc8037JWK + `]}`, ErrInvalidKey, 0},
		{"one private key", `{"keys":[` + rfc8037JWK + `,` + jwkWith(rfc7515A3JWK, `"d":"`+rfc7515A3D+`"`) + `]}`, ErrPrivateKeyMember, 0},
		{"one unsupported key", `{"keys":[` + rfc8037JWK + `,{"kty":"oct","kid":"s","alg":"EdDSA"}]}`, ErrUnsupportedKey, 0},
		{"one key without alg", `{"keys":[` + rfc8037JWK + `,` + jwkWith(rfc7515A3JWK, "", "alg") + `]}`, ErrInvalidKey, 0},
		{"too many keys", many, ErrMalformed, 0},
		{"no keys member", `{}`, ErrMalformed, 0},
		{"keys null", `{"keys":null}`, ErrMalformed, 0},
		{"keys object", `{"keys":` + rfc8037JWK + `}`, ErrMalformed, 0},
		{"duplicate keys member", `{"keys":[],"keys":[]}`, ErrMalformed, 0},
		{"key not object", `{"keys":["x"]}`, ErrMalformed, 0},
		{"trailing comma", `{"keys":[` + rfc8037JWK + `,]}`, ErrMalformed, 0},
		{"array", `[]`, ErrMalformed, 0},
		{"trailing data", `{"keys":[]} x`, ErrMalformed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseJWKS([]byte(tt.doc))
			if tt.want == nil {
				if err != nil || s.Len() != tt.n {
					t.Fatalf("ParseJWKS = %d keys, %v; want %d", s.Len(), err, tt.n)
				}
				return
			}
			if !errors.Is(err, tt.want) || s != nil {
				t.Fatalf("ParseJWKS err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewJWKS(t *testing.T) {
	k := testKeys(t)[EdDSA].Public()
	if _, err := NewJWKS(k, k); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("duplicate: err = %v", err)
	}
	if _, err := NewJWKS(PublicKey{}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("zero key: err = %v", err)
	}
	var nilSet *JWKS
	if nilSet.Len() != 0 || nilSet.Keys() != nil {
		t.Errorf("nil set is not empty")
	}
	if _, ok := nilSet.Key(t.Context(), ""); ok {
		t.Errorf("nil set found a key")
	}
}
