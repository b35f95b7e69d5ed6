package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/token"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// Compile-time checks that the grants implement their interfaces and that
// *token.Service serves them.
var (
	_ Grant           = (*ClientCredentialsGrant)(nil)
	_ FirstPartyGrant = (*RefreshGrant)(nil)
	_ Minter          = (*token.Service)(nil)
	_ Refresher       = (*token.Service)(nil)
)

// Minter signs access tokens; *token.Service implements it.
type Minter interface {
	// Mint signs an access token and returns it with its expiry.
	Mint(spec token.MintSpec) (string, time.Time, error)
}

// ClientCredentialsGrant is grant_type client_credentials (RFC 6749
// section 4.4): a client gets an access token for itself. The token's
// "sub" and "client_id" are the client's id; it has no "sid", so it
// belongs to no user and Gatehouse's user endpoints refuse it. Its scope
// is the requested one or, if none was requested, every scope the client
// is allowed except openid and offline_access, which need a user and are
// refused here; its audience likewise defaults to every audience the client
// is allowed (the issuer, if it registered none). No refresh token is
// issued (section 4.4.3).
type ClientCredentialsGrant struct {
	minter Minter
	now    func() time.Time
}

// NewClientCredentialsGrant returns the grant, minting with m. now may be
// nil for time.Now; it must be the clock m uses.
func NewClientCredentialsGrant(m Minter, now func() time.Time) *ClientCredentialsGrant {
	if now == nil {
		now = time.Now
	}
	return &ClientCredentialsGrant{minter: m, now: now}
}

// GrantType returns "client_credentials".
func (g *ClientCredentialsGrant) GrantType() string { return GrantClientCredentials }

// Handle mints the client's access token.
func (g *ClientCredentialsGrant) Handle(ctx context.Context, req TokenRequest) (token.Response, error) {
	if req.Client == nil {
		return token.Response{}, ErrInvalidClient.WithDescription("client authentication required")
	}
	scope := req.Scope
	if scope == nil {
		// Every allowed scope, except those that only a user can grant.
		scope = slices.DeleteFunc(slices.Clone(req.AllowedScope), userOnlyScope)
	} else if i := slices.IndexFunc(scope, userOnlyScope); i >= 0 {
		return token.Response{}, ErrInvalidScope.WithDescription("scope " + quoteShort(scope[i]) + " needs a user: use the authorization code flow")
	}
	aud := req.Audience
	if aud == nil {
		aud = req.AllowedAudience
	}
	spec := token.MintSpec{
		Subject:  req.Client.ID,
		ClientID: req.Client.ID,
		Scope:    strings.Join(scope, " "),
		Audience: slices.Clone(aud),
	}
	tok, exp, err := g.minter.Mint(spec)
	if err != nil {
		return token.Response{}, err
	}
	return token.Response{
		AccessToken: tok,
		TokenType:   "Bearer",
		ExpiresIn:   int64(exp.Sub(g.now()).Round(time.Second).Seconds()),
		Scope:       spec.Scope,
	}, nil
}

// userOnlyScope reports whether scope s means something only for a user:
// openid and offline_access (OpenID Connect Core sections 3.1.2.1 and 11),
// which client credentials tokens never carry.
func userOnlyScope(s string) bool { return s == ScopeOpenID || s == ScopeOfflineAccess }

// Refresher is what the refresh grant needs of *token.Service.
type Refresher interface {
	// Refresh exchanges a refresh token of the client's grant ("" for
	// first-party) for a new pair, rotating it. scope, if not nil, must be
	// the grant's scope (token.ErrScopeChanged), checked after reuse
	// detection; extend, if not nil, adds to the response before it is
	// sealed for the reuse grace period.
	Refresh(ctx context.Context, presented, clientID string, scope []string, extend token.Extend) (token.Response, error)
}

// RefreshGrant is grant_type refresh_token (RFC 6749 section 6) over
// package token's rotating refresh tokens, for first-party grants (no
// client authentication) and clients' grants alike: the token must belong
// to a grant of the authenticated client, or to a first-party grant when
// no client is named. A refreshed token keeps its grant's scope and
// audience: a scope parameter must name exactly the granted scope
// (narrowing is not supported), and an audience parameter is refused.
//
// Served next to an AuthorizationCodeGrant (NewTokenEndpoint links them),
// it answers the refresh of a grant with scope openid with a new ID token
// too (OpenID Connect Core section 12.2), signed like the code grant's.
// The new token has the original's iss, sub, aud, azp, auth_time (the
// original login, not the refresh), acr, amr and sid; iat and exp of its
// own; the at_hash of the new access token; and no nonce, which section
// 12.2 says it SHOULD NOT have. A grant stored before the authentication
// time was kept (store.Session.AuthTime is zero) refreshes without one:
// no ID token beats one with a made-up auth_time. A refresh token replayed
// within the grace period gets the same ID token as the first answer.
type RefreshGrant struct {
	tokens Refresher
	ids    *IDTokens // set when the grant issues ID tokens
}

// NewRefreshGrant returns the grant over r.
func NewRefreshGrant(r Refresher) *RefreshGrant { return &RefreshGrant{tokens: r} }

// GrantType returns "refresh_token".
func (g *RefreshGrant) GrantType() string { return GrantRefreshToken }

// AllowsFirstParty returns true: first-party tokens refresh here without
// client authentication.
func (g *RefreshGrant) AllowsFirstParty() bool { return true }

// Handle rotates the refresh token.
func (g *RefreshGrant) Handle(ctx context.Context, req TokenRequest) (token.Response, error) {
	rt := req.Form.Get("refresh_token")
	if rt == "" {
		return token.Response{}, ErrInvalidRequest.WithDescription("refresh_token is required")
	}
	if req.Audience != nil {
		return token.Response{}, ErrInvalidTarget.WithDescription("a refreshed token keeps its grant's audience")
	}
	clientID := ""
	if req.Client != nil {
		clientID = req.Client.ID
	}
	var extend token.Extend
	if g.ids != nil && req.Client != nil {
		extend = g.idToken(req.Client)
	}
	// The scope goes to Refresh, which checks it after reuse detection:
	// sending one must not spare a replayed token's grant (RFC 9700
	// section 4.14.2), nor change the grace period's answer.
	resp, err := g.tokens.Refresh(ctx, rt, clientID, req.Scope, extend)
	switch {
	case errors.Is(err, token.ErrInvalidGrant):
		return token.Response{}, ErrInvalidGrant.WithCause(err)
	case errors.Is(err, token.ErrScopeChanged):
		return token.Response{}, ErrInvalidScope.WithDescription("a refreshed token keeps its grant's scope: send no scope, or exactly the granted one")
	}
	return resp, err
}

// idToken returns the extension that adds the ID token of OpenID Connect
// Core section 12.2 to the refresh of client's grant, if its scope has
// openid and it knows when its user authenticated.
func (g *RefreshGrant) idToken(client *store.Client) token.Extend {
	return func(ctx context.Context, grant store.Session, u store.User, resp *token.Response) error {
		if !slices.Contains(strings.Fields(grant.Scope), ScopeOpenID) || grant.AuthTime.IsZero() {
			return nil
		}
		// As at the code exchange (AuthorizationCodeGrant.Handle), but
		// without the nonce.
		var err error
		resp.IDToken, err = g.ids.Sign(IDTokenSpec{
			Subject: u.ID, ClientID: grant.ClientID, AuthTime: grant.AuthTime, Auth: session.AuthOf(grant),
			SessionID: grant.AuthSessionID, AccessToken: resp.AccessToken,
			Algorithm: jose.Algorithm(client.IDTokenSignedResponseAlg),
			Email:     EmailClaimsFor(grant.Scope, u),
		})
		if err != nil {
			return err
		}
		return g.ids.recordBackchannel(ctx, client, grant.AuthSessionID, u.ID, grant.ExpiresAt)
	}
}
