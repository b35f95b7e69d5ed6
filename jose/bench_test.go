package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// benchPayload is a typical Gatehouse access token claims set. With the
// header, the signing input is about 300 bytes.
const benchPayload = `{"iss":"https://auth.example.com","sub":"user-1234567890","aud":"https://api.example.com",` +
	`"exp":1900000000,"iat":1899996400,"jti":"0123456789abcdef0123456789abcdef","scope":"openid profile"}`

// benchFixture is a signed token and everything needed to verify it.
type benchFixture struct {
	token    string
	input    []byte // signing input
	sig      []byte // signature as in the token
	asn1Sig  []byte // ES256 signature in ASN.1, for the bare baseline
	priv     PrivateKey
	verifier *Verifier
}

func newBenchFixture(b *testing.B, alg Algorithm) benchFixture {
	b.Helper()
	priv, err := GenerateKey(alg, "key-2026-01")
	if err != nil {
		b.Fatal(err)
	}
	tok, err := Sign(priv, "at+jwt", []byte(benchPayload))
	if err != nil {
		b.Fatal(err)
	}
	set, err := NewJWKS(priv.Public())
	if err != nil {
		b.Fatal(err)
	}
	dot := strings.LastIndexByte(tok, '.')
	sig, err := decodeB64(nil, []byte(tok[dot+1:]))
	if err != nil {
		b.Fatal(err)
	}
	f := benchFixture{token: tok, input: []byte(tok[:dot]), sig: sig, priv: priv, verifier: &Verifier{Keys: set}}
	if alg == ES256 {
		f.asn1Sig, err = asn1.Marshal(struct{ R, S *big.Int }{
			new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return f
}

var benchAlgs = []Algorithm{EdDSA, ES256, RS256}

// BenchmarkVerify measures the whole verification path: size check,
// split, header decode, key lookup, signature, payload decode and
// ParseClaims. Compare with BenchmarkBareVerify.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			f := newBenchFixture(b, alg)
			b.ReportMetric(float64(len(f.input)), "input-bytes")
			b.ReportAllocs()
			for b.Loop() {
				tok, err := f.verifier.Verify(b.Context(), f.token)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ParseClaims(tok.Payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBareVerify measures only the signature check on the same
// signing input: ed25519.Verify (which hashes internally), and SHA-256
// plus ecdsa.VerifyASN1 or rsa.VerifyPKCS1v15.
func BenchmarkBareVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			f := newBenchFixture(b, alg)
			pub := f.priv.Public().CryptoKey()
			b.ReportMetric(float64(len(f.input)), "input-bytes")
			b.ReportAllocs()
			switch alg {
			case EdDSA:
				pub := pub.(ed25519.PublicKey)
				for b.Loop() {
					if !ed25519.Verify(pub, f.input, f.sig) {
						b.Fatal("bad signature")
					}
				}
			case ES256:
				pub := pub.(*ecdsa.PublicKey)
				for b.Loop() {
					h := sha256.Sum256(f.input)
					if !ecdsa.VerifyASN1(pub, h[:], f.asn1Sig) {
						b.Fatal("bad signature")
					}
				}
			case RS256:
				pub := pub.(*rsa.PublicKey)
				for b.Loop() {
					h := sha256.Sum256(f.input)
					if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], f.sig); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkSign measures Sign per algorithm.
func BenchmarkSign(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			f := newBenchFixture(b, alg)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Sign(f.priv, "at+jwt", []byte(benchPayload)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode compares the strict scanner with encoding/json for the
// header and the claims, the two JSON documents on the verify path.
func BenchmarkDecode(b *testing.B) {
	hdr := []byte(`{"alg":"EdDSA","kid":"key-2026-01","typ":"at+jwt"}`)
	b.Run("header/scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseHeader(hdr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("header/encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var h struct {
				Alg  string          `json:"alg"`
				Kid  string          `json:"kid"`
				Typ  string          `json:"typ"`
				Crit json.RawMessage `json:"crit"`
				Jku  json.RawMessage `json:"jku"`
				X5u  json.RawMessage `json:"x5u"`
				Jwk  json.RawMessage `json:"jwk"`
				X5c  json.RawMessage `json:"x5c"`
			}
			if err := json.Unmarshal(hdr, &h); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("claims/scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseClaims([]byte(benchPayload)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("claims/encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c jsonClaims
			if err := json.Unmarshal([]byte(benchPayload), &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// jsonClaims mirrors Claims for encoding/json, as golang-jwt and go-jose
// decode them.
type jsonClaims struct {
	Iss      *string         `json:"iss"`
	Sub      *string         `json:"sub"`
	Aud      json.RawMessage `json:"aud"`
	Exp      *float64        `json:"exp"`
	Nbf      *float64        `json:"nbf"`
	Iat      *float64        `json:"iat"`
	Jti      *string         `json:"jti"`
	Sid      *string         `json:"sid"`
	Scope    *string         `json:"scope"`
	ClientID *string         `json:"client_id"`
}
