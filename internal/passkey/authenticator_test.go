package passkey

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

// softAuthenticator is a software WebAuthn authenticator built on
// crypto/ecdsa (ES256), playing the part of the browser too: it writes
// the clientDataJSON for the origin it is told, and signs for the RP ID it
// is told, so tests can lie about either.
type softAuthenticator struct {
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
	counter    uint32
	// Flags it reports.
	uv, be, bs bool
	// counterStep is added to counter before each signature; 0 makes a
	// counterless authenticator (synced passkeys always report 0).
	counterStep uint32
}

func newSoftAuthenticator(t *testing.T) *softAuthenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &softAuthenticator{key: key, credID: id, uv: true, counterStep: 1}
}

// clone returns a copy holding the same private key and counter: what an
// attacker who extracted the key has.
func (a *softAuthenticator) clone() *softAuthenticator {
	c := *a
	return &c
}

var b64 = base64.RawURLEncoding

func (a *softAuthenticator) flags(attested bool) byte {
	f := protocol.FlagUserPresent
	if a.uv {
		f |= protocol.FlagUserVerified
	}
	if a.be {
		f |= protocol.FlagBackupEligible
	}
	if a.bs {
		f |= protocol.FlagBackupState
	}
	if attested {
		f |= protocol.FlagAttestedCredentialData
	}
	return byte(f)
}

func (a *softAuthenticator) authData(t *testing.T, rpID string, attested bool) []byte {
	t.Helper()
	rpHash := sha256.Sum256([]byte(rpID))
	d := append(rpHash[:], a.flags(attested))
	d = binary.BigEndian.AppendUint32(d, a.counter)
	if attested {
		d = append(d, make([]byte, 16)...) // AAGUID: zeros, as "none" attestation sends
		d = binary.BigEndian.AppendUint16(d, uint16(len(a.credID)))
		d = append(d, a.credID...)
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

func clientData(t *testing.T, typ, challenge, origin string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// create answers navigator.credentials.create: a RegistrationResponseJSON
// with "none" attestation.
func (a *softAuthenticator) create(t *testing.T, opts *protocol.CredentialCreation, origin, rpID string) []byte {
	t.Helper()
	a.userHandle = userHandleOf(t, opts.Response.User.ID)
	cd := clientData(t, "webauthn.create", opts.Response.Challenge.String(), origin)
	att, err := webauthncbor.Marshal(map[string]any{
		"fmt":      "none",
		"attStmt":  map[string]any{},
		"authData": a.authData(t, rpID, true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, map[string]any{
		"id":    b64.EncodeToString(a.credID),
		"rawId": b64.EncodeToString(a.credID),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal", "hybrid"},
		},
		"clientExtensionResults": map[string]any{},
	})
}

// get answers navigator.credentials.get: an AuthenticationResponseJSON
// signed with the credential's key.
func (a *softAuthenticator) get(t *testing.T, opts *protocol.CredentialAssertion, origin, rpID string) []byte {
	t.Helper()
	a.counter += a.counterStep
	cd := clientData(t, "webauthn.get", opts.Response.Challenge.String(), origin)
	ad := a.authData(t, rpID, false)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, map[string]any{
		"id":    b64.EncodeToString(a.credID),
		"rawId": b64.EncodeToString(a.credID),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.userHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

// userHandleOf decodes the user.id of creation options as a browser does.
func userHandleOf(t *testing.T, id any) []byte {
	t.Helper()
	switch v := id.(type) {
	case protocol.URLEncodedBase64:
		return v
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	t.Fatalf("user.id of type %T", id)
	return nil
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
