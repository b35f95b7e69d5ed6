package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/revocation"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/token"
)

// errOAuthServer is the answer to an OAuth request that failed inside.
var errOAuthServer = &oauth.Error{Code: "server_error", Description: "internal error", Status: http.StatusInternalServerError}

// errOAuthUnavailable answers a revocation that could not be stored.
var errOAuthUnavailable = &oauth.Error{Code: "temporarily_unavailable", Description: "the revocation could not be stored; the token is still valid, retry", Status: http.StatusServiceUnavailable}

// writeOAuthError answers an OAuth endpoint's error (RFC 6749 section
// 5.2). An *oauth.Error is written as it is, its cause logged; errors of
// reading the request become invalid_request with their status; anything
// else is logged and answered as server_error.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		if cause := oe.Unwrap(); cause != nil {
			s.log.InfoContext(r.Context(), "oauth request refused", "route", r.Pattern, "error", oe.Code, "cause", cause.Error())
		}
	} else {
		var tooBig *http.MaxBytesError
		var ae *apiError
		switch {
		case errors.As(err, &tooBig):
			oe = &oauth.Error{Code: oauth.ErrInvalidRequest.Code, Description: "request body too large", Status: http.StatusRequestEntityTooLarge}
		case errors.As(err, &ae) && ae.Status < 500:
			oe = &oauth.Error{Code: oauth.ErrInvalidRequest.Code, Description: ae.Description, Status: ae.Status}
		case errors.Is(err, token.ErrInvalidGrant):
			oe = oauth.ErrInvalidGrant
		case errors.Is(err, revocation.ErrNotStored):
			// RFC 7009 section 2.2.1: after a 503 the client must assume
			// the token is still valid, and may retry.
			s.log.ErrorContext(r.Context(), "oauth request failed", "route", r.Pattern, "err", err)
			oe = errOAuthUnavailable
			w.Header().Set("Retry-After", "1")
		default:
			s.log.ErrorContext(r.Context(), "oauth request failed", "route", r.Pattern, "err", err)
			oe = errOAuthServer
		}
	}
	if oe.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
	}
	w.Header()["Pragma"] = hdrPragmaNoCache
	writeJSON(w, oe.Status, errorBody{Error: oe.Code, Description: oe.Description})
}

// readForm reads an application/x-www-form-urlencoded body (RFC 6749
// section 3.2). Parameters in the URL query are ignored: credentials do
// not belong there. A parameter given twice is invalid_request.
//
// A POST with no Content-Type and no body is an empty form, so that the
// caller answers the missing parameters with 400 invalid_request (RFC 6749
// section 5.2), not with an unsupported media type.
//
// The body is read into a pooled buffer (s.buffers): the form's
// values are cut from the one string url.ParseQuery is given, so the
// bytes read need not outlive the call (one copy of the body per request
// instead of two; the token and introspection endpoints read a form on
// every call).
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Header.Get("Content-Type") == "" && r.ContentLength == 0 {
		return url.Values{}, nil
	}
	buf := s.buffers.Get().(*[]byte)
	defer s.buffers.Put(buf)
	body, err := readBodyInto((*buf)[:0], w, r, MaxBodyBytes, "application/x-www-form-urlencoded")
	keepBuffer(buf, body)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauth.ErrInvalidRequest.WithDescription("malformed form body")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, oauth.ErrInvalidRequest.WithDescription("parameter " + k + " given more than once")
		}
	}
	return form, nil
}

// authenticateClient checks a request's client credentials with the
// registry.
func (s *Server) authenticateClient(ctx context.Context, cr oauth.Credentials) (store.Client, error) {
	return s.deps.OAuth.Clients().Authenticate(ctx, cr)
}

// handleToken is the token endpoint: the domain authenticates the client,
// checks grant type, scope and audience, and runs the grant.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	form, err := s.readForm(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	cr, err := oauth.ParseCredentials(r.Header.Get("Authorization"), form)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	resp, err := s.deps.OAuth.Token(r.Context(), cr, form)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	w.Header()["Pragma"] = hdrPragmaNoCache
	writeJSON(w, http.StatusOK, resp)
}

// handleRevoke implements RFC 7009: 200 whether or not the token was
// valid, so the endpoint reveals nothing. A client that authenticates
// revokes only tokens issued to it; without client credentials only
// first-party tokens (no client) can be revoked, as they were issued
// without any.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, err := s.readForm(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	cr, err := oauth.ParseCredentials(r.Header.Get("Authorization"), form)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	var clientID string
	if cr.Present() {
		c, err := s.authenticateClient(r.Context(), cr)
		if err != nil {
			s.writeOAuthError(w, r, err)
			return
		}
		clientID = c.ID
	}
	tok := form.Get("token")
	if tok == "" {
		s.writeOAuthError(w, r, oauth.ErrInvalidRequest.WithDescription("token is required"))
		return
	}
	ctx := r.Context()
	if clientID != "" {
		ctx = audit.WithActor(ctx, audit.Actor{Kind: audit.ActorClient, ID: clientID})
	}
	if err := s.deps.TokenService.Revoke(ctx, tok, clientID); err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleIntrospect implements RFC 7662 for three kinds of caller:
//
//   - a bearer of the admin token or of a client credentials JWT with the
//     gatehouse:admin scope, who sees every token;
//   - a resource server: a confidential client registered with scope
//     gatehouse:introspect, authenticating with its credentials
//     (client_secret_basic or client_secret_post) or with a client
//     credentials JWT carrying that scope. It sees every token, too, and
//     can do nothing else.
//   - any other confidential client, who sees only tokens issued to it:
//     anything else, cookies included, is {"active": false}. Public
//     clients have no credentials to introspect with.
//
// Those who see everything may introspect a session cookie value with
// token_type_hint=gatehouse_session, which lets resource servers accept
// Gatehouse cookies.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	authz := r.Header.Get("Authorization")
	bearer := hasScheme(authz, "Bearer")
	if bearer && !s.introspectionAllowed(r) {
		s.writeOAuthError(w, r, oauth.ErrInvalidClient.WithDescription("introspection requires admin or client credentials"))
		return
	}
	form, err := s.readForm(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	var client *store.Client
	if !bearer {
		cr, err := oauth.ParseCredentials(authz, form)
		if err != nil {
			s.writeOAuthError(w, r, err)
			return
		}
		switch cr.Method {
		case "":
			s.writeOAuthError(w, r, oauth.ErrInvalidClient.WithDescription("introspection requires admin or client credentials"))
			return
		case oauth.AuthNone:
			s.writeOAuthError(w, r, oauth.ErrInvalidClient.WithDescription("public clients cannot introspect tokens"))
			return
		}
		c, err := s.authenticateClient(r.Context(), cr)
		if err != nil {
			s.writeOAuthError(w, r, err)
			return
		}
		if !seesEveryToken(c) {
			client = &c
		}
	}
	tok := form.Get("token")
	if tok == "" {
		s.writeOAuthError(w, r, oauth.ErrInvalidRequest.WithDescription("token is required"))
		return
	}
	w.Header()["Pragma"] = hdrPragmaNoCache
	if form.Get("token_type_hint") == "gatehouse_session" {
		if client != nil {
			s.writeIntrospection(w, &token.Introspection{})
			return
		}
		sess, err := s.deps.Sessions.AuthenticateCookie(r.Context(), tok)
		if err != nil {
			s.writeIntrospection(w, &token.Introspection{})
			return
		}
		in := token.Introspection{
			Active: true, TokenType: "gatehouse_session", Sub: sess.UserID, Sid: sess.ID,
			Iss: s.cfg.Issuer, Exp: nextTimeout(sess).Unix(), Iat: sess.CreatedAt.Unix(),
		}
		in.SetAuth(session.AuthOf(sess))
		s.writeIntrospection(w, &in)
		return
	}
	in, _ := s.deps.TokenService.Introspect(r.Context(), tok)
	if client != nil && in.ClientID != client.ID {
		// Another client's token, or a first-party one: not this
		// client's to see.
		in = token.Introspection{}
	}
	s.writeIntrospection(w, &in)
}

// seesEveryToken reports whether an authenticated client may introspect
// every token: a resource server (registered with gatehouse:introspect),
// or a client that may obtain gatehouse:admin anyway.
func seesEveryToken(c store.Client) bool {
	return slices.Contains(c.Scopes, IntrospectScope) || slices.Contains(c.Scopes, AdminScope)
}

// hasScheme reports whether an Authorization header value uses the
// authentication scheme (compared without regard to case).
func hasScheme(authorization, scheme string) bool {
	s, _, _ := strings.Cut(authorization, " ")
	return strings.EqualFold(s, scheme)
}

// introspectionAllowed reports whether a bearer caller may introspect:
// the admin token, or a client credentials token with the gatehouse:admin
// or gatehouse:introspect scope. A user's token never may, whatever its
// scope.
func (s *Server) introspectionAllowed(r *http.Request) bool {
	tok, present := bearerToken(r)
	if !present || tok == "" {
		return false
	}
	if s.isAdminToken(tok) {
		return true
	}
	if s.deps.Bearer == nil {
		return false
	}
	p, err := s.deps.Bearer.AuthenticateBearer(r.Context(), tok)
	return err == nil && (serviceToken(p, AdminScope) || serviceToken(p, IntrospectScope))
}

// addOAuthDiscovery adds to the discovery document the grant types and
// client authentication methods that are implemented, exactly.
func (s *Server) addOAuthDiscovery(doc map[string]any) {
	iss := s.cfg.Issuer
	doc["grant_types_supported"] = s.deps.OAuth.GrantTypes()
	tokenAuth := []string{oauth.AuthClientSecretBasic, oauth.AuthClientSecretPost, oauth.AuthNone}
	introspectAuth := []string{oauth.AuthClientSecretBasic, oauth.AuthClientSecretPost, "bearer"}
	doc["token_endpoint_auth_methods_supported"] = tokenAuth
	doc["userinfo_endpoint"] = iss + "/userinfo"
	doc["scopes_supported"] = []string{oauth.ScopeOpenID, oauth.ScopeProfile, oauth.ScopeEmail, oauth.ScopeOfflineAccess}
	doc["claims_supported"] = append([]string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "sid", "email", "email_verified", "updated_at"}, profileClaims...)
	doc["authorization_endpoint"] = iss + "/oauth2/authorize"
	doc["end_session_endpoint"] = iss + "/oauth2/logout"
	doc["response_types_supported"] = []string{"code"}
	doc["response_modes_supported"] = []string{"query"}
	doc["subject_types_supported"] = []string{"public"}
	doc["id_token_signing_alg_values_supported"] = s.deps.IDTokens.Algorithms()
	doc["code_challenge_methods_supported"] = []string{oauth.PKCEMethodS256}
	doc["prompt_values_supported"] = []string{"none", "login", "consent", "select_account"}
	doc["acr_values_supported"] = authcontext.ACRValuesSupported()
	doc["claims_parameter_supported"] = false
	doc["request_parameter_supported"] = false
	doc["request_uri_parameter_supported"] = false
	doc["authorization_response_iss_parameter_supported"] = true
	doc["frontchannel_logout_supported"] = false
	// OpenID Connect Back-Channel Logout 1.0 section 2.1: logout tokens
	// always carry "sid".
	doc["backchannel_logout_supported"] = true
	doc["backchannel_logout_session_supported"] = true
	doc["revocation_endpoint_auth_methods_supported"] = tokenAuth
	doc["introspection_endpoint_auth_methods_supported"] = introspectAuth
}
