package oauth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// Grant types a client may register (RFC 7591 section 2).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Token endpoint authentication methods (RFC 7591 section 2).
const (
	// AuthClientSecretBasic sends the id and secret in an HTTP Basic
	// Authorization header (RFC 6749 section 2.3.1). The default.
	AuthClientSecretBasic = "client_secret_basic"
	// AuthClientSecretPost sends them as the client_id and client_secret
	// form parameters.
	AuthClientSecretPost = "client_secret_post"
	// AuthNone is a public client (a native or browser app that cannot
	// keep a secret): it sends only client_id, has no secret, and must use
	// PKCE.
	AuthNone = "none"
)

// Limits on registrations.
const (
	maxNameLen      = 200
	maxRedirectURIs = 20
)

// Metadata is a client registration, with the field names of RFC 7591 in
// the comments.
type Metadata struct {
	// Name ("client_name") is shown to users; optional.
	Name string
	// GrantTypes ("grant_types") are among authorization_code,
	// refresh_token and client_credentials; default authorization_code
	// (RFC 7591). refresh_token needs authorization_code, which issues
	// refresh tokens; client_credentials needs a secret.
	GrantTypes []string
	// RedirectURIs ("redirect_uris"); authorization_code needs at least
	// one. See checkRedirectURI for what is accepted.
	RedirectURIs []string
	// Scope ("scope") is the space-separated list of scopes the client may
	// request.
	Scope string
	// Audience ("audience") lists the audiences the client may request
	// tokens for; empty means the issuer only.
	Audience []string
	// TokenEndpointAuthMethod ("token_endpoint_auth_method") is
	// client_secret_basic (the default), client_secret_post or none.
	TokenEndpointAuthMethod string
	// FirstParty clients skip the consent screen.
	FirstParty bool
	// PostLogoutRedirectURIs ("post_logout_redirect_uris", OpenID Connect
	// RP-Initiated Logout 1.0) are where the end-session endpoint may send
	// the browser back to; same rules as RedirectURIs.
	PostLogoutRedirectURIs []string
	// IDTokenSignedResponseAlg ("id_token_signed_response_alg", OpenID
	// Connect Dynamic Client Registration 1.0) signs the client's ID
	// tokens: RS256 (the default), EdDSA or ES256; the server must keep a
	// key for it.
	IDTokenSignedResponseAlg string
	// BackchannelLogoutURI ("backchannel_logout_uri", OpenID Connect
	// Back-Channel Logout 1.0 section 2.2) receives logout tokens: an
	// absolute https URL without fragment, or http on a loopback host for
	// development. Empty for none.
	BackchannelLogoutURI string
	// BackchannelLogoutSessionRequired ("backchannel_logout_session_required")
	// asks for the "sid" claim in logout tokens; it needs a
	// BackchannelLogoutURI. Gatehouse always sends "sid".
	BackchannelLogoutSessionRequired bool
}

// RequiresPKCE reports whether the client must use PKCE in the
// authorization code flow: public clients (AuthNone) always must.
func RequiresPKCE(c store.Client) bool { return c.TokenEndpointAuthMethod == AuthNone }

// client checks m and returns the client it describes, without id,
// secret or creation time, with defaults applied and repeated list
// members dropped. A problem is a *MetadataError.
func (m Metadata) client() (store.Client, error) {
	bad := func(field, format string, args ...any) (store.Client, error) {
		return store.Client{}, &MetadataError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	c := store.Client{Name: m.Name, FirstParty: m.FirstParty, TokenEndpointAuthMethod: m.TokenEndpointAuthMethod}

	if len(c.Name) > maxNameLen {
		return bad("client_name", "is longer than %d bytes", maxNameLen)
	}
	if !utf8.ValidString(c.Name) || strings.IndexFunc(c.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return bad("client_name", "must be UTF-8 text without control characters")
	}

	switch c.TokenEndpointAuthMethod {
	case "":
		c.TokenEndpointAuthMethod = AuthClientSecretBasic
	case AuthClientSecretBasic, AuthClientSecretPost, AuthNone:
	default:
		return bad("token_endpoint_auth_method", "must be %s, %s or %s", AuthClientSecretBasic, AuthClientSecretPost, AuthNone)
	}

	for i, g := range m.GrantTypes {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
		default:
			return bad(fmt.Sprintf("grant_types[%d]", i), "must be %s, %s or %s", GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials)
		}
		if !slices.Contains(c.GrantTypes, g) {
			c.GrantTypes = append(c.GrantTypes, g)
		}
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{GrantAuthorizationCode}
	}
	has := func(g string) bool { return slices.Contains(c.GrantTypes, g) }
	switch {
	case has(GrantRefreshToken) && !has(GrantAuthorizationCode):
		return bad("grant_types", "refresh_token needs authorization_code: client credentials tokens have no refresh token")
	case has(GrantClientCredentials) && c.TokenEndpointAuthMethod == AuthNone:
		return bad("grant_types", "client_credentials needs a client secret: a public client (token_endpoint_auth_method none) cannot use it")
	}

	if len(m.RedirectURIs) > maxRedirectURIs {
		return bad("redirect_uris", "has more than %d entries", maxRedirectURIs)
	}
	for i, u := range m.RedirectURIs {
		if why := checkRedirectURI(u); why != "" {
			return bad(fmt.Sprintf("redirect_uris[%d]", i), "%s", why)
		}
		if !slices.Contains(c.RedirectURIs, u) {
			c.RedirectURIs = append(c.RedirectURIs, u)
		}
	}
	if has(GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		return bad("redirect_uris", "authorization_code needs at least one redirect URI")
	}

	if len(m.PostLogoutRedirectURIs) > maxRedirectURIs {
		return bad("post_logout_redirect_uris", "has more than %d entries", maxRedirectURIs)
	}
	for i, u := range m.PostLogoutRedirectURIs {
		if why := checkRedirectURI(u); why != "" {
			return bad(fmt.Sprintf("post_logout_redirect_uris[%d]", i), "%s", why)
		}
		if !slices.Contains(c.PostLogoutRedirectURIs, u) {
			c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, u)
		}
	}
	switch m.IDTokenSignedResponseAlg {
	case "", string(jose.RS256), string(jose.EdDSA), string(jose.ES256):
		c.IDTokenSignedResponseAlg = m.IDTokenSignedResponseAlg
	default:
		return bad("id_token_signed_response_alg", "must be RS256, EdDSA or ES256")
	}

	if m.BackchannelLogoutURI != "" {
		if why := checkBackchannelLogoutURI(m.BackchannelLogoutURI); why != "" {
			return bad("backchannel_logout_uri", "%s", why)
		}
	} else if m.BackchannelLogoutSessionRequired {
		return bad("backchannel_logout_session_required", "needs a backchannel_logout_uri")
	}
	c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired = m.BackchannelLogoutURI, m.BackchannelLogoutSessionRequired

	scopes, err := ParseScope(m.Scope)
	if err != nil {
		var oe *Error
		if errors.As(err, &oe) {
			return bad("scope", "%s", oe.Description)
		}
		return store.Client{}, err
	}
	c.Scopes = scopes

	if len(m.Audience) > maxAudiences {
		return bad("audience", "has more than %d entries", maxAudiences)
	}
	for i, a := range m.Audience {
		if !validAudience(a) {
			return bad(fmt.Sprintf("audience[%d]", i), "must be 1 to %d bytes of printable ASCII without spaces", maxAudienceLen)
		}
		if !slices.Contains(c.Audiences, a) {
			c.Audiences = append(c.Audiences, a)
		}
	}
	return c, nil
}
