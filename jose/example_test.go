package jose_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/gatehouse-auth/gatehouse/jose"
)

// The server signs with a PrivateKey and publishes the public half as a
// JWKS; a resource server parses that JWKS and verifies tokens against it.
func Example() {
	// Server side.
	key, err := jose.GenerateKey(jose.EdDSA, "2026-01")
	if err != nil {
		log.Fatal(err)
	}
	token, err := jose.Sign(key, "at+jwt", []byte(`{"iss":"https://auth.example.com","sub":"u1","aud":"api","exp":4102444800}`))
	if err != nil {
		log.Fatal(err)
	}
	set, err := jose.NewJWKS(key.Public())
	if err != nil {
		log.Fatal(err)
	}
	jwks, err := set.MarshalJSON() // served at the jwks_uri
	if err != nil {
		log.Fatal(err)
	}

	// Resource server side.
	keys, err := jose.ParseJWKS(jwks)
	if err != nil {
		log.Fatal(err)
	}
	v := jose.Verifier{Keys: keys}
	tok, err := v.Verify(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	claims, err := jose.ParseClaims(tok.Payload)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Header.Algorithm, tok.Header.KeyID, tok.Header.Type)
	fmt.Println(claims.Subject, claims.Audience, claims.ExpiresAt.UTC().Year())
	// Output:
	// EdDSA 2026-01 at+jwt
	// u1 [api] 2100
}

// The algorithm comes from the key: a token that claims another one, or
// "none", is rejected before any signature check.
func ExampleVerifier_Verify_algorithmConfusion() {
	key, _ := jose.GenerateKey(jose.EdDSA, "k1")
	set, _ := jose.NewJWKS(key.Public())
	v := jose.Verifier{Keys: set}

	// {"alg":"none","kid":"k1"} . {"sub":"admin"} . "sig"
	_, err := v.Verify(context.Background(), "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJzdWIiOiJhZG1pbiJ9.c2ln")
	fmt.Println(errors.Is(err, jose.ErrUnsupportedAlg))

	// {"alg":"HS256","kid":"k1"}: HMAC keyed with the public key.
	_, err = v.Verify(context.Background(), "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhZG1pbiJ9.c2ln")
	fmt.Println(errors.Is(err, jose.ErrUnsupportedAlg))
	// Output:
	// true
	// true
}

// A private key is stored as PKCS #8 bytes, which the caller encrypts,
// with its algorithm and key ID kept alongside.
func ExampleMarshalPrivate() {
	key, _ := jose.GenerateKey(jose.ES256, "2026-02")
	der, err := jose.MarshalPrivate(key) // encrypt before storing
	if err != nil {
		log.Fatal(err)
	}
	restored, err := jose.ParsePrivate(jose.ES256, "2026-02", der)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(restored.Public().Equal(key.Public()), restored)
	// Output: true jose.PrivateKey{kid: "2026-02", alg: ES256}
}

// ParseJWKS refuses a set that carries private key material.
func ExampleParseJWKS() {
	_, err := jose.ParseJWKS([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519",
		"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
		"d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
		"kid":"k1","alg":"EdDSA"}]}`))
	fmt.Println(errors.Is(err, jose.ErrPrivateKeyMember))
	// Output: true
}

// Each registered claim is decoded once; aud may be a string or an array.
func ExampleParseClaims() {
	c, err := jose.ParseClaims([]byte(`{"iss":"https://auth.example.com","aud":["a","b"],"scope":"openid email","exp":1900000000}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Issuer, c.Audience, c.Scope, c.ExpiresAt.Unix())

	_, err = jose.ParseClaims([]byte(`{"exp":1,"Exp":4102444800}`))
	fmt.Println(errors.Is(err, jose.ErrMalformed))
	// Output:
	// https://auth.example.com [a b] openid email 1900000000
	// true
}

// The thumbprint (RFC 7638) names key material independently of its kid.
func ExamplePublicKey_Thumbprint() {
	k, _ := jose.ParseJWK([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","alg":"EdDSA"}`))
	fmt.Println(k.Thumbprint())
	// Output: kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k
}
