package jose

import (
	"bytes"
	"crypto"
	"encoding/json"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
)

// TestInteropGoJOSE checks both directions against go-jose/v4, an
// independent implementation: go-jose verifies tokens from Sign with the
// JWKS from JWKS.MarshalJSON, and this package verifies tokens signed by
// go-jose with the JWKS go-jose writes. Thumbprints must agree too.
func TestInteropGoJOSE(t *testing.T) {
	payload := []byte(`{"iss":"https://auth.example.com","sub":"u1","exp":2000000000}`)
	algs := map[Algorithm]gojose.SignatureAlgorithm{EdDSA: gojose.EdDSA, ES256: gojose.ES256, RS256: gojose.RS256}
	keys := testKeys(t)
	var pubs []PublicKey
	for _, k := range keys {
		pubs = append(pubs, k.Public())
	}
	set, err := NewJWKS(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := set.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var theirSet gojose.JSONWebKeySet
	if err := json.Unmarshal(doc, &theirSet); err != nil {
		t.Fatalf("go-jose cannot read our JWKS %s: %v", doc, err)
	}

	for alg, priv := range keys {
		t.Run(string(alg), func(t *testing.T) {
			// Ours to theirs.
			tok, err := Sign(priv, "at+jwt", payload)
			if err != nil {
				t.Fatal(err)
			}
			jws, err := gojose.ParseSignedCompact(tok, []gojose.SignatureAlgorithm{algs[alg]})
			if err != nil {
				t.Fatalf("go-jose ParseSignedCompact: %v", err)
			}
			if got := jws.Signatures[0].Header.KeyID; got != priv.KeyID() {
				t.Fatalf("go-jose sees kid %q", got)
			}
			found := theirSet.Key(priv.KeyID())
			if len(found) != 1 {
				t.Fatalf("go-jose finds %d keys for %q", len(found), priv.KeyID())
			}
			if found[0].Algorithm != string(alg) || found[0].Use != "sig" || !found[0].Valid() || !found[0].IsPublic() {
				t.Errorf("go-jose reads JWK as alg=%q use=%q", found[0].Algorithm, found[0].Use)
			}
			got, err := jws.Verify(&found[0])
			if err != nil {
				t.Fatalf("go-jose Verify: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("go-jose payload = %s", got)
			}
			tp, err := found[0].Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := string(appendB64(nil, tp)); priv.Public().Thumbprint() != want {
				t.Errorf("Thumbprint = %s, go-jose says %s", priv.Public().Thumbprint(), want)
			}

			// Theirs to ours.
			signer, err := gojose.NewSigner(gojose.SigningKey{Algorithm: algs[alg], Key: gojose.JSONWebKey{
				Key: priv.signer(), KeyID: priv.KeyID(), Algorithm: string(alg), Use: "sig",
			}}, (&gojose.SignerOptions{}).WithType("at+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			obj, err := signer.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			theirTok, err := obj.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			theirJWK, err := json.Marshal(gojose.JSONWebKey{
				Key: priv.Public().CryptoKey(), KeyID: priv.KeyID(), Algorithm: string(alg), Use: "sig",
			})
			if err != nil {
				t.Fatal(err)
			}
			key, err := ParseJWK(theirJWK)
			if err != nil {
				t.Fatalf("ParseJWK(go-jose JWK %s): %v", theirJWK, err)
			}
			if !key.Equal(priv.Public()) {
				t.Fatalf("go-jose JWK parsed to a different key")
			}
			ks, _ := NewJWKS(key)
			res, err := (&Verifier{Keys: ks}).Verify(t.Context(), theirTok)
			if err != nil {
				t.Fatalf("Verify(go-jose token): %v", err)
			}
			if !bytes.Equal(res.Payload, payload) || res.Header.Type != "at+jwt" {
				t.Errorf("go-jose token: header %+v payload %s", res.Header, res.Payload)
			}
		})
	}
}
