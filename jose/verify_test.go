package jose

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

// craft builds a compact JWS with an arbitrary header, signed correctly
// by priv, so that a rejection can only come from the header.
func craft(t testing.TB, priv PrivateKey, header, payload string) string {
	t.Helper()
	in := string(appendB64(nil, []byte(header))) + "." + string(appendB64(nil, []byte(payload)))
	sig, err := priv.sign([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + string(appendB64(nil, sig))
}

// unsigned builds a compact JWS with the given raw signature bytes.
func unsigned(header, payload string, sig []byte) string {
	return string(appendB64(nil, []byte(header))) + "." + string(appendB64(nil, []byte(payload))) + "." + string(appendB64(nil, sig))
}

// hs256 builds the classic key-confusion token: HMAC-SHA256 keyed with
// the verifier's public key.
func hs256(header, payload string, secret []byte) string {
	in := string(appendB64(nil, []byte(header))) + "." + string(appendB64(nil, []byte(payload)))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + string(appendB64(nil, m.Sum(nil)))
}

func TestVerifyRejects(t *testing.T) {
	keys := testKeys(t)
	ed, es, rs := keys[EdDSA], keys[ES256], keys[RS256]
	set, err := NewJWKS(ed.Public(), es.Public(), rs.Public())
	if err != nil {
		t.Fatal(err)
	}
	v := Verifier{Keys: set}
	const payload = `{"sub":"u12"}` // 13 bytes, so the last base64url character has unused bits
	good := craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA"}`, payload)
	if _, err := v.Verify(t.Context(), good); err != nil {
		t.Fatalf("control token: %v", err)
	}
	h64 := good[:strings.IndexByte(good, '.')]
	sig64 := good[strings.LastIndexByte(good, '.')+1:]
	p64 := good[len(h64)+1 : len(good)-len(sig64)-1]

	spki, err := x509.MarshalPKIXPublicKey(rs.Public().CryptoKey())
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
	edJWK, _ := ed.Public().MarshalJSON()
	edRaw := []byte(ed.Public().CryptoKey().(ed25519.PublicKey))

	fakeSig := make([]byte, 64)
	fakeSig[0] = 1

	tests := []struct {
		name  string
		token string
		want  error
	}{
		// RFC 8725 §3.1, §3.2: "none" in every spelling.
		{"alg none", unsigned(`{"alg":"none","kid":"k-EdDSA"}`, payload, fakeSig), ErrUnsupportedAlg},
		{"alg None", unsigned(`{"alg":"None","kid":"k-EdDSA"}`, payload, fakeSig), ErrUnsupportedAlg},
		{"alg NONE", unsigned(`{"alg":"NONE","kid":"k-EdDSA"}`, payload, fakeSig), ErrUnsupportedAlg},
		{"alg nOnE", unsigned(`{"alg":"nOnE"}`, payload, fakeSig), ErrUnsupportedAlg},
		{"alg empty", unsigned(`{"alg":""}`, payload, fakeSig), ErrUnsupportedAlg},
		{"alg none escaped", unsigned(`{"alg":"\u006eone"}`, payload, fakeSig), ErrUnsupportedAlg},
		{"alg none empty signature", string(appendB64(nil, []byte(`{"alg":"none"}`))) + "." + p64 + ".", ErrMalformed},
		{"alg missing", craft(t, ed, `{"kid":"k-EdDSA"}`, payload), ErrMalformed},
		{"alg null", craft(t, ed, `{"alg":null,"kid":"k-EdDSA"}`, payload), ErrMalformed},
		{"alg number", craft(t, ed, `{"alg":1,"kid":"k-EdDSA"}`, payload), ErrMalformed},
		{"alg lowercase", craft(t, ed, `{"alg":"eddsa","kid":"k-EdDSA"}`, payload), ErrUnsupportedAlg},
		{"alg with space", craft(t, ed, `{"alg":"EdDSA ","kid":"k-EdDSA"}`, payload), ErrUnsupportedAlg},
		{"alg ES384", craft(t, es, `{"alg":"ES384","kid":"k-ES256"}`, payload), ErrUnsupportedAlg},
		{"alg PS256", craft(t, rs, `{"alg":"PS256","kid":"k-RS256"}`, payload), ErrUnsupportedAlg},
		{"duplicate alg", craft(t, ed, `{"alg":"EdDSA","alg":"none","kid":"k-EdDSA"}`, payload), ErrMalformed},
		{"duplicate kid", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","kid":"k-RS256"}`, payload), ErrMalformed},

		// RFC 8725 §3.1: HS256 keyed with the public key (key confusion).
		{"HS256 with RSA PEM", hs256(`{"alg":"HS256","kid":"k-RS256"}`, payload, rsaPEM), ErrUnsupportedAlg},
		{"HS256 with RSA DER", hs256(`{"alg":"HS256","kid":"k-RS256"}`, payload, spki), ErrUnsupportedAlg},
		{"HS256 with Ed25519 JWK", hs256(`{"alg":"HS256","kid":"k-EdDSA"}`, payload, edJWK), ErrUnsupportedAlg},
		{"HS256 with Ed25519 raw", hs256(`{"alg":"HS256","kid":"k-EdDSA"}`, payload, edRaw), ErrUnsupportedAlg},
		{"HS256 no kid", hs256(`{"alg":"HS256"}`, payload, rsaPEM), ErrUnsupportedAlg},

		// RFC 8725 §3.1: the alg must be the key's.
		{"EdDSA token, ES256 kid", craft(t, ed, `{"alg":"EdDSA","kid":"k-ES256"}`, payload), ErrAlgMismatch},
		{"ES256 header on EdDSA key", craft(t, ed, `{"alg":"ES256","kid":"k-EdDSA"}`, payload), ErrAlgMismatch},
		{"RS256 header on ES256 key", craft(t, es, `{"alg":"RS256","kid":"k-ES256"}`, payload), ErrAlgMismatch},

		// RFC 7515 §4.1.11: crit is never understood.
		{"crit", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","crit":["exp"],"exp":1}`, payload), ErrCritUnsupported},
		{"crit empty", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","crit":[]}`, payload), ErrCritUnsupported},
		{"crit b64", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","b64":false,"crit":["b64"]}`, payload), ErrCritUnsupported},
		{"crit first", craft(t, ed, `{"crit":["x"],"alg":"EdDSA","kid":"k-EdDSA"}`, payload), ErrCritUnsupported},

		// RFC 8725 §3.10: keys never come from the token.
		{"jku", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","jku":"https://evil.example/jwks"}`, payload), ErrForbiddenHeader},
		{"x5u", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","x5u":"https://evil.example/cert"}`, payload), ErrForbiddenHeader},
		{"jwk", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","jwk":`+string(edJWK)+`}`, payload), ErrForbiddenHeader},
		{"x5c", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","x5c":["MIIB"]}`, payload), ErrForbiddenHeader},
		{"jku escaped name", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","\u006aku":"https://evil.example/"}`, payload), ErrForbiddenHeader},
		{"jwk null", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","jwk":null}`, payload), ErrForbiddenHeader},

		// Size.
		{"oversized", good + strings.Repeat("A", DefaultMaxTokenSize), ErrTooLarge},
		{"oversized garbage", strings.Repeat(".", DefaultMaxTokenSize+1), ErrTooLarge},

		// Structure and base64url (RFC 7515 §2, §7.1).
		{"two segments", h64 + "." + p64, ErrMalformed},
		{"four segments", good + ".AAAA", ErrMalformed},
		{"extra dot at end", good + ".", ErrMalformed},
		{"one segment", h64, ErrMalformed},
		{"empty", "", ErrMalformed},
		{"dots only", "..", ErrMalformed},
		{"empty header", "." + p64 + "." + sig64, ErrMalformed},
		{"empty payload", h64 + ".." + sig64, ErrMalformed},
		{"empty signature", h64 + "." + p64 + ".", ErrMalformed},
		{"padding", h64 + "=." + p64 + "." + sig64, ErrMalformed},
		{"padded signature", good + "==", ErrMalformed},
		{"standard alphabet", h64 + "." + p64 + "." + strings.NewReplacer("-", "+", "_", "/").Replace(sig64) + "+/", ErrMalformed},
		{"space", h64 + " ." + p64 + "." + sig64, ErrMalformed},
		{"line break", h64 + "." + p64[:4] + "\n" + p64[4:] + "." + sig64, ErrMalformed},
		{"CR in signature", h64 + "." + p64 + "." + sig64[:10] + "\r" + sig64[10:], ErrMalformed},
		{"non-ASCII", h64 + "é." + p64 + "." + sig64, ErrMalformed},
		{"non-canonical signature", h64 + "." + p64 + "." + sig64[:len(sig64)-1] + nonCanonical(sig64), ErrMalformed},
		{"bad base64 length header", badLen(h64) + "." + p64 + "." + sig64, ErrMalformed},
		{"bad base64 length payload, signed", signRaw(t, ed, h64+"."+badLen(p64)), ErrMalformed},
		{"non-canonical payload, signed", signRaw(t, ed, h64+"."+p64[:len(p64)-1]+nonCanonical(p64)), ErrMalformed},
		{"header not JSON", unsigned(`alg=EdDSA`, payload, fakeSig), ErrMalformed},
		{"header array", unsigned(`["EdDSA"]`, payload, fakeSig), ErrMalformed},
		{"header string", unsigned(`"EdDSA"`, payload, fakeSig), ErrMalformed},
		{"header trailing data", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA"}{}`, payload), ErrMalformed},
		{"header trailing comma", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA",}`, payload), ErrMalformed},
		{"header invalid UTF-8", craft(t, ed, "{\"alg\":\"EdDSA\",\"kid\":\"k-EdDSA\",\"x\":\"\xff\"}", payload), ErrMalformed},
		{"header lone surrogate", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","x":"\ud800"}`, payload), ErrMalformed},
		{"header deep nesting", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`, payload), ErrMalformed},

		// Key lookup (RFC 7515 §4.1.4).
		{"unknown kid", craft(t, ed, `{"alg":"EdDSA","kid":"k-other"}`, payload), ErrUnknownKey},
		{"kid case differs", craft(t, ed, `{"alg":"EdDSA","kid":"K-EDDSA"}`, payload), ErrUnknownKey},
		{"no kid, several keys", craft(t, ed, `{"alg":"EdDSA"}`, payload), ErrUnknownKey},
		{"empty kid, several keys", craft(t, ed, `{"alg":"EdDSA","kid":""}`, payload), ErrUnknownKey},

		// Signatures.
		{"wrong key same kid", craft(t, mustGenerate(t, EdDSA, "k-EdDSA"), `{"alg":"EdDSA","kid":"k-EdDSA"}`, payload), ErrBadSignature},
		{"tampered payload", h64 + "." + string(appendB64(nil, []byte(`{"sub":"u2"}`))) + "." + sig64, ErrBadSignature},
		{"short signature", h64 + "." + p64 + "." + string(appendB64(nil, mustDecode(t, sig64)[:63])), ErrBadSignature},
		{"truncated signature, non-canonical", h64 + "." + p64 + "." + sig64[:len(sig64)-5] + nonCanonical(sig64[:len(sig64)-4]), ErrMalformed},
		{"huge signature", h64 + "." + p64 + "." + strings.Repeat("A", 2000), ErrBadSignature},
		{"long signature", h64 + "." + p64 + "." + sig64 + "AAAA", ErrBadSignature},
		{"zero EdDSA signature", unsigned(`{"alg":"EdDSA","kid":"k-EdDSA"}`, payload, make([]byte, 64)), ErrBadSignature},
		{"zero ES256 signature", unsigned(`{"alg":"ES256","kid":"k-ES256"}`, payload, make([]byte, 64)), ErrBadSignature},
		{"ES256 R zero", unsigned(`{"alg":"ES256","kid":"k-ES256"}`, payload, append(make([]byte, 32), fakeSig[:32]...)), ErrBadSignature},
		{"ES256 ASN.1 signature", es256DER(t, es, `{"alg":"ES256","kid":"k-ES256"}`, payload), ErrBadSignature},
		{"zero RS256 signature", unsigned(`{"alg":"RS256","kid":"k-RS256"}`, payload, make([]byte, 256)), ErrBadSignature},
		{"RS256 signature by EdDSA", craft(t, ed, `{"alg":"RS256","kid":"k-RS256"}`, payload), ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := v.Verify(t.Context(), tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify() err = %v, want %v", err, tt.want)
			}
			if tok.Payload != nil || !tok.Key.IsZero() {
				t.Errorf("rejected token returned data: %+v", tok)
			}
		})
	}
}

// nonCanonical returns a replacement for the last character of s that
// decodes to the same bytes but sets the unused low bits.
func nonCanonical(s string) string {
	last := b64Value(s[len(s)-1])
	switch len(s) % 4 {
	case 2:
		last |= 0x0f
	case 3:
		last |= 0x03
	default:
		panic("segment has no unused bits")
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return string(alphabet[last])
}

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := decodeB64(nil, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// badLen pads s with 'A' to a length of 1 mod 4, which no base64 string
// has.
func badLen(s string) string {
	for len(s)%4 != 1 {
		s += "A"
	}
	return s
}

// signRaw appends priv's signature to a signing input.
func signRaw(t testing.TB, priv PrivateKey, in string) string {
	t.Helper()
	sig, err := priv.sign([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + string(appendB64(nil, sig))
}

func mustGenerate(t testing.TB, alg Algorithm, kid string) PrivateKey {
	t.Helper()
	k, err := GenerateKey(alg, kid)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// es256DER signs like ES256 but writes the signature in ASN.1 DER, a
// common interoperability bug that RFC 7518 §3.4 rules out.
func es256DER(t testing.TB, priv PrivateKey, header, payload string) string {
	t.Helper()
	in := string(appendB64(nil, []byte(header))) + "." + string(appendB64(nil, []byte(payload)))
	h := sha256.Sum256([]byte(in))
	der, err := priv.ec.Sign(nil, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + string(appendB64(nil, der))
}

func TestVerifyAccepts(t *testing.T) {
	keys := testKeys(t)
	ed := keys[EdDSA]
	one, _ := NewJWKS(ed.Public())
	const payload = `{"sub":"u1"}`
	tests := []struct {
		name   string
		keys   KeySet
		token  string
		header Header
	}{
		{"no kid, one key", one, craft(t, ed, `{"alg":"EdDSA"}`, payload), Header{Algorithm: EdDSA}},
		{"unknown parameters ignored", one, craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","x5t":"abc","ALG":"none","JKU":"x","nested":{"a":[1,2.5e3,true,null]}}`, payload),
			Header{Algorithm: EdDSA, KeyID: "k-EdDSA"}},
		{"whitespace and escapes", one, craft(t, ed, " {\"alg\" : \"Ed\\u0044SA\",\r\n\t\"kid\":\"k-EdDSA\", \"typ\":\"at+jwt\", \"cty\":\"JWT\" } ", payload),
			Header{Algorithm: EdDSA, KeyID: "k-EdDSA", Type: "at+jwt", ContentType: "JWT"}},
		{"KeyFunc", KeyFunc(func(_ context.Context, kid string) (PublicKey, bool) { return ed.Public(), kid == "k-EdDSA" }),
			craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA"}`, payload), Header{Algorithm: EdDSA, KeyID: "k-EdDSA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := (&Verifier{Keys: tt.keys}).Verify(t.Context(), tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Header != tt.header {
				t.Errorf("header = %+v, want %+v", tok.Header, tt.header)
			}
			if string(tok.Payload) != payload {
				t.Errorf("payload = %s", tok.Payload)
			}
		})
	}
}

func TestVerifierConfig(t *testing.T) {
	ed := testKeys(t)[EdDSA]
	set, _ := NewJWKS(ed.Public())
	tok, err := Sign(ed, "", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Verifier{Keys: set, MaxTokenSize: len(tok)}).Verify(t.Context(), tok); err != nil {
		t.Errorf("token at the limit: %v", err)
	}
	if _, err := (&Verifier{Keys: set, MaxTokenSize: len(tok) - 1}).Verify(t.Context(), tok); !errors.Is(err, ErrTooLarge) {
		t.Errorf("token over the limit: err = %v, want ErrTooLarge", err)
	}
	if _, err := (&Verifier{}).Verify(t.Context(), tok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("no key set: err = %v, want ErrUnknownKey", err)
	}
	zero := KeyFunc(func(context.Context, string) (PublicKey, bool) { return PublicKey{}, true })
	if _, err := (&Verifier{Keys: zero}).Verify(t.Context(), tok); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("zero key: err = %v, want ErrInvalidKey", err)
	}
	var nilSet *JWKS
	if _, err := (&Verifier{Keys: nilSet}).Verify(t.Context(), tok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("nil *JWKS: err = %v, want ErrUnknownKey", err)
	}
}

func TestSignHeader(t *testing.T) {
	keys := testKeys(t)
	for alg, k := range keys {
		tok, err := Sign(k, "at+jwt", []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		hdr, err := decodeB64(nil, []byte(tok[:strings.IndexByte(tok, '.')]))
		if err != nil {
			t.Fatal(err)
		}
		want := `{"alg":"` + string(alg) + `","kid":"k-` + string(alg) + `","typ":"at+jwt"}`
		if string(hdr) != want {
			t.Errorf("%s header = %s, want %s", alg, hdr, want)
		}
	}
	ed := keys[EdDSA]
	a, _ := Sign(ed, "JWT", []byte("x"))
	b, _ := Sign(ed, "JWT", []byte("x"))
	if a != b {
		t.Errorf("EdDSA signing is not deterministic")
	}
	odd, err := NewPrivateKey(EdDSA, `k"<\`, ed.ed)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Sign(odd, "", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := NewJWKS(odd.Public(), keys[ES256].Public())
	got, err := (&Verifier{Keys: set}).Verify(t.Context(), tok)
	if err != nil || got.Header.KeyID != `k"<\` {
		t.Errorf("kid with JSON special characters: %+v, %v", got.Header, err)
	}
	if _, err := Sign(PrivateKey{}, "", nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Sign with zero key: err = %v", err)
	}
	if _, err := Sign(ed, "\xff", nil); err == nil {
		t.Errorf("Sign with invalid typ succeeded")
	}
}

// TestVerifyConcurrent shares one Verifier and JWKS between goroutines;
// run with -race.
func TestVerifyConcurrent(t *testing.T) {
	keys := testKeys(t)
	var pubs []PublicKey
	var toks []string
	for _, k := range keys {
		pubs = append(pubs, k.Public())
		tok, err := Sign(k, "at+jwt", []byte(benchPayload))
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	set, _ := NewJWKS(pubs...)
	v := &Verifier{Keys: set}
	done := make(chan error)
	for g := range 8 {
		go func() {
			for i := range 20 {
				tok, err := v.Verify(t.Context(), toks[(g+i)%len(toks)])
				if err == nil {
					_, err = ParseClaims(tok.Payload)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestVerifyHeaderMemo checks that the memo of the last verified header
// answers exactly what parsing would: tokens of two keys alternate, each
// verified with its own key and header, and a token that reuses a
// remembered header segment is still checked in full. Only a header
// whose signature verified is remembered.
func TestVerifyHeaderMemo(t *testing.T) {
	keys := testKeys(t)
	ed, rs := keys[EdDSA], keys[RS256]
	set, err := NewJWKS(ed.Public(), rs.Public())
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Keys: set}
	const payload = `{"sub":"u1"}`
	edHdr, rsHdr := `{"alg":"EdDSA","kid":"k-EdDSA","typ":"at+jwt"}`, `{"alg":"RS256","kid":"k-RS256"}`
	edTok, rsTok := craft(t, ed, edHdr, payload), craft(t, rs, rsHdr, payload)
	want := map[string]Header{
		edTok: {Algorithm: EdDSA, KeyID: "k-EdDSA", Type: "at+jwt"},
		rsTok: {Algorithm: RS256, KeyID: "k-RS256"},
	}
	for _, tok := range []string{edTok, edTok, rsTok, edTok, rsTok, rsTok} {
		got, err := v.Verify(t.Context(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if got.Header != want[tok] || got.Key.KeyID() != want[tok].KeyID || string(got.Payload) != payload {
			t.Fatalf("Verify = %+v, key %q, payload %s; want %+v", got.Header, got.Key.KeyID(), got.Payload, want[tok])
		}
	}
	seg := func(tok string, i int) string { return strings.Split(tok, ".")[i] }
	remembered := func() string { return v.last.Load().seg }
	if remembered() != seg(rsTok, 0) {
		t.Fatalf("memo holds %q, want the last verified header", remembered())
	}
	rejects := []struct {
		name  string
		token string
		want  error
	}{
		{"remembered header, forged payload", seg(rsTok, 0) + "." + string(appendB64(nil, []byte(`{"sub":"admin"}`))) + "." + seg(rsTok, 2), ErrBadSignature},
		{"remembered header, other key's signature", seg(rsTok, 0) + "." + seg(rsTok, 1) + "." + seg(edTok, 2), ErrBadSignature},
		{"other header, remembered signature", seg(edTok, 0) + "." + seg(rsTok, 1) + "." + seg(rsTok, 2), ErrBadSignature},
		{"made-up header", craft(t, ed, `{"alg":"EdDSA","kid":"nobody"}`, payload), ErrUnknownKey},
		{"forbidden header", craft(t, ed, `{"alg":"EdDSA","kid":"k-EdDSA","jku":"https://x"}`, payload), ErrForbiddenHeader},
	}
	for _, tt := range rejects {
		if _, err := v.Verify(t.Context(), tt.token); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if remembered() != seg(rsTok, 0) {
			t.Errorf("%s: memo now holds %q", tt.name, remembered())
		}
	}
}
