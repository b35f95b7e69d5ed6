package verifier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// benchClaims is a typical Gatehouse access token's claims set: what the
// server mints for a first-party login, with one custom claim.
func benchClaims(iss string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "sub": "c8b7c922fcb8a280b03b999250e2e388", "aud": testAudience,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
		"jti": "251aeecb8bb50422985f37e962dc7036", "sid": "df11472d613bcc8d0d06e32a1e6d29d3",
		"scope": "openid profile", "tenant": "acme",
	}
}

// benchFixture is a verifier with a token to check, and the pieces of
// the same token for the bare signature check.
type benchFixture struct {
	v     *Verifier
	token string
	input []byte // signing input
	sig   []byte // JWS signature (R || S for ES256)
	der   []byte // ES256 signature in ASN.1 DER
	key   crypto.PublicKey
}

func newBenchFixture(b *testing.B, alg jose.Algorithm) benchFixture {
	b.Helper()
	f := newFakeIssuer(b, alg)
	c := clocktest.New(t0)
	// A realistic revocation set: a hundred live events, none about this
	// token, so every lookup does its map reads.
	for i := range 100 {
		f.revoke("sid", "revoked-"+itoa(int64(i)), t0, t0.Add(time.Hour))
	}
	v := newTestVerifier(b, f, c, func(cfg *Config) {
		cfg.Revocations = RevocationConfig{Mode: RevocationPoll, PollInterval: time.Hour}
		cfg.RequiredScopes = []string{"profile"}
	})
	if v.revs.Len() != 100 {
		b.Fatalf("revocation set holds %d events", v.revs.Len())
	}
	tok := f.mint(benchClaims(f.URL(), c.Now()))
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	fx := benchFixture{v: v, token: tok, input: []byte(tok[:dot]), sig: sig, key: f.signer.Public().CryptoKey()}
	if alg == jose.ES256 {
		fx.der, err = asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	return fx
}

var benchAlgs = []jose.Algorithm{jose.EdDSA, jose.ES256, jose.RS256}

// BenchmarkVerify measures the whole check of one access token: size
// and structure, header, key lookup in the cached JWKS, signature,
// claims (registered and custom), audience, times, scopes and the
// revocation set. Compare with BenchmarkBare on the same token.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			fx := newBenchFixture(b, alg)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := fx.v.Verify(ctx, fx.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBare is the floor: the standard library's signature check of
// the same signing input and signature, with nothing else (for ES256 and
// RS256 including the SHA-256 of the input, which the check needs).
func BenchmarkBare(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			fx := newBenchFixture(b, alg)
			b.ReportAllocs()
			b.ResetTimer()
			switch alg {
			case jose.EdDSA:
				pub := fx.key.(ed25519.PublicKey)
				for b.Loop() {
					if !ed25519.Verify(pub, fx.input, fx.sig) {
						b.Fatal("bad signature")
					}
				}
			case jose.ES256:
				pub := fx.key.(*ecdsa.PublicKey)
				for b.Loop() {
					h := sha256.Sum256(fx.input)
					if !ecdsa.VerifyASN1(pub, h[:], fx.der) {
						b.Fatal("bad signature")
					}
				}
			case jose.RS256:
				pub := fx.key.(*rsa.PublicKey)
				for b.Loop() {
					h := sha256.Sum256(fx.input)
					if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], fx.sig); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkInterleaved runs Verify and the bare check alternately, one
// call each per iteration, timing every call, and reports the median of
// each and their ratio. On a shared machine whose load changes from one
// second to the next, the medians of interleaved calls see the same load
// and give a steadier ratio than two benchmarks run one after the other.
func BenchmarkInterleaved(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			fx := newBenchFixture(b, alg)
			ctx := context.Background()
			var bareCheck func() bool
			switch pub := fx.key.(type) {
			case ed25519.PublicKey:
				bareCheck = func() bool { return ed25519.Verify(pub, fx.input, fx.sig) }
			case *ecdsa.PublicKey:
				bareCheck = func() bool { h := sha256.Sum256(fx.input); return ecdsa.VerifyASN1(pub, h[:], fx.der) }
			case *rsa.PublicKey:
				bareCheck = func() bool {
					h := sha256.Sum256(fx.input)
					return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], fx.sig) == nil
				}
			}
			verify := make([]time.Duration, 0, b.N)
			bare := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t := time.Now()
				if _, err := fx.v.Verify(ctx, fx.token); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				if !bareCheck() {
					b.Fatal("bad signature")
				}
				bare = append(bare, time.Since(t2))
				verify = append(verify, t2.Sub(t))
			}
			v, s := median(verify), median(bare)
			b.ReportMetric(float64(v.Nanoseconds()), "verify-p50-ns")
			b.ReportMetric(float64(s.Nanoseconds()), "bare-p50-ns")
			b.ReportMetric(float64(v)/float64(s), "ratio-p50")
		})
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
