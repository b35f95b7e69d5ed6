package jose

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// sharedKeys holds one generated key per algorithm, named "k-<alg>",
// made once per test binary because RSA generation is slow.
var sharedKeys = sync.OnceValues(func() (map[Algorithm]PrivateKey, error) {
	keys := make(map[Algorithm]PrivateKey)
	for _, alg := range []Algorithm{EdDSA, ES256, RS256} {
		k, err := GenerateKey(alg, "k-"+string(alg))
		if err != nil {
			return nil, err
		}
		keys[alg] = k
	}
	return keys, nil
})

// testKeys returns the shared keys.
func testKeys(t testing.TB) map[Algorithm]PrivateKey {
	t.Helper()
	keys, err := sharedKeys()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return keys
}

func TestRoundTrip(t *testing.T) {
	payload := []byte(`{"iss":"https://auth.example.com","sub":"u1","aud":["api"],"exp":2000000000,"scope":"openid"}`)
	for alg, priv := range testKeys(t) {
		t.Run(string(alg), func(t *testing.T) {
			tok, err := Sign(priv, "at+jwt", payload)
			if err != nil {
				t.Fatal(err)
			}
			set, err := NewJWKS(priv.Public())
			if err != nil {
				t.Fatal(err)
			}
			v := Verifier{Keys: set}
			got, err := v.Verify(t.Context(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !bytes.Equal(got.Payload, payload) {
				t.Errorf("payload = %s", got.Payload)
			}
			want := Header{Algorithm: alg, KeyID: priv.KeyID(), Type: "at+jwt"}
			if got.Header != want {
				t.Errorf("header = %+v, want %+v", got.Header, want)
			}
			if !got.Key.Equal(priv.Public()) {
				t.Errorf("Key is not the signing key's public key")
			}

			// The same token through the JWKS document.
			doc, err := set.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			set2, err := ParseJWKS(doc)
			if err != nil {
				t.Fatalf("ParseJWKS(%s): %v", doc, err)
			}
			if _, err := (&Verifier{Keys: set2}).Verify(t.Context(), tok); err != nil {
				t.Fatalf("Verify after JWKS round trip: %v", err)
			}
			if k, _ := set2.Key(t.Context(), priv.KeyID()); !k.Equal(priv.Public()) {
				t.Errorf("JWKS round trip changed the key")
			}

			// Private key storage round trip.
			der, err := MarshalPrivate(priv)
			if err != nil {
				t.Fatal(err)
			}
			priv2, err := ParsePrivate(alg, priv.KeyID(), der)
			if err != nil {
				t.Fatalf("ParsePrivate: %v", err)
			}
			if !priv2.Public().Equal(priv.Public()) {
				t.Errorf("ParsePrivate changed the key")
			}
			tok2, err := Sign(priv2, "", payload)
			if err != nil {
				t.Fatal(err)
			}
			got2, err := v.Verify(t.Context(), tok2)
			if err != nil {
				t.Fatalf("Verify token from parsed key: %v", err)
			}
			if got2.Header.Type != "" {
				t.Errorf("typ = %q, want none", got2.Header.Type)
			}
			for _, other := range []Algorithm{EdDSA, ES256, RS256} {
				if other == alg {
					continue
				}
				if _, err := ParsePrivate(other, "x", der); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("ParsePrivate(%s, %s key) = %v, want ErrInvalidKey", other, alg, err)
				}
			}
		})
	}
}
