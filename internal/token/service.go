package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/revocation"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// AccessTokenType is the JWT "typ" of access tokens (RFC 9068 section 2.1).
const AccessTokenType = "at+jwt"

// Defaults.
const (
	DefaultAccessTokenTTL = 5 * time.Minute
	// refreshPrefix marks Gatehouse refresh tokens, so secret scanners and
	// the revocation endpoint can tell them from JWTs.
	refreshPrefix = "ghr_"
)

// Config holds the options of a Service.
type Config struct {
	// Issuer is the "iss" of every token and the audience of first-party
	// tokens.
	Issuer string
	// AccessTokenTTL is the lifetime of access tokens; default 5m.
	AccessTokenTTL time.Duration
	// RefreshGrace is how long a rotated refresh token may be presented
	// again and get the same new pair; after it, reuse revokes the grant.
	// Zero means no grace (the server's default is
	// config.DefaultRefreshReuseGrace).
	RefreshGrace time.Duration
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Zero means none (the server's default is config.DefaultTokenLeeway).
	Leeway time.Duration
}

// Service issues, refreshes, checks, introspects and revokes tokens.
type Service struct {
	cfg         Config
	keys        *keys.Manager
	sessions    *session.Manager
	refresh     store.RefreshTokenStore
	users       store.UserStore
	revocations *revocation.Log
	verifier    jose.Verifier
	log         *slog.Logger
	now         func() time.Time
}

// NewService returns a Service.
func NewService(cfg Config, km *keys.Manager, sessions *session.Manager, refresh store.RefreshTokenStore, users store.UserStore, revocations *revocation.Log, log *slog.Logger, now func() time.Time) *Service {
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = DefaultAccessTokenTTL
	}
	cfg.RefreshGrace = max(cfg.RefreshGrace, 0)
	cfg.Leeway = max(cfg.Leeway, 0)
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		cfg: cfg, keys: km, sessions: sessions, refresh: refresh, users: users, revocations: revocations,
		verifier: jose.Verifier{Keys: km}, log: log, now: now,
	}
}

// Config returns the service's effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Response is a token endpoint answer (RFC 6749 section 5.1).
type Response struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token,omitempty"`
	// SessionID is the grant the tokens belong to (their "sid"), for the
	// server's own records; it is not part of the answer.
	SessionID string `json:"-"`
}

// MintSpec describes an access token.
type MintSpec struct {
	Subject   string
	SessionID string
	ClientID  string
	Scope     string
	// Audience defaults to the issuer.
	Audience []string
	Custom   map[string]any
	// Auth is how and when the user authenticated: the token's amr, acr
	// and auth_time. The zero value (client credentials) adds none.
	Auth authcontext.Authentication
	// NotAfter, if not zero, is when the record the token belongs to (a
	// session or grant) ends: the token's exp is never later, so no token
	// outlives its record.
	NotAfter time.Time
}

// Mint signs an access token and returns it with its expiry. Its iat and
// exp are whole seconds (iat truncated), and exp is at most
// spec.NotAfter; a record that ends within the second is
// session.ErrInvalid.
func (s *Service) Mint(spec MintSpec) (string, time.Time, error) {
	key, err := s.keys.AccessSigner()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	exp := now.Add(s.cfg.AccessTokenTTL)
	if !spec.NotAfter.IsZero() {
		if end := spec.NotAfter.UTC().Truncate(time.Second); end.Before(exp) {
			exp = end
		}
		if !exp.After(now) {
			return "", time.Time{}, fmt.Errorf("token: mint: the record ends now: %w", session.ErrInvalid)
		}
	}
	aud := spec.Audience
	if len(aud) == 0 {
		aud = []string{s.cfg.Issuer}
	}
	c := Claims{
		Issuer: s.cfg.Issuer, Subject: spec.Subject, Audience: aud,
		IssuedAt: now, ExpiresAt: exp,
		ID: randomID(), SessionID: spec.SessionID, Scope: spec.Scope, ClientID: spec.ClientID,
		Custom: spec.Custom,
		AMR:    spec.Auth.AMR(), ACR: spec.Auth.ACR(),
	}
	if len(c.AMR) > 0 && !spec.Auth.Time.IsZero() {
		c.AuthTime = spec.Auth.Time.UTC()
	}
	payload, err := c.MarshalJSON() // compact already: json.Marshal would only copy it
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token: encode claims: %w", err)
	}
	tok, err := jose.Sign(key, AccessTokenType, payload)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token: sign: %w", err)
	}
	return tok, c.ExpiresAt, nil
}

// LoginTokens starts a first-party token grant for a user who logged in
// as a says, and returns an access token and a refresh token.
func (s *Service) LoginTokens(ctx context.Context, u store.User, ci session.ClientInfo, a authcontext.Authentication) (Response, error) {
	grant, err := s.sessions.CreateGrant(ctx, session.GrantSpec{UserID: u.ID, Client: ci, Auth: a})
	if err != nil {
		return Response{}, err
	}
	return s.issuePair(ctx, grant, u, nil)
}

// IssueForGrant returns an access token and a refresh token for an
// existing grant (the OAuth code flow creates the grant itself).
func (s *Service) IssueForGrant(ctx context.Context, grant store.Session, u store.User) (Response, error) {
	return s.issuePair(ctx, grant, u, nil)
}

// IssueAccessForGrant returns an access token, and no refresh token, for
// an existing grant: the code flow without offline_access.
func (s *Service) IssueAccessForGrant(ctx context.Context, grant store.Session, u store.User) (Response, error) {
	access, exp, err := s.Mint(grantSpec(grant, u))
	if err != nil {
		return Response{}, err
	}
	return Response{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(exp.Sub(s.now()).Round(time.Second).Seconds()), Scope: grant.Scope}, nil
}

// grantSpec describes an access token of grant for u: the grant's
// client, scope and audience.
func grantSpec(grant store.Session, u store.User) MintSpec {
	return MintSpec{Subject: u.ID, SessionID: grant.ID, ClientID: grant.ClientID, Scope: grant.Scope, Audience: grant.Audience, Custom: u.Claims, NotAfter: recordEnd(grant), Auth: session.AuthOf(grant)}
}

// recordEnd is when a session or grant ends if it is not used again: the
// earlier of its absolute and idle expiry. Use can only push the idle
// expiry later, so a token that expires by then never outlives its record.
func recordEnd(r store.Session) time.Time {
	if !r.IdleExpiresAt.IsZero() && r.IdleExpiresAt.Before(r.ExpiresAt) {
		return r.IdleExpiresAt
	}
	return r.ExpiresAt
}

// issuePair mints an access token and a new refresh token for grant. If
// old is not nil the new refresh token is its successor (rotation);
// otherwise it is the grant's first.
func (s *Service) issuePair(ctx context.Context, grant store.Session, u store.User, old *rotation) (Response, error) {
	access, exp, err := s.Mint(grantSpec(grant, u))
	if err != nil {
		return Response{}, err
	}
	refresh := newRefreshToken()
	now := s.now().UTC().Truncate(time.Millisecond)
	hash := hashToken(refresh)
	rec := store.RefreshToken{Hash: hash[:], SessionID: grant.ID, CreatedAt: now, ExpiresAt: grant.IdleExpiresAt}
	if rec.ExpiresAt.Before(now) || rec.ExpiresAt.After(grant.ExpiresAt) {
		rec.ExpiresAt = grant.ExpiresAt
	}
	resp := Response{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(exp.Sub(s.now()).Round(time.Second).Seconds()), RefreshToken: refresh, Scope: grant.Scope, SessionID: grant.ID}
	if old != nil && old.extend != nil {
		// Before sealing: a replay within the grace period gets what the
		// extension added too.
		if err := old.extend(ctx, grant, u, &resp); err != nil {
			return Response{}, err
		}
	}
	if old == nil {
		if err := s.refresh.CreateRefreshToken(ctx, rec); err != nil {
			return Response{}, fmt.Errorf("token: store refresh token: %w", err)
		}
		return resp, nil
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return Response{}, fmt.Errorf("token: encode response: %w", err)
	}
	key, err := successorKey(old.presented)
	if err != nil {
		return Response{}, fmt.Errorf("token: rotate: %w", err)
	}
	sealed, err := seal.Seal(key, body, old.hash)
	if err != nil {
		return Response{}, err
	}
	if err := s.refresh.RotateRefreshToken(ctx, old.hash, sealed, rec); err != nil {
		return Response{}, err
	}
	return resp, nil
}

// rotation is the refresh token being exchanged.
type rotation struct {
	presented string
	hash      []byte
	extend    Extend
}

// Extend adds to the response of a refresh what the caller issues with
// the new pair, such as an ID token (package oauth). It is called with the
// grant and the user the pair is for, after the pair is minted and before
// anything is stored: the response is then sealed as the rotated token's
// successor, so a replay within the grace period gets exactly the same
// answer, additions included. An error fails the refresh and leaves the
// refresh token unused.
type Extend func(ctx context.Context, grant store.Session, u store.User, resp *Response) error

// Refresh exchanges a refresh token for a new pair (grant_type
// refresh_token). clientID is the authenticated client, or "" for a
// first-party request without client authentication; it must match the
// grant's client. scope, if not nil, is the scope parameter of the
// request: it must be exactly the grant's scope (ErrScopeChanged
// otherwise), and it is checked only after reuse detection, so it changes
// nothing about it: a rotated token presented again after the grace
// period revokes its grant whatever the scope says. extend, which may be
// nil, adds to the response; a rotated token presented again within the
// grace period gets the sealed response, and extend is not called again.
// A store that fails is an error other than ErrInvalidGrant.
func (s *Service) Refresh(ctx context.Context, presented, clientID string, scope []string, extend Extend) (Response, error) {
	if !strings.HasPrefix(presented, refreshPrefix) || len(presented) > 128 {
		return Response{}, ErrInvalidGrant
	}
	h := hashToken(presented)
	for attempt := 0; attempt < 2; attempt++ {
		rt, err := s.refresh.GetRefreshToken(ctx, h[:])
		if errors.Is(err, store.ErrNotFound) {
			return Response{}, ErrInvalidGrant
		}
		if err != nil {
			return Response{}, fmt.Errorf("token: refresh: %w", err)
		}
		now := s.now()
		if !rt.RotatedAt.IsZero() {
			return s.reused(ctx, presented, rt, clientID, scope, now)
		}
		if !rt.ExpiresAt.After(now) {
			return Response{}, ErrInvalidGrant
		}
		grant, err := s.sessions.Get(ctx, rt.SessionID)
		if errors.Is(err, session.ErrInvalid) {
			return Response{}, ErrInvalidGrant
		}
		if err != nil {
			return Response{}, err
		}
		if grant.ClientID != clientID {
			// Another client's refresh token: refused, and the grant is
			// left untouched.
			return Response{}, ErrInvalidGrant
		}
		if !sameScope(scope, grant.Scope) {
			return Response{}, ErrScopeChanged
		}
		if grant, err = s.sessions.Touch(ctx, grant); errors.Is(err, session.ErrInvalid) {
			return Response{}, ErrInvalidGrant
		} else if err != nil {
			return Response{}, err
		}
		u, err := s.users.GetUser(ctx, grant.UserID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
			return Response{}, ErrInvalidGrant
		}
		if err != nil {
			return Response{}, fmt.Errorf("token: refresh: %w", err)
		}
		resp, err := s.issuePair(ctx, grant, u, &rotation{presented: presented, hash: h[:], extend: extend})
		switch {
		case errors.Is(err, store.ErrConflict):
			continue // another request rotated it first: answer as a reuse
		case errors.Is(err, session.ErrInvalid):
			return Response{}, ErrInvalidGrant // the grant ends this very second
		}
		return resp, err
	}
	return Response{}, ErrInvalidGrant
}

// sameScope reports whether a refresh request's scope parameter (nil when
// absent) allows the granted scope: absent, or the same set of scopes.
func sameScope(requested []string, granted string) bool {
	if requested == nil {
		return true
	}
	g := strings.Fields(granted)
	for _, r := range requested {
		if !slices.Contains(g, r) {
			return false
		}
	}
	for _, x := range g {
		if !slices.Contains(requested, x) {
			return false
		}
	}
	return true
}

// reused answers a rotated refresh token presented again: within the
// grace period, the same new pair, with the same ID token if the first
// answer had one (see Extend), to the same client asking for the same
// scope; after it, theft is assumed and the whole grant is revoked,
// whatever the request says.
func (s *Service) reused(ctx context.Context, presented string, rt store.RefreshToken, clientID string, scope []string, now time.Time) (Response, error) {
	if s.cfg.RefreshGrace > 0 && now.Sub(rt.RotatedAt) <= s.cfg.RefreshGrace {
		body, err := openSuccessor(presented, rt)
		if err != nil {
			return Response{}, ErrInvalidGrant
		}
		var resp Response
		if err := json.Unmarshal(body, &resp); err != nil {
			return Response{}, ErrInvalidGrant
		}
		g, err := s.sessions.Get(ctx, rt.SessionID)
		if errors.Is(err, session.ErrInvalid) {
			return Response{}, ErrInvalidGrant
		}
		if err != nil {
			return Response{}, err
		}
		if g.ClientID != clientID {
			return Response{}, ErrInvalidGrant
		}
		if !sameScope(scope, g.Scope) {
			return Response{}, ErrScopeChanged
		}
		resp.ExpiresIn = max(0, resp.ExpiresIn-int64(now.Sub(rt.RotatedAt).Seconds()))
		return resp, nil
	}
	s.log.WarnContext(ctx, "refresh token reused after rotation: revoking the grant", "session_id", rt.SessionID)
	g, err := s.sessions.Get(ctx, rt.SessionID)
	switch {
	case errors.Is(err, session.ErrInvalid):
		// Already gone: nothing is left to revoke.
	case err != nil:
		return Response{}, err
	default:
		if err := s.sessions.Revoke(ctx, g.UserID, g.ID, audit.EndReuseDetected); err != nil && !errors.Is(err, session.ErrInvalid) {
			return Response{}, err
		}
	}
	return Response{}, ErrInvalidGrant
}

// VerifyAccess checks an access token's signature, type, issuer, times and
// revocation, but not its audience.
func (s *Service) VerifyAccess(ctx context.Context, raw string) (Claims, error) {
	tok, err := s.verifier.Verify(ctx, raw)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if tok.Header.Type != AccessTokenType {
		return Claims{}, fmt.Errorf("%w: typ %q", ErrInvalidToken, tok.Header.Type)
	}
	// Registered claims and amr, acr, auth_time matter here; custom ones
	// are not decoded. The payload is this call's and is never written,
	// so the claims' strings share it.
	var (
		ac authClaims
		jc jose.Claims
	)
	if err := jose.ParseClaimsInto(&jc, tok.Payload, ac.member); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	c := fromJOSE(jc)
	c.AMR, c.ACR = ac.amr, ac.acr
	if ac.authTime > 0 {
		c.AuthTime = time.Unix(ac.authTime, 0).UTC()
	}
	now := s.now()
	switch {
	case c.Issuer != s.cfg.Issuer:
		return Claims{}, fmt.Errorf("%w: issuer", ErrInvalidToken)
	case c.ExpiresAt.IsZero() || !now.Before(c.ExpiresAt.Add(s.cfg.Leeway)):
		return Claims{}, fmt.Errorf("%w: expired", ErrInvalidToken)
	case !c.NotBefore.IsZero() && now.Add(s.cfg.Leeway).Before(c.NotBefore):
		return Claims{}, fmt.Errorf("%w: not yet valid", ErrInvalidToken)
	case c.IssuedAt.After(now.Add(s.cfg.Leeway)):
		return Claims{}, fmt.Errorf("%w: issued in the future", ErrInvalidToken)
	}
	if s.revocations.Revoked(c.SessionID, c.ID, c.Subject, c.IssuedAt) {
		return Claims{}, fmt.Errorf("%w: revoked", ErrInvalidToken)
	}
	return c, nil
}

// AuthenticateBearer accepts an access token for Gatehouse's own user
// endpoints: valid, not revoked, with the issuer among its audiences.
// Tokens without a "sid" (client credentials) have no user: their
// principal has an empty UserID.
func (s *Service) AuthenticateBearer(ctx context.Context, raw string) (authn.Principal, error) {
	c, err := s.VerifyAccess(ctx, raw)
	if err != nil {
		return authn.Principal{}, err
	}
	if !c.HasAudience(s.cfg.Issuer) {
		return authn.Principal{}, ErrWrongAudience
	}
	p := authn.Principal{Method: authn.MethodJWT, ClientID: c.ClientID, SessionID: c.SessionID, ExpiresAt: c.ExpiresAt, Scopes: c.Scopes()}
	if c.SessionID != "" {
		p.UserID = c.Subject
		p.Auth = authcontext.ParseAMR(c.AMR, c.AuthTime)
	}
	return p, nil
}

// SessionToken mints a short-lived access token from a live cookie
// session: its "sid" is the session's id, so revoking the session revokes
// the token.
func (s *Service) SessionToken(ctx context.Context, sess store.Session, audience string) (Response, error) {
	u, err := s.users.GetUser(ctx, sess.UserID)
	if err != nil {
		return Response{}, fmt.Errorf("token: session token: %w", err)
	}
	spec := MintSpec{Subject: u.ID, SessionID: sess.ID, Custom: u.Claims, NotAfter: recordEnd(sess), Auth: session.AuthOf(sess)}
	if audience != "" {
		spec.Audience = []string{audience}
	}
	tok, exp, err := s.Mint(spec)
	if err != nil {
		return Response{}, err
	}
	return Response{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(exp.Sub(s.now()).Round(time.Second).Seconds())}, nil
}

// Introspection is an RFC 7662 answer.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	Sid       string   `json:"sid,omitempty"`
	// ACR, AMR and AuthTime are how and when the user authenticated, for
	// tokens and sessions that have a user (issue #14).
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
}

// SetAuth fills in's ACR, AMR and AuthTime from a.
func (in *Introspection) SetAuth(a authcontext.Authentication) {
	in.ACR, in.AMR = a.ACR(), a.AMR()
	if len(in.AMR) > 0 && !a.Time.IsZero() {
		in.AuthTime = a.Time.Unix()
	}
}

// Introspect describes a token (RFC 7662): an access token or a refresh
// token of this server. Anything else, and any dead token, is inactive.
// The caller (the HTTP layer) has authenticated the requester and decides
// what it may see.
func (s *Service) Introspect(ctx context.Context, raw string) (Introspection, store.Session) {
	if strings.HasPrefix(raw, refreshPrefix) {
		h := hashToken(raw)
		rt, err := s.refresh.GetRefreshToken(ctx, h[:])
		if err != nil || !rt.RotatedAt.IsZero() || !rt.ExpiresAt.After(s.now()) {
			return Introspection{}, store.Session{}
		}
		g, err := s.sessions.Get(ctx, rt.SessionID)
		if err != nil {
			return Introspection{}, store.Session{}
		}
		in := Introspection{
			Active: true, TokenType: "refresh_token", Scope: g.Scope, ClientID: g.ClientID,
			Sub: g.UserID, Iss: s.cfg.Issuer, Sid: g.ID, Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(),
		}
		in.SetAuth(session.AuthOf(g))
		return in, g
	}
	c, err := s.VerifyAccess(ctx, raw)
	if err != nil {
		return Introspection{}, store.Session{}
	}
	var g store.Session
	if c.SessionID != "" {
		// A token is no better than its grant: the set is exact for local
		// revocations, the store settles the rest.
		if g, err = s.sessions.Get(ctx, c.SessionID); err != nil {
			return Introspection{}, store.Session{}
		}
	}
	in := Introspection{
		Active: true, TokenType: "access_token", Scope: c.Scope, ClientID: c.ClientID, Sub: c.Subject,
		Aud: c.Audience, Iss: c.Issuer, Jti: c.ID, Sid: c.SessionID, Exp: c.ExpiresAt.Unix(), Iat: c.IssuedAt.Unix(),
	}
	if !c.NotBefore.IsZero() {
		in.Nbf = c.NotBefore.Unix()
	}
	in.ACR, in.AMR = c.ACR, c.AMR
	if !c.AuthTime.IsZero() {
		in.AuthTime = c.AuthTime.Unix()
	}
	return in, g
}

// Revoke revokes a token (RFC 7009): a refresh token ends its whole grant;
// an access token is revoked by its "jti". clientID is the authenticated
// client ("" for first-party); a token of another client is left alone.
// Unknown and invalid tokens are not an error (RFC 7009 section 2.2).
func (s *Service) Revoke(ctx context.Context, raw, clientID string) error {
	if strings.HasPrefix(raw, refreshPrefix) {
		h := hashToken(raw)
		rt, err := s.refresh.GetRefreshToken(ctx, h[:])
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return fmt.Errorf("token: revoke: %w", err)
		}
		g, err := s.sessions.Get(ctx, rt.SessionID)
		if errors.Is(err, session.ErrInvalid) {
			return nil // the grant is gone already
		}
		if err != nil {
			// A store that cannot answer is not "nothing to revoke": the
			// client must hear that the revocation did not happen (503,
			// RFC 7009 section 2.2.1), and may retry.
			return fmt.Errorf("token: revoke: %w: %w", revocation.ErrNotStored, err)
		}
		if g.ClientID != clientID {
			return nil
		}
		if err := s.sessions.Revoke(ctx, g.UserID, g.ID, audit.EndRevoked); err != nil && !errors.Is(err, session.ErrInvalid) {
			return err
		}
		return nil
	}
	c, err := s.VerifyAccess(ctx, raw)
	if err != nil || c.ClientID != clientID {
		return nil
	}
	return s.revocations.RevokeToken(ctx, c.ID, c.ExpiresAt)
}

// Sweep deletes refresh tokens that expired unused and returns how many.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	n, err := s.refresh.DeleteExpiredRefreshTokens(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("token: sweep: %w", err)
	}
	return n, nil
}

// RecordRevoked is the session manager's Record hook: it appends the
// records' revocation to the log, with their audit events in the same
// transaction, before they are deleted, and fails if the log could not
// store it.
func (s *Service) RecordRevoked(ctx context.Context, revoked []store.Session, events []audit.Event) error {
	return s.revocations.RevokeSessions(ctx, revoked, events...)
}

// OnSessionsRevoked is the session manager's OnRevoke hook: it deletes
// the revoked grants' refresh tokens (the grant is gone, so they no
// longer refresh anyway).
func (s *Service) OnSessionsRevoked(ctx context.Context, revoked []store.Session) {
	for _, g := range revoked {
		if g.Kind == store.KindToken {
			if err := s.refresh.DeleteSessionRefreshTokens(ctx, g.ID); err != nil {
				s.log.ErrorContext(ctx, "could not delete a revoked grant's refresh tokens", "session_id", g.ID, "err", err)
			}
		}
	}
}

func hashToken(t string) [32]byte { return sha256.Sum256([]byte(t)) }

// successorKey derives the key that seals a rotated token's successor:
// only a holder of the rotated token can open it.
func successorKey(presented string) ([seal.KeySize]byte, error) {
	return seal.DeriveKey("refresh successor", []byte(presented))
}

// openSuccessor opens the successor sealed when rt was rotated with the
// key derived from presented, or, for a token rotated before the key
// derivation moved to HKDF, with the legacy key.
func openSuccessor(presented string, rt store.RefreshToken) ([]byte, error) {
	key, err := successorKey(presented)
	if err != nil {
		return nil, err
	}
	body, err := seal.Open(key, rt.SealedSuccessor, rt.Hash)
	if errors.Is(err, seal.ErrOpen) {
		body, err = seal.Open(seal.LegacyDeriveKey("refresh successor", []byte(presented)), rt.SealedSuccessor, rt.Hash)
	}
	return body, err
}

func newRefreshToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
