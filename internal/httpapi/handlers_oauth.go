package httpapi

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/token"
)

// oauthError is an RFC 6749 section 5.2 error.
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func oauthErr(status int, code, desc string) *oauthError {
	return &oauthError{status: status, code: code, description: desc}
}

// writeOAuthError answers an OAuth endpoint's error. Anything that is not
// an *oauthError is logged and answered as server_error.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		var tooBig *http.MaxBytesError
		var ae *apiError
		switch {
		case errors.As(err, &tooBig):
			oe = oauthErr(http.StatusRequestEntityTooLarge, "invalid_request", "request body too large")
		case errors.As(err, &ae) && ae.Status < 500:
			oe = oauthErr(ae.Status, "invalid_request", ae.Description)
		case errors.Is(err, token.ErrInvalidGrant):
			oe = oauthErr(http.StatusBadRequest, "invalid_grant", "the grant is invalid, expired or revoked")
		default:
			s.log.ErrorContext(r.Context(), "oauth request failed", "route", r.Pattern, "err", err)
			oe = oauthErr(http.StatusInternalServerError, "server_error", "internal error")
		}
	}
	if oe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, oe.status, errorBody{Error: oe.code, Description: oe.description})
}

// readForm reads an application/x-www-form-urlencoded body (RFC 6749
// section 3.2). Parameters in the URL query are ignored: credentials do
// not belong there. A parameter given twice is invalid_request.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	body, err := readBody(w, r, MaxBodyBytes, "application/x-www-form-urlencoded")
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "malformed form body")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", "parameter "+k+" given more than once")
		}
	}
	return form, nil
}

// clientID authenticates the OAuth client of a request. Client
// registration arrives with the OAuth provider; until then every request
// is first-party and must not present client credentials.
func (s *Server) clientID(r *http.Request, form url.Values) (string, error) {
	if _, _, ok := r.BasicAuth(); ok || form.Get("client_secret") != "" || form.Get("client_id") != "" {
		return "", oauthErr(http.StatusUnauthorized, "invalid_client", "unknown client")
	}
	return "", nil
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	client, err := s.clientID(r, form)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "":
		s.writeOAuthError(w, r, oauthErr(http.StatusBadRequest, "invalid_request", "grant_type is required"))
	case "refresh_token":
		rt := form.Get("refresh_token")
		if rt == "" {
			s.writeOAuthError(w, r, oauthErr(http.StatusBadRequest, "invalid_request", "refresh_token is required"))
			return
		}
		resp, err := s.deps.TokenService.Refresh(r.Context(), rt, client)
		if err != nil {
			s.writeOAuthError(w, r, err)
			return
		}
		w.Header().Set("Pragma", "no-cache")
		writeJSON(w, http.StatusOK, resp)
	default:
		s.writeOAuthError(w, r, oauthErr(http.StatusBadRequest, "unsupported_grant_type", "grant_type "+gt+" is not supported"))
	}
}

// handleRevoke implements RFC 7009: 200 whether or not the token was
// valid, so the endpoint reveals nothing.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	client, err := s.clientID(r, form)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	tok := form.Get("token")
	if tok == "" {
		s.writeOAuthError(w, r, oauthErr(http.StatusBadRequest, "invalid_request", "token is required"))
		return
	}
	if err := s.deps.TokenService.Revoke(r.Context(), tok, client); err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleIntrospect implements RFC 7662 for callers holding the admin
// token or a JWT with the gatehouse:admin scope. A session cookie value
// can be introspected with token_type_hint=gatehouse_session, which lets
// resource servers accept Gatehouse cookies.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	if !s.introspectionAllowed(r) {
		s.writeOAuthError(w, r, oauthErr(http.StatusUnauthorized, "invalid_client", "introspection requires credentials"))
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	tok := form.Get("token")
	if tok == "" {
		s.writeOAuthError(w, r, oauthErr(http.StatusBadRequest, "invalid_request", "token is required"))
		return
	}
	w.Header().Set("Pragma", "no-cache")
	if form.Get("token_type_hint") == "gatehouse_session" {
		sess, err := s.deps.Sessions.AuthenticateCookie(r.Context(), tok)
		if err != nil {
			writeJSON(w, http.StatusOK, token.Introspection{})
			return
		}
		writeJSON(w, http.StatusOK, token.Introspection{
			Active: true, TokenType: "gatehouse_session", Sub: sess.UserID, Sid: sess.ID,
			Iss: s.cfg.Issuer, Exp: nextTimeout(sess).Unix(), Iat: sess.CreatedAt.Unix(),
		})
		return
	}
	in, _ := s.deps.TokenService.Introspect(r.Context(), tok)
	writeJSON(w, http.StatusOK, in)
}

// introspectionAllowed reports whether the caller may introspect: the
// admin token, or an access token with the gatehouse:admin scope.
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
	return err == nil && p.HasScope(AdminScope)
}
