package jose

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzVerifier returns a verifier holding the RFC 8037 Ed25519 key (as
// "rfc8037"), the RFC 7515 A.2 and A.3 keys, and the shared generated
// keys, together with the RFC 8037 private key.
func fuzzVerifier(t testing.TB) (Verifier, PrivateKey) {
	t.Helper()
	seed, _ := decodeB64(nil, []byte(rfc8037D))
	ed, err := NewPrivateKey(EdDSA, "rfc8037", ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	pubs := []PublicKey{ed.Public()}
	for _, jwk := range []string{rfc7515A2JWK, rfc7515A3JWK} {
		k, err := ParseJWK([]byte(jwk))
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, k)
	}
	for _, k := range testKeys(t) {
		pubs = append(pubs, k.Public())
	}
	set, err := NewJWKS(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	return Verifier{Keys: set, MaxTokenSize: 4096}, ed
}

// sentinels lists every category error; each rejection must match one.
var sentinels = []error{
	ErrMalformed, ErrTooLarge, ErrUnsupportedAlg, ErrAlgMismatch, ErrUnknownKey,
	ErrBadSignature, ErrCritUnsupported, ErrForbiddenHeader, ErrInvalidKey,
}

func checkCategorized(t *testing.T, err error) {
	t.Helper()
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error without a sentinel category: %v", err)
}

// FuzzParse fuzzes Verifier.Verify, the compact token parser, with
// arbitrary strings. The fuzz targets' names share prefixes, so run one
// with an anchored pattern:
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s ./jose
//
// Accepted tokens must be canonical: their segments
// re-encode to themselves, and their header is valid JSON whose "alg"
// is the key's.
func FuzzParse(f *testing.F) {
	v, ed := fuzzVerifier(f)
	for _, k := range testKeys(f) {
		tok, _ := Sign(k, "at+jwt", []byte(benchPayload))
		f.Add(tok)
	}
	tok, _ := Sign(ed, "", []byte(`{"sub":"x"}`))
	f.Add(tok)
	f.Add(rfc8037Token)
	f.Add(rfc7515A2Token)
	f.Add(rfc7515A3Token)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
	f.Add("a.b.c.d")
	f.Add("..")
	f.Add("")
	f.Add("eyJhbGciOiJFZERTQSIsImNyaXQiOlsiZXhwIl19.e30.AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		got, err := v.Verify(t.Context(), token)
		if err != nil {
			checkCategorized(t, err)
			if got.Payload != nil || !got.Key.IsZero() {
				t.Fatalf("rejected token returned data")
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted %d segments", len(parts))
		}
		if string(appendB64(nil, got.Payload)) != parts[1] {
			t.Fatalf("payload segment is not canonical")
		}
		hdr, err := decodeB64(nil, []byte(parts[0]))
		if err != nil || !json.Valid(hdr) {
			t.Fatalf("accepted header %q", hdr)
		}
		if got.Header.Algorithm != got.Key.Algorithm() {
			t.Fatalf("alg %s verified by %s key", got.Header.Algorithm, got.Key.Algorithm())
		}
	})
}

// FuzzParseHeader fuzzes the header parser with correctly signed tokens,
// so the whole verification path runs, and checks it against
// encoding/json: an accepted header must be valid JSON, must not hold
// crit, jku, x5u, jwk or x5c, and must have the alg, kid and typ that
// encoding/json reads.
func FuzzParseHeader(f *testing.F) {
	v, ed := fuzzVerifier(f)
	for _, h := range []string{
		`{"alg":"EdDSA","kid":"rfc8037"}`,
		`{"alg":"EdDSA"}`,
		`{"alg":"EdDSA","kid":"rfc8037","typ":"at+jwt","cty":"JWT","x":{"y":[1,-2.5e+3,true,false,null,"\u00e9"]}}`,
		`{"alg":"Ed\u0044SA","kid":"rfc8037"}`,
		`{"alg":"none","kid":"rfc8037"}`,
		`{"alg":"EdDSA","kid":"rfc8037","crit":["b64"],"b64":false}`,
		`{"alg":"EdDSA","kid":"rfc8037","jku":"https://x"}`,
		`{"alg":"EdDSA","kid":"rfc8037","\u006a\u0077\u006b":{}}`,
		`{"alg":"EdDSA","alg":"EdDSA"}`,
		`{"alg":"ES256","kid":"rfc8037"}`,
	} {
		f.Add([]byte(h))
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		token := signRaw(t, ed, string(appendB64(nil, header))+".e30")
		got, err := v.Verify(t.Context(), token)
		if err != nil {
			checkCategorized(t, err)
			return
		}
		if !json.Valid(header) || !utf8.Valid(header) {
			t.Fatalf("accepted invalid JSON %q", header)
		}
		var m map[string]any
		if err := json.Unmarshal(header, &m); err != nil {
			t.Fatalf("encoding/json rejects accepted header %q: %v", header, err)
		}
		for _, name := range []string{"crit", "jku", "x5u", "jwk", "x5c"} {
			if _, ok := m[name]; ok {
				t.Fatalf("accepted header with %q: %q", name, header)
			}
		}
		if m["alg"] != string(got.Header.Algorithm) || got.Header.Algorithm != EdDSA {
			t.Fatalf("alg: ours %q, encoding/json %v", got.Header.Algorithm, m["alg"])
		}
		for name, ours := range map[string]string{"kid": got.Header.KeyID, "typ": got.Header.Type, "cty": got.Header.ContentType} {
			theirs, present := m[name]
			if present && theirs != ours || !present && ours != "" {
				t.Fatalf("%s: ours %q, encoding/json %v", name, ours, theirs)
			}
		}
	})
}

// FuzzParseJWKS fuzzes ParseJWKS. An accepted set must be valid JSON,
// hold no private members, and survive a marshal/parse round trip.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[` + rfc8037JWK + `,` + rfc7515A2JWK + `,` + rfc7515A3JWK + `]}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"` + rfc7515A3X + `","y":"` + rfc7515A3Y + `","d":"` + rfc7515A3D + `","kid":"a","alg":"ES256"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s","alg":"HS256"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","kid":"a","alg":"EdDSA","use":"sig","key_ops":["verify"],"x5c":["MIIB"]}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r","alg":"RS256"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","kid":"e","alg":"ES256"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := ParseJWKS(data)
		if err != nil {
			for _, s := range []error{ErrMalformed, ErrInvalidKey, ErrWeakKey, ErrUnsupportedKey, ErrPrivateKeyMember, ErrUnsupportedAlg} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error without a sentinel category: %v", err)
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		var doc struct {
			Keys []map[string]json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("encoding/json rejects accepted JWKS: %v", err)
		}
		if len(doc.Keys) != set.Len() {
			t.Fatalf("encoding/json sees %d keys, ParseJWKS %d", len(doc.Keys), set.Len())
		}
		for _, k := range doc.Keys {
			for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
				if _, ok := k[m]; ok {
					t.Fatalf("accepted JWK with %q", m)
				}
			}
		}
		out, err := set.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseJWKS(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		for i, k := range set.Keys() {
			if !k.Equal(again.Keys()[i]) {
				t.Fatalf("key %d changed in round trip", i)
			}
		}
	})
}

// FuzzParseClaims checks ParseClaims against encoding/json: whatever
// ParseClaims accepts, encoding/json must read the same registered claims.
func FuzzParseClaims(f *testing.F) {
	f.Add([]byte(benchPayload))
	f.Add([]byte(rfc7515Payload))
	f.Add([]byte(`{"aud":["a","b"],"exp":1.5,"nbf":-3e2,"iat":0,"sid":"s","client_id":"c","x":{"y":[null]}}`))
	f.Add([]byte(`{"iss":null,"sub":"\ud83d\ude00","Exp":1}`))
	f.Add([]byte(`{"exp":99999999999999999999}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := ParseClaims(payload)
		// ParseClaimsInto, which shares the payload's memory, reads the
		// same claims, into an audience array of one or none.
		var aud1 [1]string
		for _, into := range []Claims{{}, {Audience: aud1[:0]}} {
			intoErr := ParseClaimsInto(&into, payload, nil)
			if (err == nil) != (intoErr == nil) || (err == nil && !reflect.DeepEqual(into, c)) {
				t.Fatalf("ParseClaimsInto: %+v, %v; ParseClaims: %+v, %v", into, intoErr, c, err)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error without ErrMalformed: %v", err)
			}
			return
		}
		if !json.Valid(payload) {
			t.Fatalf("accepted invalid JSON %q", payload)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		str := func(name, ours string) {
			raw, ok := m[name]
			var theirs string
			if ok && string(raw) != "null" {
				if err := json.Unmarshal(raw, &theirs); err != nil {
					t.Fatalf("%s: encoding/json: %v", name, err)
				}
			}
			if theirs != ours {
				t.Fatalf("%s: ours %q, encoding/json %q", name, ours, theirs)
			}
		}
		str("iss", c.Issuer)
		str("sub", c.Subject)
		str("jti", c.ID)
		str("sid", c.SessionID)
		str("scope", c.Scope)
		str("client_id", c.ClientID)
		for name, ours := range map[string]float64{
			"exp": unixFloat(c.ExpiresAt.Unix(), c.ExpiresAt.Nanosecond(), c.ExpiresAt.IsZero()),
			"nbf": unixFloat(c.NotBefore.Unix(), c.NotBefore.Nanosecond(), c.NotBefore.IsZero()),
			"iat": unixFloat(c.IssuedAt.Unix(), c.IssuedAt.Nanosecond(), c.IssuedAt.IsZero()),
		} {
			raw, ok := m[name]
			theirs := math.NaN()
			if ok && string(raw) != "null" {
				if err := json.Unmarshal(raw, &theirs); err != nil {
					t.Fatalf("%s: encoding/json: %v", name, err)
				}
			}
			if math.IsNaN(theirs) != math.IsNaN(ours) || math.Abs(theirs-ours) > 1e-6*math.Max(1, math.Abs(theirs)) {
				t.Fatalf("%s: ours %v, encoding/json %v", name, ours, theirs)
			}
		}
		var aud []string
		if raw, ok := m["aud"]; ok && string(raw) != "null" {
			var one string
			if json.Unmarshal(raw, &one) == nil {
				aud = []string{one}
			} else if err := json.Unmarshal(raw, &aud); err != nil {
				t.Fatalf("aud: encoding/json: %v", err)
			}
		}
		if len(aud) != len(c.Audience) || (len(aud) > 0 && !bytes.Equal([]byte(strings.Join(aud, "\x00")), []byte(strings.Join(c.Audience, "\x00")))) {
			t.Fatalf("aud: ours %q, encoding/json %q", c.Audience, aud)
		}
	})
}

// unixFloat is a time as float seconds, or NaN when absent.
func unixFloat(sec int64, nsec int, zero bool) float64 {
	if zero {
		return math.NaN()
	}
	return float64(sec) + float64(nsec)/1e9
}
