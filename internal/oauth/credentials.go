package oauth

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
)

// Limits on presented credentials; anything longer cannot be a Gatehouse
// client id or secret and is refused without a store lookup.
const (
	maxClientIDLen     = 128
	maxClientSecretLen = 256
)

// Credentials are the client authentication a request presents.
type Credentials struct {
	// Method is AuthClientSecretBasic, AuthClientSecretPost or AuthNone
	// (client_id alone), or "" when the request names no client: a
	// first-party request.
	Method string
	// ClientID is the client's id.
	ClientID string
	// Secret is the presented secret; empty for AuthNone.
	Secret string
}

// Present reports whether the request names a client.
func (c Credentials) Present() bool { return c.Method != "" }

// ParseCredentials reads the client authentication of a token,
// revocation or introspection request from its Authorization header value
// and its form parameters (RFC 6749 section 2.3.1):
//
//   - "Authorization: Basic" with the id and the secret, each
//     form-urlencoded before base64 as section 2.3.1 requires (so a '+' in
//     them is a space and a literal '+' arrives as %2B):
//     AuthClientSecretBasic;
//   - the client_id and client_secret parameters: AuthClientSecretPost;
//   - client_id alone, with an empty client_secret, or in a Basic header
//     with an empty secret (as some libraries send for public clients):
//     AuthNone;
//   - none of these: a first-party request, Method "".
//
// A request may use only one method (section 2.3): Basic together with a
// client_secret parameter, or a client_id parameter that names another
// client than the Basic header, is ErrInvalidRequest. Malformed Basic
// credentials, and a client_secret without client_id, are
// ErrInvalidClient. An Authorization header of another scheme (Bearer)
// is not client authentication and is ignored here; endpoints that
// accept bearer tokens check for them first.
//
// ParseCredentials only reads; Clients.Authenticate checks.
func ParseCredentials(authorization string, form url.Values) (Credentials, error) {
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	if scheme, rest, _ := strings.Cut(authorization, " "); strings.EqualFold(scheme, "Basic") {
		id, secret, err := decodeBasic(strings.TrimLeft(rest, " "))
		if err != nil {
			return Credentials{}, err
		}
		if formSecret != "" {
			return Credentials{}, ErrInvalidRequest.WithDescription("more than one client authentication method: use either the Authorization header or client_secret")
		}
		if formID != "" && formID != id {
			return Credentials{}, ErrInvalidRequest.WithDescription("client_id does not match the Authorization header")
		}
		if secret == "" {
			// What some libraries send for a public client.
			return Credentials{Method: AuthNone, ClientID: id}, nil
		}
		return Credentials{Method: AuthClientSecretBasic, ClientID: id, Secret: secret}, nil
	}
	switch {
	case formID == "" && formSecret != "":
		return Credentials{}, ErrInvalidClient.WithDescription("client_secret without client_id")
	case formID == "":
		return Credentials{}, nil
	case formSecret == "":
		return Credentials{Method: AuthNone, ClientID: formID}, nil
	}
	return Credentials{Method: AuthClientSecretPost, ClientID: formID, Secret: formSecret}, nil
}

// errMalformedBasic is built once: decodeBasic runs on every
// authenticated token, introspection and revocation request.
var errMalformedBasic = ErrInvalidClient.WithDescription("malformed Basic credentials")

// decodeBasic decodes the credentials of an HTTP Basic header: base64 of
// the form-urlencoded id, a colon, and the form-urlencoded secret.
func decodeBasic(b64 string) (id, secret string, err error) {
	malformed := errMalformedBasic
	if len(b64) > 2*(maxClientIDLen+maxClientSecretLen)*3 {
		return "", "", malformed
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "", malformed.WithCause(err)
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", malformed
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		// Not err: it quotes part of the id, which may be a secret sent
		// in the wrong slot.
		return "", "", malformed.WithCause(errors.New("client id is not form-urlencoded"))
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		// Not err: it quotes part of the secret, and the cause is logged.
		return "", "", malformed.WithCause(errors.New("client secret is not form-urlencoded"))
	}
	if id == "" {
		return "", "", malformed
	}
	return id, secret, nil
}
