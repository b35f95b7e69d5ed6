// Package passkeytest is a software WebAuthn authenticator for tests,
// built on crypto/ecdsa (ES256, "none" attestation). It plays the browser
// too: it writes the clientDataJSON for the origin it is told and signs
// for the RP ID it is told, so a test can lie about either, replay a
// challenge or clone the key (counter going backwards).
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator is a software WebAuthn authenticator holding one
// credential.
type Authenticator struct {
	key *ecdsa.PrivateKey
	// CredID is the credential id; UserHandle the user handle it was
	// created for (set by Create).
	CredID     []byte
	UserHandle []byte
	// Counter is the signature counter, reported as is.
	Counter uint32
	// UV, BE and BS are the flags it reports: user verified, backup
	// eligible, backed up.
	UV, BE, BS bool
	// CounterStep is added to Counter before each signature; 0 makes a
	// counterless authenticator (synced passkeys always report 0).
	CounterStep uint32
	// AAGUID is the authenticator model it reports at registration; zeros
	// (as "none" attestation sends) by default.
	AAGUID [16]byte
}

// New returns an authenticator with a fresh P-256 key and credential id,
// user verification on and a counter that grows by one per signature.
func New(t testing.TB) *Authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &Authenticator{key: key, CredID: id, UV: true, CounterStep: 1}
}

// Clone returns a copy holding the same private key and counter: what an
// attacker who extracted the key has.
func (a *Authenticator) Clone() *Authenticator {
	c := *a
	return &c
}

// B64 is the base64url encoding WebAuthn's JSON forms use.
var B64 = base64.RawURLEncoding

func (a *Authenticator) flags(attested bool) byte {
	f := protocol.FlagUserPresent
	if a.UV {
		f |= protocol.FlagUserVerified
	}
	if a.BE {
		f |= protocol.FlagBackupEligible
	}
	if a.BS {
		f |= protocol.FlagBackupState
	}
	if attested {
		f |= protocol.FlagAttestedCredentialData
	}
	return byte(f)
}

func (a *Authenticator) authData(t testing.TB, rpID string, attested bool) []byte {
	t.Helper()
	rpHash := sha256.Sum256([]byte(rpID))
	d := append(rpHash[:], a.flags(attested))
	d = binary.BigEndian.AppendUint32(d, a.Counter)
	if attested {
		d = append(d, a.AAGUID[:]...)
		d = binary.BigEndian.AppendUint16(d, uint16(len(a.CredID)))
		d = append(d, a.CredID...)
		pub, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
			PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
			Curve:         1, // P-256
			XCoord:        a.key.X.FillBytes(make([]byte, 32)),
			YCoord:        a.key.Y.FillBytes(make([]byte, 32)),
		})
		if err != nil {
			t.Fatal(err)
		}
		d = append(d, pub...)
	}
	return d
}

func clientData(t testing.TB, typ, challenge, origin string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Create answers navigator.credentials.create: a RegistrationResponseJSON
// with "none" attestation, for origin and rpID.
func (a *Authenticator) Create(t testing.TB, opts *protocol.CredentialCreation, origin, rpID string) []byte {
	t.Helper()
	a.UserHandle = userHandleOf(t, opts.Response.User.ID)
	cd := clientData(t, "webauthn.create", opts.Response.Challenge.String(), origin)
	att, err := webauthncbor.Marshal(map[string]any{
		"fmt":      "none",
		"attStmt":  map[string]any{},
		"authData": a.authData(t, rpID, true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a.credentialJSON(t, map[string]any{
		"clientDataJSON":    B64.EncodeToString(cd),
		"attestationObject": B64.EncodeToString(att),
		"transports":        []string{"internal", "hybrid"},
	})
}

// credentialJSON is the PublicKeyCredential JSON of this authenticator's
// credential around response (a registration's or an assertion's).
func (a *Authenticator) credentialJSON(t testing.TB, response map[string]any) []byte {
	t.Helper()
	return MustJSON(t, map[string]any{
		"id":                     B64.EncodeToString(a.CredID),
		"rawId":                  B64.EncodeToString(a.CredID),
		"type":                   "public-key",
		"response":               response,
		"clientExtensionResults": map[string]any{},
	})
}

// Get answers navigator.credentials.get: an AuthenticationResponseJSON
// signed with the credential's key, for origin and rpID.
func (a *Authenticator) Get(t testing.TB, opts *protocol.CredentialAssertion, origin, rpID string) []byte {
	t.Helper()
	a.Counter += a.CounterStep
	cd := clientData(t, "webauthn.get", opts.Response.Challenge.String(), origin)
	ad := a.authData(t, rpID, false)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return a.credentialJSON(t, map[string]any{
		"clientDataJSON":    B64.EncodeToString(cd),
		"authenticatorData": B64.EncodeToString(ad),
		"signature":         B64.EncodeToString(sig),
		"userHandle":        B64.EncodeToString(a.UserHandle),
	})
}

// userHandleOf decodes the user.id of creation options as a browser does:
// options decoded from JSON hold it as a base64url string.
func userHandleOf(t testing.TB, id any) []byte {
	t.Helper()
	switch v := id.(type) {
	case protocol.URLEncodedBase64:
		return v
	case []byte:
		return v
	case string:
		b, err := B64.DecodeString(v)
		if err != nil {
			t.Fatalf("user.id %q is not base64url: %v", v, err)
		}
		return b
	}
	t.Fatalf("user.id of type %T", id)
	return nil
}

// MustJSON encodes v or fails the test.
func MustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CreationOptions decodes the JSON answer of a registration begin
// ({"publicKey": PublicKeyCredentialCreationOptionsJSON}).
func CreationOptions(t testing.TB, body []byte) *protocol.CredentialCreation {
	t.Helper()
	var o protocol.CredentialCreation
	if err := json.Unmarshal(body, &o); err != nil || len(o.Response.Challenge) == 0 {
		t.Fatalf("creation options %s: %v", body, err)
	}
	return &o
}

// RequestOptions decodes the JSON answer of a login begin
// ({"publicKey": PublicKeyCredentialRequestOptionsJSON}).
func RequestOptions(t testing.TB, body []byte) *protocol.CredentialAssertion {
	t.Helper()
	var o protocol.CredentialAssertion
	if err := json.Unmarshal(body, &o); err != nil || len(o.Response.Challenge) == 0 {
		t.Fatalf("request options %s: %v", body, err)
	}
	return &o
}

// With adds fields to a WebAuthn response JSON (as "name", "mode" or
// "mfa_token" next to its own fields).
func With(t testing.TB, response []byte, fields map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(response, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		m[k] = v
	}
	return MustJSON(t, m)
}
