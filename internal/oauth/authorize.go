package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Defaults of the authorization endpoint.
const (
	// DefaultCodeTTL is the life of an authorization code: one minute,
	// as RFC 6749 section 4.1.2 recommends at most ten.
	DefaultCodeTTL = time.Minute
	// DefaultUsedCodeRetention is how long a code's record outlives its
	// expiry, so that a late second redemption is still recognised as
	// reuse and revokes what the first one got.
	DefaultUsedCodeRetention = 10 * time.Minute
	// maxStateLen and maxNonceLen bound what is echoed back or stored.
	maxStateLen = 2048
	maxNonceLen = 512
)

// Scopes with a meaning in OpenID Connect.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

// The authorization endpoint's own error codes (RFC 6749 section
// 4.1.2.1, OpenID Connect Core section 3.1.2.6).
var (
	// ErrUnsupportedResponseType: response_type is not "code".
	ErrUnsupportedResponseType = &Error{Code: "unsupported_response_type", Description: "only response_type=code is supported", Status: http.StatusBadRequest}
	// ErrAccessDenied: the user refused consent.
	ErrAccessDenied = &Error{Code: "access_denied", Description: "the user denied the request", Status: http.StatusForbidden}
	// ErrLoginRequired: prompt=none, but the user must log in.
	ErrLoginRequired = &Error{Code: "login_required", Description: "the user is not logged in", Status: http.StatusBadRequest}
	// ErrConsentRequired: prompt=none, but the user must consent.
	ErrConsentRequired = &Error{Code: "consent_required", Description: "the user has not consented to this client", Status: http.StatusBadRequest}
	// ErrRequestNotSupported: the request parameter (signed request
	// objects) is not supported.
	ErrRequestNotSupported = &Error{Code: "request_not_supported", Description: "request objects are not supported", Status: http.StatusBadRequest}
	// ErrRequestURINotSupported: request_uri is not supported.
	ErrRequestURINotSupported = &Error{Code: "request_uri_not_supported", Description: "request_uri is not supported", Status: http.StatusBadRequest}
	// ErrRegistrationNotSupported: the registration parameter is not
	// supported.
	ErrRegistrationNotSupported = &Error{Code: "registration_not_supported", Description: "the registration parameter is not supported", Status: http.StatusBadRequest}
)

// AuthorizeError is an authorization request that failed. With an empty
// RedirectURI the client or its redirect URI could not be trusted: the
// user sees an error page and nothing is redirected (RFC 6749 section
// 4.1.2.1). Otherwise the error goes back to RedirectURI with State.
type AuthorizeError struct {
	// Err is the error: code and public description.
	Err *Error
	// RedirectURI is the verified redirect URI, or empty.
	RedirectURI string
	// State is the request's state, echoed back.
	State string
}

// Error returns the error's code and description.
func (e *AuthorizeError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *AuthorizeError) Unwrap() error { return e.Err }

// AuthorizeRequest is an authorization request (RFC 6749 section 4.1.1,
// OpenID Connect Core section 3.1.2.1) that passed every check.
type AuthorizeRequest struct {
	// Client is the requesting client.
	Client store.Client
	// RedirectURI is the requested redirect URI, one the client
	// registered.
	RedirectURI string
	// State is echoed back to the client; may be empty.
	State string
	// Nonce goes into the ID token; may be empty.
	Nonce string
	// Scope is the requested scope, all of it allowed for the client.
	Scope []string
	// CodeChallenge is the PKCE S256 challenge; empty if none was sent
	// (only a confidential client may do without).
	CodeChallenge string
	// Prompt holds the prompt values: "none", "login", "consent",
	// "select_account".
	Prompt []string
	// MaxAge is the max_age parameter in seconds, or -1 if absent.
	MaxAge int
	// LoginHint is the login_hint parameter, for the login form.
	LoginHint string
}

// HasPrompt reports whether the request has the prompt value p.
func (r AuthorizeRequest) HasPrompt(p string) bool { return slices.Contains(r.Prompt, p) }

// OpenID reports whether the request is an OpenID Connect one.
func (r AuthorizeRequest) OpenID() bool { return slices.Contains(r.Scope, ScopeOpenID) }

// NeedsLogin reports whether a user who authenticated at authTime must
// log in (again) before the request can be answered at now: prompt=login,
// or max_age elapsed. A zero authTime (no session) always needs it.
func (r AuthorizeRequest) NeedsLogin(authTime, now time.Time) bool {
	if authTime.IsZero() || r.HasPrompt("login") {
		return true
	}
	return r.MaxAge >= 0 && now.Sub(authTime) > time.Duration(r.MaxAge)*time.Second
}

// AuthorizerConfig holds the options of an Authorizer.
type AuthorizerConfig struct {
	// Issuer is sent back as the "iss" of the authorization response (RFC
	// 9207).
	Issuer string
	// CodeTTL is the life of an authorization code; default
	// DefaultCodeTTL.
	CodeTTL time.Duration
	// OnConsentRevoked, if set, runs when a user revokes their consent to
	// a client, to revoke the grants the client holds for them.
	OnConsentRevoked func(ctx context.Context, userID, clientID string) error
	// Audit, if set, records consent.granted and consent.revoked. Nil
	// records none.
	Audit *audit.Recorder
}

// Authorizer is the domain of the authorization endpoint: it checks
// authorization requests, remembers consent, and issues authorization
// codes. The HTTP layer owns the browser: sessions, login and consent
// pages.
type Authorizer struct {
	cfg      AuthorizerConfig
	clients  *Clients
	codes    store.AuthCodeStore
	consents store.ConsentStore
	now      func() time.Time
	// registry caches the scopes registered clients may request; see
	// registeredScopes.
	registry scopeRegistry
}

// NewAuthorizer returns an Authorizer. now may be nil for time.Now.
func NewAuthorizer(cfg AuthorizerConfig, clients *Clients, codes store.AuthCodeStore, consents store.ConsentStore, now func() time.Time) *Authorizer {
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Authorizer{cfg: cfg, clients: clients, codes: codes, consents: consents, now: now}
}

// Clients returns the client registry.
func (a *Authorizer) Clients() *Clients { return a.clients }

// ParseRequest checks the parameters of an authorization request. Its
// errors are *AuthorizeError, except store failures. The client and the
// redirect URI are checked first: until both are known good, errors carry
// no redirect URI. A parameter given twice is invalid_request (RFC 6749
// section 3.1).
func (a *Authorizer) ParseRequest(ctx context.Context, q url.Values) (AuthorizeRequest, error) {
	page := func(desc string) (AuthorizeRequest, error) {
		return AuthorizeRequest{}, &AuthorizeError{Err: ErrInvalidRequest.WithDescription(desc)}
	}
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(q[k]) > 1 {
			return page(k + " is given more than once")
		}
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return page("client_id is missing")
	}
	if len(clientID) > maxClientIDLen {
		return page("unknown client")
	}
	cl, err := a.clients.Get(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return page("unknown client")
	}
	if err != nil {
		return AuthorizeRequest{}, err
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		return page("redirect_uri is missing")
	}
	if !MatchRedirectURI(cl.RedirectURIs, redirect) {
		return page("redirect_uri is not registered for this client")
	}

	state := q.Get("state")
	if len(state) > maxStateLen {
		state = ""
	}
	fail := func(e *Error) (AuthorizeRequest, error) {
		return AuthorizeRequest{}, &AuthorizeError{Err: e, RedirectURI: redirect, State: state}
	}
	for k, v := range q {
		if len(v) > 1 {
			return fail(ErrInvalidRequest.WithDescription("parameter " + quoteShort(k) + " is given more than once"))
		}
	}
	if len(q["state"]) > 0 && len(q.Get("state")) > maxStateLen {
		return fail(ErrInvalidRequest.WithDescription("state is too long"))
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return fail(ErrInvalidRequest.WithDescription("response_type is missing"))
	default:
		return fail(ErrUnsupportedResponseType)
	}
	if !slices.Contains(cl.GrantTypes, GrantAuthorizationCode) {
		return fail(ErrUnauthorizedClient.WithDescription("the client is not registered for the authorization code flow"))
	}
	switch {
	case q.Has("request"):
		return fail(ErrRequestNotSupported)
	case q.Has("request_uri"):
		return fail(ErrRequestURINotSupported)
	case q.Has("registration"):
		return fail(ErrRegistrationNotSupported)
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return fail(ErrInvalidRequest.WithDescription("only response_mode=query is supported"))
	}

	req := AuthorizeRequest{Client: cl, RedirectURI: redirect, State: state, MaxAge: -1, LoginHint: q.Get("login_hint")}
	if req.Scope, err = ParseScope(q.Get("scope")); err != nil {
		var oe *Error
		if errors.As(err, &oe) {
			return fail(oe)
		}
		return AuthorizeRequest{}, err
	}
	if req.Scope, err = a.dropUnknownScopes(ctx, cl, req.Scope); err != nil {
		return AuthorizeRequest{}, err
	}
	if s, ok := subset(req.Scope, cl.Scopes); !ok {
		return fail(ErrInvalidScope.WithDescription("scope " + quoteShort(s) + " is not allowed for this client"))
	}
	if i := slices.IndexFunc(req.Scope, IsServiceScope); i >= 0 {
		return fail(errServiceScope(req.Scope[i]))
	}

	req.Nonce = q.Get("nonce")
	if len(req.Nonce) > maxNonceLen {
		return fail(ErrInvalidRequest.WithDescription("nonce is too long"))
	}

	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return fail(ErrInvalidRequest.WithDescription("code_challenge_method without code_challenge"))
	case challenge == "" && RequiresPKCE(cl):
		return fail(ErrInvalidRequest.WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256"))
	case challenge != "" && method != PKCEMethodS256:
		return fail(ErrInvalidRequest.WithDescription("code_challenge_method must be S256 (plain is not supported)"))
	case challenge != "" && (len(challenge) != s256ChallengeLen || !validPKCEString(challenge, s256ChallengeLen, s256ChallengeLen)):
		return fail(ErrInvalidRequest.WithDescription("code_challenge must be the base64url SHA-256 of the code verifier (43 characters)"))
	}
	req.CodeChallenge = challenge

	for _, p := range strings.Fields(q.Get("prompt")) {
		switch p {
		case "none", "login", "consent", "select_account":
			if !slices.Contains(req.Prompt, p) {
				req.Prompt = append(req.Prompt, p)
			}
		default:
			return fail(ErrInvalidRequest.WithDescription("prompt " + quoteShort(p) + " is not supported"))
		}
	}
	if req.HasPrompt("none") && len(req.Prompt) > 1 {
		return fail(ErrInvalidRequest.WithDescription("prompt=none cannot be combined with other values"))
	}
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail(ErrInvalidRequest.WithDescription("max_age must be a number of seconds"))
		}
		req.MaxAge = n
	}
	return req, nil
}

// NeedsConsent reports whether the user must be asked before the client
// gets the request's scope: never for first-party clients; always with
// prompt=consent; otherwise when a requested scope is not in the user's
// stored consent to the client.
func (a *Authorizer) NeedsConsent(ctx context.Context, userID string, req AuthorizeRequest) (bool, error) {
	if req.Client.FirstParty {
		return false, nil
	}
	if req.HasPrompt("consent") {
		return true, nil
	}
	c, err := a.consents.GetConsent(ctx, userID, req.Client.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("oauth: read consent: %w", err)
	}
	_, ok := subset(req.Scope, c.Scopes)
	return !ok, nil
}

// Consent records that the user consented to the client having scope, in
// addition to what they consented to before.
func (a *Authorizer) Consent(ctx context.Context, userID, clientID string, scope []string) error {
	now := a.now().UTC().Truncate(time.Millisecond)
	c := store.Consent{UserID: userID, ClientID: clientID, CreatedAt: now}
	old, err := a.consents.GetConsent(ctx, userID, clientID)
	switch {
	case err == nil:
		c.Scopes, c.CreatedAt = old.Scopes, old.CreatedAt
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("oauth: read consent: %w", err)
	}
	for _, s := range scope {
		if !slices.Contains(c.Scopes, s) {
			c.Scopes = append(c.Scopes, s)
		}
	}
	if c.Scopes == nil {
		c.Scopes = []string{}
	}
	c.UpdatedAt = now
	if err := a.consents.PutConsent(ctx, c); err != nil {
		return fmt.Errorf("oauth: store consent: %w", err)
	}
	if err := a.cfg.Audit.Record(ctx, audit.Event{Type: audit.ConsentGranted, UserID: userID, ClientID: clientID,
		Detail: map[string]string{"scope": strings.Join(c.Scopes, " ")}}); err != nil {
		return fmt.Errorf("oauth: store consent: %w", err)
	}
	return nil
}

// Consents returns the user's consents, oldest first.
func (a *Authorizer) Consents(ctx context.Context, userID string) ([]store.Consent, error) {
	cs, err := a.consents.ListUserConsents(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("oauth: list consents: %w", err)
	}
	return cs, nil
}

// RevokeConsent forgets the user's consent to the client and runs
// OnConsentRevoked to end the client's grants for the user. It returns an
// error wrapping store.ErrNotFound if there was no consent.
func (a *Authorizer) RevokeConsent(ctx context.Context, userID, clientID string) error {
	if err := a.consents.DeleteConsent(ctx, userID, clientID); err != nil {
		return fmt.Errorf("oauth: revoke consent: %w", err)
	}
	if err := a.cfg.Audit.Record(ctx, audit.Event{Type: audit.ConsentRevoked, UserID: userID, ClientID: clientID}); err != nil {
		return fmt.Errorf("oauth: revoke consent: %w", err)
	}
	if a.cfg.OnConsentRevoked != nil {
		if err := a.cfg.OnConsentRevoked(ctx, userID, clientID); err != nil {
			return fmt.Errorf("oauth: revoke the grants of a revoked consent: %w", err)
		}
	}
	return nil
}

// Authorization is who answered an authorization request: the user, the
// browser session and when the user authenticated in it.
type Authorization struct {
	UserID    string
	SessionID string
	AuthTime  time.Time
}

// IssueCode stores a new authorization code for req and returns the URL
// to send the browser to: the redirect URI with code, state and iss.
func (a *Authorizer) IssueCode(ctx context.Context, req AuthorizeRequest, az Authorization) (string, error) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	code := base64.RawURLEncoding.EncodeToString(raw[:])
	h := sha256.Sum256([]byte(code))
	now := a.now().UTC().Truncate(time.Millisecond)
	c := store.AuthCode{
		Hash: h[:], ClientID: req.Client.ID, UserID: az.UserID, SessionID: az.SessionID,
		RedirectURI: req.RedirectURI, Scope: strings.Join(req.Scope, " "), Audience: req.Client.Audiences,
		Nonce: req.Nonce, AuthTime: az.AuthTime.UTC(), CreatedAt: now, ExpiresAt: now.Add(a.cfg.CodeTTL),
	}
	if req.CodeChallenge != "" {
		c.CodeChallenge, c.CodeChallengeMethod = req.CodeChallenge, PKCEMethodS256
	}
	if err := a.codes.CreateAuthCode(ctx, c); err != nil {
		return "", fmt.Errorf("oauth: store authorization code: %w", err)
	}
	v := url.Values{"code": {code}}
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", a.cfg.Issuer)
	return appendQuery(req.RedirectURI, v), nil
}

// ErrorRedirect returns where to send the browser for an error that may
// be redirected (RFC 6749 section 4.1.2.1), with iss (RFC 9207); "" if it
// may not.
func (a *Authorizer) ErrorRedirect(e *AuthorizeError) string {
	if e.RedirectURI == "" {
		return ""
	}
	v := url.Values{"error": {e.Err.Code}}
	if e.Err.Description != "" {
		v.Set("error_description", e.Err.Description)
	}
	if e.State != "" {
		v.Set("state", e.State)
	}
	v.Set("iss", a.cfg.Issuer)
	return appendQuery(e.RedirectURI, v)
}

// Sweep deletes the codes that expired more than DefaultUsedCodeRetention
// ago and returns how many.
func (a *Authorizer) Sweep(ctx context.Context) (int, error) {
	n, err := a.codes.DeleteExpiredAuthCodes(ctx, a.now().Add(-DefaultUsedCodeRetention))
	if err != nil {
		return 0, fmt.Errorf("oauth: sweep authorization codes: %w", err)
	}
	return n, nil
}

// appendQuery adds v to the query of uri, keeping the query it has (RFC
// 6749 section 3.1.2: the redirect URI's own query is retained).
func appendQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + v.Encode()
}
