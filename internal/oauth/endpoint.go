package oauth

import (
	"context"
	"errors"
	"net/url"
	"slices"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/token"
)

// Grant is one grant type of the token endpoint (RFC 6749 section 4). The
// endpoint calls Handle only after it has authenticated the client, checked
// that the client is registered for GrantType, and checked the requested
// scope and audience; a grant adds only what is its own.
type Grant interface {
	// GrantType is the grant_type value the grant answers, such as
	// "client_credentials".
	GrantType() string
	// Handle answers a request. Errors a client may see are *Error;
	// anything else is a server error.
	Handle(ctx context.Context, req TokenRequest) (token.Response, error)
}

// FirstPartyGrant is implemented by grants that also serve Gatehouse's
// own first-party tokens (from POST /v1/login), which are requested
// without client authentication. The endpoint refuses every other grant
// to a request that names no client.
type FirstPartyGrant interface {
	Grant
	// AllowsFirstParty reports whether a request without a client may use
	// the grant.
	AllowsFirstParty() bool
}

// TokenRequest is a token request that passed the endpoint's shared
// checks.
type TokenRequest struct {
	// GrantType is the request's grant_type.
	GrantType string
	// Form holds all the request's parameters.
	Form url.Values
	// Client is the authenticated client, or nil for a first-party request.
	Client *store.Client
	// Scope is the requested scope, every member of which is in
	// AllowedScope; nil when the request has no scope parameter.
	Scope []string
	// Audience is the requested audience (the "audience" parameter, space
	// separated), every member of which is in AllowedAudience; nil when
	// the request names none.
	Audience []string
	// AllowedScope is what the client may be granted: its registered
	// scopes. Empty for first-party requests.
	AllowedScope []string
	// AllowedAudience is what the client may get tokens for: its
	// registered audiences or, if it has none, the issuer. Empty for
	// first-party requests.
	AllowedAudience []string
}

// TokenEndpoint serves the token endpoint (RFC 6749 section 3.2): it
// authenticates the client, checks grant type, scope and audience, and
// dispatches to the Grant of the request's grant_type.
type TokenEndpoint struct {
	issuer  string
	clients *Clients
	grants  map[string]Grant
	types   []string
}

// NewTokenEndpoint returns an endpoint serving grants. issuer is the
// default audience of client tokens. clients may be nil: then no client
// can authenticate and only first-party requests are served. Two grants
// with the same GrantType, or an empty one, are an error.
//
// When grants hold both an AuthorizationCodeGrant and a RefreshGrant, the
// refresh grant issues ID tokens with the code grant's signer (OpenID
// Connect Core section 12.2).
func NewTokenEndpoint(issuer string, clients *Clients, grants ...Grant) (*TokenEndpoint, error) {
	e := &TokenEndpoint{issuer: issuer, clients: clients, grants: map[string]Grant{}}
	for _, g := range grants {
		gt := g.GrantType()
		if gt == "" {
			return nil, errors.New("oauth: a grant has an empty grant type")
		}
		if _, dup := e.grants[gt]; dup {
			return nil, errors.New("oauth: two grants for grant type " + gt)
		}
		e.grants[gt] = g
		e.types = append(e.types, gt)
	}
	code, _ := e.grants[GrantAuthorizationCode].(*AuthorizationCodeGrant)
	refresh, _ := e.grants[GrantRefreshToken].(*RefreshGrant)
	if code != nil && code.ids != nil && refresh != nil {
		refresh.ids = code.ids
	}
	return e, nil
}

// GrantTypes returns the grant types served, in the order given to
// NewTokenEndpoint (for the discovery document).
func (e *TokenEndpoint) GrantTypes() []string { return slices.Clone(e.types) }

// Clients returns the client registry; nil if there is none.
func (e *TokenEndpoint) Clients() *Clients { return e.clients }

// Token answers a token request whose client authentication is cr and
// whose parameters are form. The order of the checks is fixed: client
// authentication, the grant type (known, and registered for the client),
// then scope and audience; only then the grant.
func (e *TokenEndpoint) Token(ctx context.Context, cr Credentials, form url.Values) (token.Response, error) {
	gt := form.Get("grant_type")
	if gt == "" {
		return token.Response{}, ErrInvalidRequest.WithDescription("grant_type is required")
	}
	req := TokenRequest{GrantType: gt, Form: form}
	if cr.Present() {
		if e.clients == nil {
			return token.Response{}, ErrInvalidClient.WithDescription("no clients are registered")
		}
		cl, err := e.clients.Authenticate(ctx, cr)
		if err != nil {
			return token.Response{}, err
		}
		req.Client = &cl
		req.AllowedScope = cl.Scopes
		req.AllowedAudience = cl.Audiences
		if len(req.AllowedAudience) == 0 {
			req.AllowedAudience = []string{e.issuer}
		}
	}

	g, ok := e.grants[gt]
	if !ok {
		return token.Response{}, ErrUnsupportedGrantType.WithDescription("grant_type " + quoteShort(gt) + " is not supported")
	}
	if req.Client == nil {
		if fp, ok := g.(FirstPartyGrant); !ok || !fp.AllowsFirstParty() {
			return token.Response{}, ErrInvalidClient.WithDescription("client authentication required")
		}
	} else if !slices.Contains(req.Client.GrantTypes, gt) {
		return token.Response{}, ErrUnauthorizedClient.WithDescription("the client is not registered for grant_type " + gt)
	}

	var err error
	if req.Scope, err = ParseScope(form.Get("scope")); err != nil {
		return token.Response{}, err
	}
	if s, ok := subset(req.Scope, req.AllowedScope); !ok {
		if req.Client == nil {
			return token.Response{}, ErrInvalidScope.WithDescription("first-party tokens carry no scope")
		}
		return token.Response{}, ErrInvalidScope.WithDescription("scope " + quoteShort(s) + " is not allowed for this client")
	}
	if gt != GrantClientCredentials {
		// Every other grant acts for a user, who cannot delegate
		// authority over the server.
		if i := slices.IndexFunc(req.Scope, IsServiceScope); i >= 0 {
			return token.Response{}, errServiceScope(req.Scope[i])
		}
	}
	if req.Audience, err = parseAudience(form.Get("audience")); err != nil {
		return token.Response{}, err
	}
	if a, ok := subset(req.Audience, req.AllowedAudience); !ok {
		if req.Client == nil {
			return token.Response{}, ErrInvalidTarget.WithDescription("first-party tokens are for the issuer only")
		}
		return token.Response{}, ErrInvalidTarget.WithDescription("audience " + quoteShort(a) + " is not allowed for this client")
	}
	return g.Handle(ctx, req)
}
