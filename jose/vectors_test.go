package jose

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

// Test vectors from the RFCs, with the keys built from the RFCs' own
// JWKs. The RFC JWKs carry no "kid" or "alg", which ParseJWK requires, so
// the tests add them; the tokens carry no "kid", so each verifies against
// a one-key set.
const (
	// RFC 8037 Appendix A.1 (private key) and A.2 (public key).
	rfc8037D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	// RFC 8037 Appendix A.3: the JWK thumbprint of that key.
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	// RFC 8037 Appendix A.4 (signing) and A.5 (validation).
	rfc8037Token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc." +
		"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

	// RFC 7515 Appendix A.2: RS256.
	rfc7515A2N = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx" +
		"HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs" +
		"D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH" +
		"SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV" +
		"MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8" +
		"NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
	rfc7515A2Token = "eyJhbGciOiJSUzI1NiJ9." +
		"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ." +
		"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5" +
		"jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb" +
		"1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QO" +
		"YEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"

	// RFC 7515 Appendix A.3: ES256.
	rfc7515A3X     = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
	rfc7515A3Y     = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
	rfc7515A3D     = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
	rfc7515A3Token = "eyJhbGciOiJFUzI1NiJ9." +
		"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ." +
		"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"

	// The JWT payload of RFC 7515 A.2 and A.3, with its CRLF line breaks.
	rfc7515Payload = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
)

// The RFC JWKs with "kid" and "alg" added.
const (
	rfc8037JWK   = `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","kid":"rfc8037","alg":"EdDSA"}`
	rfc7515A2JWK = `{"kty":"RSA","n":"` + rfc7515A2N + `","e":"AQAB","kid":"2010-12-29","alg":"RS256"}`
	rfc7515A3JWK = `{"kty":"EC","crv":"P-256","x":"` + rfc7515A3X + `","y":"` + rfc7515A3Y +
		`","kid":"e9bc097a-ce51-4036-9562-d2ade882db0d","alg":"ES256"}`
)

func TestRFCVectors(t *testing.T) {
	tests := []struct {
		name, jwk, token, payload string
		alg                       Algorithm
	}{
		{"RFC8037_A5_EdDSA", rfc8037JWK, rfc8037Token, "Example of Ed25519 signing", EdDSA},
		{"RFC7515_A2_RS256", rfc7515A2JWK, rfc7515A2Token, rfc7515Payload, RS256},
		{"RFC7515_A3_ES256", rfc7515A3JWK, rfc7515A3Token, rfc7515Payload, ES256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseJWK([]byte(tt.jwk))
			if err != nil {
				t.Fatalf("ParseJWK: %v", err)
			}
			set, err := NewJWKS(key)
			if err != nil {
				t.Fatal(err)
			}
			v := Verifier{Keys: set}
			tok, err := v.Verify(t.Context(), tt.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if string(tok.Payload) != tt.payload {
				t.Errorf("payload = %q, want %q", tok.Payload, tt.payload)
			}
			if tok.Header.Algorithm != tt.alg || tok.Header.KeyID != "" {
				t.Errorf("header = %+v", tok.Header)
			}

			// One changed character in the signature breaks it. The first
			// character keeps the base64url canonical.
			dot := strings.LastIndexByte(tt.token, '.')
			c := byte('A')
			if tt.token[dot+1] == 'A' {
				c = 'B'
			}
			bad := tt.token[:dot+1] + string(c) + tt.token[dot+2:]
			if _, err := v.Verify(t.Context(), bad); !errors.Is(err, ErrBadSignature) {
				t.Errorf("tampered signature: err = %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestRFC8037Signing checks RFC 8037 A.4 from the signing side: Ed25519
// is deterministic, so the key from A.1 must reproduce the signature.
func TestRFC8037Signing(t *testing.T) {
	seed, err := decodeB64(nil, []byte(rfc8037D))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := NewPrivateKey(EdDSA, "rfc8037", ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseJWK([]byte(rfc8037JWK))
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Public().Equal(want) {
		t.Fatalf("public key from A.1 seed differs from A.2 x")
	}
	dot := strings.LastIndexByte(rfc8037Token, '.')
	sig, err := priv.sign([]byte(rfc8037Token[:dot]))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(appendB64(nil, sig)); got != rfc8037Token[dot+1:] {
		t.Errorf("signature = %s, want %s", got, rfc8037Token[dot+1:])
	}
}

// TestRFC8037Thumbprint checks RFC 8037 A.3.
func TestRFC8037Thumbprint(t *testing.T) {
	key, err := ParseJWK([]byte(rfc8037JWK))
	if err != nil {
		t.Fatal(err)
	}
	if got := key.Thumbprint(); got != rfc8037Thumbprint {
		t.Errorf("Thumbprint = %s, want %s", got, rfc8037Thumbprint)
	}
}

// TestRFCPrivateJWKsRejected checks that the RFCs' private JWKs, with "d",
// are not accepted as verification keys.
func TestRFCPrivateJWKsRejected(t *testing.T) {
	for name, jwk := range map[string]string{
		"RFC8037_A1": `{"kty":"OKP","crv":"Ed25519","d":"` + rfc8037D + `","x":"` + rfc8037X + `","kid":"a","alg":"EdDSA"}`,
		"RFC7515_A3": `{"kty":"EC","crv":"P-256","x":"` + rfc7515A3X + `","y":"` + rfc7515A3Y + `","d":"` + rfc7515A3D + `","kid":"a","alg":"ES256"}`,
	} {
		if _, err := ParseJWK([]byte(jwk)); !errors.Is(err, ErrPrivateKeyMember) {
			t.Errorf("%s: err = %v, want ErrPrivateKeyMember", name, err)
		}
	}
}
