package oauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/token"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// Compile-time checks of the code grant and what it needs.
var (
	_ Grant         = (*AuthorizationCodeGrant)(nil)
	_ GrantSessions = (*session.Manager)(nil)
	_ GrantIssuer   = (*token.Service)(nil)
)

// GrantSessions creates and revokes grants and reads the browser session
// a code was approved in; *session.Manager implements it.
type GrantSessions interface {
	// Get returns the live record with the given id, or an error wrapping
	// session.ErrInvalid.
	Get(ctx context.Context, id string) (store.Session, error)
	// CreateGrant starts a token grant.
	CreateGrant(ctx context.Context, g session.GrantSpec) (store.Session, error)
	// Revoke ends the user's record id.
	Revoke(ctx context.Context, userID, id, reason string) error
}

// GrantIssuer issues the tokens of a grant; *token.Service implements it.
type GrantIssuer interface {
	// IssueForGrant returns an access token and a refresh token.
	IssueForGrant(ctx context.Context, grant store.Session, u store.User) (token.Response, error)
	// IssueAccessForGrant returns an access token only.
	IssueAccessForGrant(ctx context.Context, grant store.Session, u store.User) (token.Response, error)
}

// UserGetter reads users; store.UserStore and *identity.Service
// implement it.
type UserGetter interface {
	// GetUser returns the user, or an error wrapping store.ErrNotFound.
	GetUser(ctx context.Context, id string) (store.User, error)
}

// AuthorizationCodeGrant is grant_type authorization_code (RFC 6749
// section 4.1.3, OpenID Connect Core section 3.1.3). A code is redeemed
// once, within its short life, by the client it was issued to, with the
// redirect URI of the authorization request and the PKCE verifier of its
// challenge. A code presented again revokes the grant created from it
// (RFC 6749 section 4.1.2). Each redemption creates a token grant of the
// client's scope and audience; it has a refresh token only when the scope
// holds offline_access and the client may use refresh_token. An openid
// scope adds an ID token. A code dies with the browser session that
// approved it: logout, and every user-wide revocation (revoke-all,
// password reset, disable, delete), which end that session, make it
// invalid_grant, even while it is young.
type AuthorizationCodeGrant struct {
	codes    store.AuthCodeStore
	sessions GrantSessions
	tokens   GrantIssuer
	users    UserGetter
	ids      *IDTokens
	now      func() time.Time
}

// NewAuthorizationCodeGrant returns the grant. now may be nil for
// time.Now.
func NewAuthorizationCodeGrant(codes store.AuthCodeStore, sessions GrantSessions, tokens GrantIssuer, users UserGetter, ids *IDTokens, now func() time.Time) *AuthorizationCodeGrant {
	if now == nil {
		now = time.Now
	}
	return &AuthorizationCodeGrant{codes: codes, sessions: sessions, tokens: tokens, users: users, ids: ids, now: now}
}

// GrantType returns "authorization_code".
func (g *AuthorizationCodeGrant) GrantType() string { return GrantAuthorizationCode }

// Handle redeems the code. Every way a code can be wrong is the same
// invalid_grant, with the reason kept for the logs.
func (g *AuthorizationCodeGrant) Handle(ctx context.Context, req TokenRequest) (token.Response, error) {
	if req.Client == nil {
		return token.Response{}, ErrInvalidClient.WithDescription("client authentication required")
	}
	code := req.Form.Get("code")
	if code == "" {
		return token.Response{}, ErrInvalidRequest.WithDescription("code is required")
	}
	if req.Form.Get("redirect_uri") == "" {
		return token.Response{}, ErrInvalidRequest.WithDescription("redirect_uri is required")
	}
	invalid := func(why string) (token.Response, error) {
		return token.Response{}, ErrInvalidGrant.WithCause(errors.New(why))
	}
	if len(code) > 256 {
		return invalid("code too long")
	}
	h := sha256.Sum256([]byte(code))
	c, err := g.codes.GetAuthCode(ctx, h[:])
	if errors.Is(err, store.ErrNotFound) {
		return invalid("unknown code")
	}
	if err != nil {
		return token.Response{}, fmt.Errorf("oauth: read authorization code: %w", err)
	}
	now := g.now()
	switch {
	case c.ClientID != req.Client.ID:
		// Another client's code: refused, and left alone.
		return invalid("code of client " + c.ClientID + " presented by " + req.Client.ID)
	case !c.UsedAt.IsZero():
		return g.reused(ctx, c)
	case !now.Before(c.ExpiresAt):
		return invalid("expired code")
	case req.Form.Get("redirect_uri") != c.RedirectURI:
		return invalid("redirect_uri differs from the authorization request's")
	case slices.ContainsFunc(strings.Fields(c.Scope), IsServiceScope):
		// Issued before service scopes were refused at authorization.
		return invalid("code carries a service scope")
	}
	verifier := req.Form.Get("code_verifier")
	switch {
	case c.CodeChallenge != "" && !verifyPKCE(c.CodeChallenge, verifier):
		return invalid("missing or wrong PKCE code_verifier")
	case c.CodeChallenge == "" && verifier != "":
		// RFC 9700 section 4.8.2: a verifier without a challenge is a
		// downgrade attempt.
		return invalid("code_verifier sent for a code issued without code_challenge")
	}

	if err := g.approverLive(ctx, c); err != nil {
		return token.Response{}, err
	}
	u, err := g.users.GetUser(ctx, c.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return invalid("the user is gone or disabled")
	}
	if err != nil {
		return token.Response{}, fmt.Errorf("oauth: read user: %w", err)
	}
	// The grant keeps the authentication time and browser session, which
	// its refreshed ID tokens repeat (OpenID Connect Core section 12.2).
	grant, err := g.sessions.CreateGrant(ctx, session.GrantSpec{
		UserID: c.UserID, ClientID: c.ClientID, Scope: c.Scope, Audience: c.Audience,
		Auth: CodeAuth(c), AuthSessionID: c.SessionID,
	})
	if err != nil {
		return token.Response{}, err
	}
	// One conditional write settles concurrent redemptions: the loser
	// ends its own grant and the winner's.
	if err := g.codes.RedeemAuthCode(ctx, h[:], now.UTC(), grant.ID); err != nil {
		_ = g.sessions.Revoke(ctx, grant.UserID, grant.ID, audit.EndRevoked)
		if errors.Is(err, store.ErrConflict) {
			if again, err2 := g.codes.GetAuthCode(ctx, h[:]); err2 == nil {
				return g.reused(ctx, again)
			}
			return invalid("code redeemed concurrently")
		}
		if errors.Is(err, store.ErrNotFound) {
			return invalid("code deleted while being redeemed")
		}
		return token.Response{}, fmt.Errorf("oauth: redeem authorization code: %w", err)
	}
	// Checked again now that the grant exists: a logout that ended the
	// browser session meanwhile ends this grant too.
	if err := g.approverLive(ctx, c); err != nil {
		if rerr := g.sessions.Revoke(ctx, grant.UserID, grant.ID, audit.EndLogout); rerr != nil && !errors.Is(rerr, session.ErrInvalid) {
			return token.Response{}, fmt.Errorf("oauth: revoke the grant of a dead code: %w", rerr)
		}
		return token.Response{}, err
	}

	scope := strings.Fields(c.Scope)
	var resp token.Response
	if slices.Contains(scope, ScopeOfflineAccess) && slices.Contains(req.Client.GrantTypes, GrantRefreshToken) {
		resp, err = g.tokens.IssueForGrant(ctx, grant, u)
	} else {
		resp, err = g.tokens.IssueAccessForGrant(ctx, grant, u)
	}
	if err != nil {
		return token.Response{}, err
	}
	if slices.Contains(scope, ScopeOpenID) {
		resp.IDToken, err = g.ids.Sign(IDTokenSpec{
			Subject: u.ID, ClientID: c.ClientID, Nonce: c.Nonce, AuthTime: c.AuthTime, Auth: CodeAuth(c),
			SessionID: c.SessionID, AccessToken: resp.AccessToken,
			Algorithm: jose.Algorithm(req.Client.IDTokenSignedResponseAlg),
			Email:     EmailClaimsFor(c.Scope, u),
		})
		if err != nil {
			return token.Response{}, err
		}
		if err := g.ids.recordBackchannel(ctx, req.Client, c.SessionID, u.ID, grant.ExpiresAt); err != nil {
			return token.Response{}, err
		}
	}
	return resp, nil
}

// approverLive returns nil if the browser session that approved the code
// is still live, invalid_grant if it ended, or the store's error.
func (g *AuthorizationCodeGrant) approverLive(ctx context.Context, c store.AuthCode) error {
	if c.SessionID == "" {
		return ErrInvalidGrant.WithCause(errors.New("code approved in no browser session"))
	}
	s, err := g.sessions.Get(ctx, c.SessionID)
	switch {
	case errors.Is(err, session.ErrInvalid):
		return ErrInvalidGrant.WithCause(errors.New("the browser session that approved the code has ended"))
	case err != nil:
		return fmt.Errorf("oauth: read the browser session of a code: %w", err)
	case s.UserID != c.UserID || s.Kind != store.KindCookie:
		return ErrInvalidGrant.WithCause(errors.New("the code's browser session is not the approver's"))
	}
	return nil
}

// reused answers a code presented after it was redeemed: the grant the
// first redemption created is revoked, with every token issued under it
// (RFC 6749 section 4.1.2, RFC 9700 section 4.2.4).
func (g *AuthorizationCodeGrant) reused(ctx context.Context, c store.AuthCode) (token.Response, error) {
	if c.GrantID != "" {
		if err := g.sessions.Revoke(ctx, c.UserID, c.GrantID, audit.EndReuseDetected); err != nil && !errors.Is(err, session.ErrInvalid) {
			return token.Response{}, fmt.Errorf("oauth: revoke the grant of a reused code: %w", err)
		}
	}
	return token.Response{}, ErrInvalidGrant.WithCause(errors.New("authorization code reused: its grant is revoked"))
}

// CodeAuth returns how and when the user who authorized c authenticated.
// A code stored before the methods were recorded reads as a password
// login, the only kind there was.
func CodeAuth(c store.AuthCode) authcontext.Authentication {
	if len(c.AuthMethods) == 0 {
		return authcontext.New(c.AuthTime, authcontext.Password)
	}
	return authcontext.ParseAMR(c.AuthMethods, c.AuthTime)
}
