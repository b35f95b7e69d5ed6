package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	golangjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gatehouse-auth/gatehouse/jose"
	"github.com/gatehouse-auth/gatehouse/verifier"
)

// now is the instant every check happens at.
var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	audience = "https://api.example.com"
	leeway   = 30 * time.Second
	scope    = "profile"
)

// issuer serves discovery, the JWKS and an empty revocation feed for one
// signing key, and holds a token signed with it.
type issuer struct {
	srv   *httptest.Server
	key   jose.PrivateKey
	jwks  []byte
	token string
}

func newIssuer(tb testing.TB, alg jose.Algorithm) *issuer {
	tb.Helper()
	key, err := jose.GenerateKey(alg, "key-"+string(alg))
	if err != nil {
		tb.Fatal(err)
	}
	set, err := jose.NewJWKS(key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	is := &issuer{key: key}
	if is.jwks, err = set.MarshalJSON(); err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	is.srv = httptest.NewServer(mux)
	tb.Cleanup(is.srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks",
			"gatehouse_revocations_endpoint": is.srv.URL + "/revocations",
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(is.jwks) })
	mux.HandleFunc("GET /revocations", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"revocations":[],"cursor":0,"more":false}`))
	})
	// A typical Gatehouse access token: what the server mints for a
	// first-party login, with one custom claim.
	payload, _ := json.Marshal(map[string]any{
		"iss": is.srv.URL, "sub": "c8b7c922fcb8a280b03b999250e2e388", "aud": audience,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
		"jti": "251aeecb8bb50422985f37e962dc7036", "sid": "df11472d613bcc8d0d06e32a1e6d29d3",
		"scope": "openid profile", "tenant": "acme",
	})
	if is.token, err = jose.Sign(key, "at+jwt", payload); err != nil {
		tb.Fatal(err)
	}
	return is
}

// A check verifies a token the way a resource server would with one
// library: signature with the key the kid names and the algorithm pinned
// by the key, typ (where the library exposes it), iss, aud, exp, nbf,
// iat with 30s leeway, a required scope, and the custom claim read.
type check func(token string) error

// gatehouseVerifier is package verifier, with the revocation check on.
func gatehouseVerifier(tb testing.TB, is *issuer) check {
	v, err := verifier.New(context.Background(), verifier.Config{
		Issuer: is.srv.URL, Audience: audience, Now: func() time.Time { return now },
		RequiredScopes: []string{scope},
		Revocations:    verifier.RevocationConfig{Mode: verifier.RevocationPoll, PollInterval: time.Hour},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	ctx := context.Background()
	return func(token string) error {
		p, err := v.Verify(ctx, token)
		if err != nil {
			return err
		}
		// Reading the custom claim the others read: Claim decodes it
		// alone, from the claims set Verify kept.
		tenant, _, err := p.Claim("tenant")
		if err != nil {
			return err
		}
		if tenant != "acme" {
			return errors.New("no tenant")
		}
		return nil
	}
}

// golangJWTClaims are the claims golang-jwt decodes: a typed struct, the
// library's fastest way.
type golangJWTClaims struct {
	golangjwt.RegisteredClaims
	Scope  string `json:"scope"`
	SID    string `json:"sid"`
	Tenant string `json:"tenant"`
}

// golangJWT is golang-jwt/jwt v5 with the key looked up by kid in a
// pre-parsed set and the algorithm pinned by WithValidMethods.
func golangJWT(tb testing.TB, is *issuer) check {
	pub := is.key.Public()
	keys := map[string]any{pub.KeyID(): pub.CryptoKey()}
	p := golangjwt.NewParser(
		golangjwt.WithValidMethods([]string{string(pub.Algorithm())}),
		golangjwt.WithIssuer(is.srv.URL), golangjwt.WithAudience(audience),
		golangjwt.WithExpirationRequired(), golangjwt.WithIssuedAt(),
		golangjwt.WithLeeway(leeway), golangjwt.WithTimeFunc(func() time.Time { return now }),
	)
	keyFunc := func(t *golangjwt.Token) (any, error) {
		if t.Header["typ"] != "at+jwt" {
			return nil, errors.New("typ")
		}
		kid, _ := t.Header["kid"].(string)
		k, ok := keys[kid]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return k, nil
	}
	return func(token string) error {
		var c golangJWTClaims
		if _, err := p.ParseWithClaims(token, &c, keyFunc); err != nil {
			return err
		}
		if !slices.Contains(strings.Fields(c.Scope), scope) {
			return errors.New("scope")
		}
		if c.Tenant != "acme" {
			return errors.New("no tenant")
		}
		return nil
	}
}

// jwx is lestrrat-go/jwx v3 with the served JWKS parsed into a jwk.Set,
// whose keys pin their algorithms.
func jwx(tb testing.TB, is *issuer) check {
	set, err := jwk.Parse(is.jwks)
	if err != nil {
		tb.Fatal(err)
	}
	clock := jwxjwt.ClockFunc(func() time.Time { return now })
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKeySet(set), jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(is.srv.URL), jwxjwt.WithAudience(audience),
		jwxjwt.WithAcceptableSkew(leeway), jwxjwt.WithClock(clock),
	}
	return func(token string) error {
		t, err := jwxjwt.Parse([]byte(token), opts...)
		if err != nil {
			return err
		}
		var sc, tenant string
		if err := t.Get("scope", &sc); err != nil || !slices.Contains(strings.Fields(sc), scope) {
			return errors.New("scope")
		}
		if err := t.Get("tenant", &tenant); err != nil || tenant != "acme" {
			return errors.New("no tenant")
		}
		return nil
	}
}

// bare is the standard library's signature check of the same signing
// input, hashing included, and nothing else: the floor.
func bare(tb testing.TB, is *issuer) check {
	dot := strings.LastIndexByte(is.token, '.')
	input := []byte(is.token[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(is.token[dot+1:])
	if err != nil {
		tb.Fatal(err)
	}
	switch pub := is.key.Public().CryptoKey().(type) {
	case ed25519.PublicKey:
		return func(string) error {
			if !ed25519.Verify(pub, input, sig) {
				return errors.New("bad signature")
			}
			return nil
		}
	case *ecdsa.PublicKey:
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
		if err != nil {
			tb.Fatal(err)
		}
		return func(string) error {
			h := sha256.Sum256(input)
			if !ecdsa.VerifyASN1(pub, h[:], der) {
				return errors.New("bad signature")
			}
			return nil
		}
	case *rsa.PublicKey:
		return func(string) error {
			h := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
		}
	}
	tb.Fatalf("unexpected key type %T", is.key.Public().CryptoKey())
	return nil
}

var (
	algs      = []jose.Algorithm{jose.EdDSA, jose.ES256, jose.RS256}
	libraries = []struct {
		name string
		make func(testing.TB, *issuer) check
	}{
		{"verifier", gatehouseVerifier},
		{"golang-jwt", golangJWT},
		{"jwx", jwx},
		{"bare", bare},
	}
)

// TestLibrariesAgree makes sure every library accepts the benchmark
// tokens and, except bare, refuses one for another audience, so the
// benchmark compares the same work.
func TestLibrariesAgree(t *testing.T) {
	for _, alg := range algs {
		is := newIssuer(t, alg)
		var payload map[string]any
		_ = json.Unmarshal(must(base64.RawURLEncoding.DecodeString(strings.Split(is.token, ".")[1])), &payload)
		payload["aud"] = "https://other.example.com"
		other, err := jose.Sign(is.key, "at+jwt", must(json.Marshal(payload)))
		if err != nil {
			t.Fatal(err)
		}
		for _, lib := range libraries {
			c := lib.make(t, is)
			if err := c(is.token); err != nil {
				t.Errorf("%s/%s rejects the token: %v", alg, lib.name, err)
			}
			if lib.name != "bare" {
				if err := c(other); err == nil {
					t.Errorf("%s/%s accepts a token for another audience", alg, lib.name)
				}
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkJWT verifies the same token with each library, for each
// algorithm. The sub-benchmarks of one algorithm run back to back, so
// their ratios are what to compare.
func BenchmarkJWT(b *testing.B) {
	for _, alg := range algs {
		is := newIssuer(b, alg)
		for _, lib := range libraries {
			b.Run(fmt.Sprintf("%s/%s", alg, lib.name), func(b *testing.B) {
				c := lib.make(b, is)
				if err := c(is.token); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := c(is.token); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkJWTInterleaved runs the four checks of one algorithm in turn,
// one call each per iteration, timing every call, and reports each
// library's median and its ratio to bare. On a shared machine whose load
// changes from one second to the next, interleaved calls see the same
// load, so their medians compare fairly where back-to-back benchmarks
// may not.
func BenchmarkJWTInterleaved(b *testing.B) {
	for _, alg := range algs {
		b.Run(string(alg), func(b *testing.B) {
			is := newIssuer(b, alg)
			checks := make([]check, len(libraries))
			times := make([][]time.Duration, len(libraries))
			for i, lib := range libraries {
				checks[i] = lib.make(b, is)
				times[i] = make([]time.Duration, 0, b.N)
			}
			for b.Loop() {
				for i, c := range checks {
					t := time.Now()
					if err := c(is.token); err != nil {
						b.Fatal(err)
					}
					times[i] = append(times[i], time.Since(t))
				}
			}
			bareP50 := median(times[len(times)-1])
			for i, lib := range libraries {
				p50 := median(times[i])
				b.ReportMetric(float64(p50.Nanoseconds()), lib.name+"-p50-ns")
				if lib.name != "bare" {
					b.ReportMetric(float64(p50)/float64(bareP50), lib.name+"/bare")
				}
			}
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
