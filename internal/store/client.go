package store

import (
	"context"
	"time"
)

// Client is a registered OAuth 2.0 client. Field names follow the client
// metadata of RFC 7591 where there is one.
type Client struct {
	// ID is the public client identifier ("client_id"), also the "sub" of
	// the client's own (client credentials) access tokens.
	ID string
	// SecretHash is the SHA-256 of the client secret, the only form in
	// which the secret is stored. Empty for public clients
	// (TokenEndpointAuthMethod "none"). Secrets carry 256 random bits, so a
	// fast hash is enough; see docs/decisions.md.
	SecretHash []byte
	// Name is the human-readable name ("client_name"); may be empty.
	Name string
	// GrantTypes are the grant types the client may use at the token
	// endpoint ("grant_types"), in the order registered.
	GrantTypes []string
	// RedirectURIs are the registered redirection URIs ("redirect_uris"),
	// in the order registered.
	RedirectURIs []string
	// Scopes are the scopes the client may request ("scope", split).
	Scopes []string
	// Audiences are the audiences the client may request tokens for
	// ("audience"); empty means the issuer only.
	Audiences []string
	// TokenEndpointAuthMethod is how the client authenticates:
	// "client_secret_basic", "client_secret_post" or "none".
	TokenEndpointAuthMethod string
	// FirstParty clients are the deployment's own applications: users are
	// not asked for consent.
	FirstParty bool
	// PostLogoutRedirectURIs are where the end-session endpoint may send
	// the browser after logout ("post_logout_redirect_uris", OpenID
	// Connect RP-Initiated Logout 1.0), in the order registered.
	PostLogoutRedirectURIs []string
	// IDTokenSignedResponseAlg is the algorithm of the client's ID tokens
	// ("id_token_signed_response_alg"); empty means RS256.
	IDTokenSignedResponseAlg string
	// BackchannelLogoutURI receives OpenID Connect Back-Channel Logout
	// 1.0 logout tokens ("backchannel_logout_uri"); empty for none.
	BackchannelLogoutURI string
	// BackchannelLogoutSessionRequired says the client needs the "sid"
	// claim in logout tokens ("backchannel_logout_session_required").
	BackchannelLogoutSessionRequired bool
	// CreatedAt is when the client was registered.
	CreatedAt time.Time
}

// ClientStore keeps OAuth clients.
//
// A client that does not exist, or that was deleted, is ErrNotFound. The
// list fields (GrantTypes, RedirectURIs, Scopes, Audiences,
// PostLogoutRedirectURIs) come back in
// the order written; nil and empty are the same. SecretHash comes back
// byte for byte.
type ClientStore interface {
	// CreateClient stores a new client. It returns ErrConflict if the id is
	// taken.
	CreateClient(ctx context.Context, c Client) error
	// GetClient returns the client with the given id, or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client, oldest first (ties broken by id);
	// an empty slice if there are none.
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient removes the client, or returns ErrNotFound. A backend
	// that also keeps consents and authorization codes removes those of
	// the client in the same transaction. It does not touch the client's
	// grants: the caller revokes them.
	DeleteClient(ctx context.Context, id string) error
}
