package openapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// softKey is a software WebAuthn authenticator (ES256, "none"
// attestation) that also plays the browser: enough to drive the passkey
// operations of the document. Its CBOR is written out here (RFC 8949
// major types 0-3 and 5) rather than importing a CBOR library into this
// module for two fixed structures.
type softKey struct {
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
	counter    uint32
}

var b64u = base64.RawURLEncoding

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{key: k, credID: id}
}

// cborHead is the head of a CBOR data item of major type major and
// argument n.
func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	default:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	}
}

func cborInt(v int) []byte {
	if v < 0 {
		return cborHead(1, uint64(-1-v))
	}
	return cborHead(0, uint64(v))
}

func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }
func cborText(s string) []byte  { return append(cborHead(3, uint64(len(s))), s...) }

// authData is the authenticator data for rpID: user present and
// verified, and with attested credential data (the COSE public key) when
// attested.
func (k *softKey) authData(rpID string, attested bool) []byte {
	rp := sha256.Sum256([]byte(rpID))
	flags := byte(0x01 | 0x04) // UP, UV
	if attested {
		flags |= 0x40 // AT
	}
	d := append(rp[:], flags)
	d = binary.BigEndian.AppendUint32(d, k.counter)
	if !attested {
		return d
	}
	d = append(d, make([]byte, 16)...) // AAGUID
	d = binary.BigEndian.AppendUint16(d, uint16(len(k.credID)))
	d = append(d, k.credID...)
	// COSE_Key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
	d = append(d, cborHead(5, 5)...)
	d = append(append(d, cborInt(1)...), cborInt(2)...)
	d = append(append(d, cborInt(3)...), cborInt(-7)...)
	d = append(append(d, cborInt(-1)...), cborInt(1)...)
	d = append(append(d, cborInt(-2)...), cborBytes(k.key.X.FillBytes(make([]byte, 32)))...)
	return append(append(d, cborInt(-3)...), cborBytes(k.key.Y.FillBytes(make([]byte, 32)))...)
}

func clientDataJSON(t *testing.T, typ, challenge, origin string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// create answers the creation options of a registration begin (the whole
// {"publicKey": ...} answer) as navigator.credentials.create would on
// origin, with extra fields added next to the response's.
func (k *softKey) create(t *testing.T, options map[string]any, origin string, extra map[string]any) map[string]any {
	t.Helper()
	pk := options["publicKey"].(map[string]any)
	rp := pk["rp"].(map[string]any)["id"].(string)
	uh, err := b64u.DecodeString(pk["user"].(map[string]any)["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	k.userHandle = uh
	att := cborHead(5, 3)
	att = append(append(att, cborText("fmt")...), cborText("none")...)
	att = append(append(att, cborText("attStmt")...), cborHead(5, 0)...)
	att = append(append(att, cborText("authData")...), cborBytes(k.authData(rp, true))...)
	out := map[string]any{
		"id": b64u.EncodeToString(k.credID), "rawId": b64u.EncodeToString(k.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64u.EncodeToString(clientDataJSON(t, "webauthn.create", pk["challenge"].(string), origin)),
			"attestationObject": b64u.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	}
	for n, v := range extra {
		out[n] = v
	}
	return out
}

// get answers the request options of a login begin as
// navigator.credentials.get would on origin.
func (k *softKey) get(t *testing.T, options map[string]any, origin string, extra map[string]any) map[string]any {
	t.Helper()
	pk := options["publicKey"].(map[string]any)
	k.counter++
	cd := clientDataJSON(t, "webauthn.get", pk["challenge"].(string), origin)
	ad := k.authData(pk["rpId"].(string), false)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(slices.Clone(ad), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{
		"id": b64u.EncodeToString(k.credID), "rawId": b64u.EncodeToString(k.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64u.EncodeToString(cd),
			"authenticatorData": b64u.EncodeToString(ad),
			"signature":         b64u.EncodeToString(sig),
			"userHandle":        b64u.EncodeToString(k.userHandle),
		},
		"clientExtensionResults": map[string]any{},
	}
	for n, v := range extra {
		out[n] = v
	}
	return out
}

// drivePasskeys exercises the passkey operations for a new user:
// registration, listing, renaming, passwordless login, the passkey as
// second factor, step-up, removal. The server's issuer is http://localhost:PORT, a
// domain name, as WebAuthn needs.
func drivePasskeys(t *testing.T, d *driver) {
	const pw = "correct horse battery staple"
	u, err := url.Parse(d.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	origin := u.Scheme + "://" + u.Host
	email := "dave-" + randomString(t)[:8] + "@example.com"
	d.do(call{method: http.MethodPost, path: "/v1/signup", json: map[string]string{"email": email, "password": pw}, want: 201})
	login := d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": pw}, want: 200})
	cookie := []string{"Cookie", sessionCookie(t, login)}
	csrf := append(slices.Clone(cookie), "X-CSRF-Token", login.str(t, "csrf_token"))

	d.do(call{method: http.MethodPost, path: "/v1/passkeys/register/begin", header: cookie, want: 403, badRequest: true})
	k := newSoftKey(t)
	begun := d.do(call{method: http.MethodPost, path: "/v1/passkeys/register/begin", header: csrf, want: 200})
	d.do(call{method: http.MethodPost, path: "/v1/passkeys/register/finish", header: csrf, json: k.create(t, begun.decode(t), "http://evil.example", nil), want: 400})
	begun = d.do(call{method: http.MethodPost, path: "/v1/passkeys/register/begin", header: csrf, want: 200})
	created := d.do(call{method: http.MethodPost, path: "/v1/passkeys/register/finish", header: csrf, json: k.create(t, begun.decode(t), origin, map[string]any{"name": "Laptop"}), want: 201})
	id := created.str(t, "id")
	d.do(call{method: http.MethodGet, path: "/v1/passkeys", header: cookie, want: 200})
	d.do(call{method: http.MethodPatch, path: "/v1/passkeys/" + id, header: csrf, json: map[string]string{"name": "Work laptop"}, want: 200})
	d.do(call{method: http.MethodPatch, path: "/v1/passkeys/" + id, header: csrf, json: map[string]string{}, want: 400, badRequest: true})

	// Passwordless, in token mode; a wrong origin is refused.
	opts := d.do(call{method: http.MethodPost, path: "/v1/login/passkey/begin", want: 200})
	d.do(call{method: http.MethodPost, path: "/v1/login/passkey/finish", json: k.get(t, opts.decode(t), "http://evil.example", map[string]any{"mode": "token"}), want: 401})
	opts = d.do(call{method: http.MethodPost, path: "/v1/login/passkey/begin", want: 200})
	d.do(call{method: http.MethodPost, path: "/v1/login/passkey/finish", json: k.get(t, opts.decode(t), origin, map[string]any{"mode": "token"}), want: 200})

	// The passkey as second factor after the password.
	required := d.do(call{method: http.MethodPost, path: "/v1/login", json: map[string]string{"email": email, "password": pw}, want: 401})
	tok := required.str(t, "mfa_token")
	d.do(call{method: http.MethodPost, path: "/v1/login/passkey/begin", json: map[string]string{"mfa_token": "nonsense"}, want: 401})
	opts = d.do(call{method: http.MethodPost, path: "/v1/login/passkey/begin", json: map[string]string{"mfa_token": tok}, want: 200})
	second := d.do(call{method: http.MethodPost, path: "/v1/login/passkey/finish", json: k.get(t, opts.decode(t), origin, map[string]any{"mfa_token": tok}), want: 200})
	fresh := []string{"Cookie", sessionCookie(t, second), "X-CSRF-Token", second.str(t, "csrf_token")}

	// Step-up of that session with the passkey; a wrong origin is refused.
	opts = d.do(call{method: http.MethodPost, path: "/v1/reauth/passkey/begin", header: fresh, want: 200})
	d.do(call{method: http.MethodPost, path: "/v1/reauth/passkey/finish", header: fresh, json: k.get(t, opts.decode(t), "http://evil.example", nil), want: 401})
	opts = d.do(call{method: http.MethodPost, path: "/v1/reauth/passkey/begin", header: fresh, want: 200})
	d.do(call{method: http.MethodPost, path: "/v1/reauth/passkey/finish", header: fresh, json: k.get(t, opts.decode(t), origin, nil), want: 200})

	d.do(call{method: http.MethodDelete, path: "/v1/passkeys/" + id, header: fresh, want: 204})
	d.do(call{method: http.MethodDelete, path: "/v1/passkeys/" + id, header: fresh, want: 404})
	// Without a passkey there is nothing to step up with.
	d.do(call{method: http.MethodPost, path: "/v1/reauth/passkey/begin", header: fresh, want: 400})

	// The pages: the script, the management page, its remove form (a
	// stale CSRF token is refused; the API removed the passkey already).
	d.do(call{method: http.MethodGet, path: "/static/passkey.js", want: 200})
	d.do(call{method: http.MethodGet, path: "/account/passkeys", want: 303})
	d.do(call{method: http.MethodGet, path: "/account/passkeys", header: fresh[:2], want: 200})
	d.do(call{method: http.MethodPost, path: "/account/passkeys/remove", header: fresh[:2], form: url.Values{"csrf_token": {"stale"}, "id": {id}}, want: 403})
	d.do(call{method: http.MethodPost, path: "/account/passkeys/remove", header: fresh[:2], form: url.Values{"csrf_token": {second.str(t, "csrf_token")}, "id": {id}}, want: 404})
}
