package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// authorizeRoutes mounts the browser side of OAuth and OpenID Connect:
// the login page, the authorization endpoint and its consent page,
// userinfo, RP-initiated logout, and the user's consents.
func (s *Server) authorizeRoutes() {
	m := s.mux
	m.HandleFunc("GET /static/gatehouse.css", s.handleStylesheet)
	m.HandleFunc("GET /login", s.handleLoginPage)
	m.HandleFunc("POST /login", s.handleLoginSubmit)
	m.HandleFunc("GET /oauth2/authorize", s.handleAuthorize)
	m.HandleFunc("POST /oauth2/authorize", s.handleAuthorize)
	m.HandleFunc("POST /oauth2/authorize/consent", s.handleConsent)
	m.HandleFunc("GET /oauth2/logout", s.handleEndSession)
	m.HandleFunc("POST /oauth2/logout", s.handleEndSession)
	m.HandleFunc("POST /oauth2/logout/confirm", s.handleEndSessionConfirm)
	m.Handle("GET /v1/consents", s.user(s.handleListConsents))
	m.Handle("DELETE /v1/consents/{client_id}", s.user(s.handleDeleteConsent))
}

// userinfoRoutes mounts the userinfo endpoint, which needs only the token
// service.
func (s *Server) userinfoRoutes() {
	s.mux.HandleFunc("GET /userinfo", s.handleUserInfo)
	s.mux.HandleFunc("POST /userinfo", s.handleUserInfo)
}

// browserSession returns the live cookie session of the request and its
// cookie secret; ok is false when there is none.
func (s *Server) browserSession(r *http.Request) (sess store.Session, secret string, ok bool) {
	secret, ok = s.cookieSecret(r)
	if !ok {
		return store.Session{}, "", false
	}
	sess, err := s.deps.Sessions.AuthenticateCookie(r.Context(), secret)
	if err != nil {
		return store.Session{}, "", false
	}
	return sess, secret, true
}

// handleLoginPage renders the login form. return_to, if it is a path on
// this server, is where a successful login goes.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.renderLogin(w, r, http.StatusOK, safeReturnTo(q.Get("return_to")), q.Get("login_hint"), "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, returnTo, email, errMsg string) {
	secret := s.loginCSRFSecret(w, r)
	if len(email) > 320 {
		email = ""
	}
	s.renderPage(w, r, status, "login.html", map[string]any{
		"Title": "Sign in", "CSRFToken": session.CSRFToken(secret), "ReturnTo": returnTo,
		"Email": email, "Error": errMsg,
	})
}

// handleLoginSubmit checks the login form: its CSRF token (against the
// pre-login cookie) and origin, then the password through the same
// identity service as POST /v1/login, and starts a new cookie session,
// ending any session the browser had (session fixation). It then
// redirects to return_to.
func (s *Server) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "The form could not be read. Go back and try again.", true)
		return
	}
	returnTo := safeReturnTo(form.Get("return_to"))
	c, cerr := r.Cookie(s.loginCSRFCookieName())
	if !s.originOK(r) || cerr != nil || !session.ValidCSRFToken(c.Value, form.Get("csrf_token")) {
		// The typed email comes back (escaped by the template), never the
		// password.
		s.renderLogin(w, r, http.StatusForbidden, returnTo, form.Get("email"), "Your sign-in form expired. Please try again.")
		return
	}
	email, pw := form.Get("email"), form.Get("password")
	if email == "" || pw == "" {
		s.renderLogin(w, r, http.StatusBadRequest, returnTo, email, "Enter your email and password.")
		return
	}
	ci := session.ClientInfo{UserAgent: r.UserAgent(), IP: s.clientIP(r)}
	u, err := s.deps.Users.Login(r.Context(), email, pw, ci.IP)
	if err != nil {
		s.countLogin("page", err)
		ae := s.asAPIErrorQuiet(err)
		switch ae.Code {
		case codeInvalidCredentials:
			s.renderLogin(w, r, http.StatusUnauthorized, returnTo, email, "Wrong email or password.")
		case codeRateLimited:
			if ae.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(ae.RetryAfter.Round(time.Second).Seconds())))
			}
			s.renderLogin(w, r, http.StatusTooManyRequests, returnTo, email, "Too many attempts. Wait a while and try again.")
		default:
			s.log.ErrorContext(r.Context(), "login page", "err", err)
			s.renderMessage(w, r, http.StatusInternalServerError, "Sign-in failed", "Something went wrong. Please try again later.", true)
		}
		return
	}
	created, err := s.startBrowserSession(r, u, pw, ci)
	s.countLogin("page", err)
	if err != nil {
		if errors.Is(err, identity.ErrInvalidCredentials) {
			s.renderLogin(w, r, http.StatusUnauthorized, returnTo, email, "Wrong email or password.")
			return
		}
		s.log.ErrorContext(r.Context(), "login page", "err", err)
		s.renderMessage(w, r, http.StatusInternalServerError, "Sign-in failed", "Something went wrong. Please try again later.", true)
		return
	}
	s.setSessionCookie(w, created.Secret, created.Session.ExpiresAt)
	s.log.InfoContext(r.Context(), "login", "user_id", u.ID, "mode", "page", "session_id", created.Session.ID)
	if returnTo == "" {
		s.renderMessage(w, r, http.StatusOK, "Signed in", "You are signed in.", false)
		return
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// handleAuthorize is the authorization endpoint (RFC 6749 section 3.1,
// OpenID Connect Core section 3.1.2), by GET or by form POST.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		form, err := readForm(w, r)
		if err != nil {
			s.renderMessage(w, r, http.StatusBadRequest, "Invalid request", "The authorization request could not be read.", true)
			return
		}
		q = form
	}
	az := s.deps.Authorize
	req, err := az.ParseRequest(r.Context(), q)
	if err != nil {
		s.authorizeError(w, r, err)
		return
	}
	sess, secret, ok := s.browserSession(r)
	var authTime time.Time
	if ok {
		authTime = sess.CreatedAt
	}
	if req.NeedsLogin(authTime, s.now()) {
		if req.HasPrompt("none") {
			s.authorizeError(w, r, &oauth.AuthorizeError{Err: oauth.ErrLoginRequired, RedirectURI: req.RedirectURI, State: req.State})
			return
		}
		// Back here after login, without what asked for it: a fresh login
		// satisfies prompt=login, select_account and max_age.
		back := withoutPrompts(q, req.Prompt, "login", "select_account")
		login := url.Values{"return_to": {"/oauth2/authorize?" + back.Encode()}}
		if req.LoginHint != "" {
			login.Set("login_hint", req.LoginHint)
		}
		http.Redirect(w, r, "/login?"+login.Encode(), http.StatusSeeOther)
		return
	}
	if req.HasPrompt("select_account") {
		s.renderSelectAccount(w, r, req, sess, q)
		return
	}
	needs, err := az.NeedsConsent(r.Context(), sess.UserID, req)
	if err != nil {
		s.authorizeError(w, r, err)
		return
	}
	if needs {
		if req.HasPrompt("none") {
			s.authorizeError(w, r, &oauth.AuthorizeError{Err: oauth.ErrConsentRequired, RedirectURI: req.RedirectURI, State: req.State})
			return
		}
		s.renderConsent(w, r, req, sess, secret, q)
		return
	}
	s.issueCode(w, r, req, sess)
}

// withoutPrompts returns a copy of the authorization request q whose
// prompt parameter (parsed as prompt) lacks the values drop.
func withoutPrompts(q url.Values, prompt []string, drop ...string) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	out.Del("prompt")
	if p := slices.DeleteFunc(slices.Clone(prompt), func(p string) bool { return slices.Contains(drop, p) }); len(p) > 0 {
		out.Set("prompt", strings.Join(p, " "))
	}
	return out
}

// renderSelectAccount answers prompt=select_account (OpenID Connect Core
// section 3.1.2.1) for a browser with a session: the login page, showing
// the account signed in with a link to continue as it (the request again
// without select_account), and the form to sign in with another account,
// which replaces the session and then continues the same way.
func (s *Server) renderSelectAccount(w http.ResponseWriter, r *http.Request, req oauth.AuthorizeRequest, sess store.Session, q url.Values) {
	u, err := s.deps.Users.GetUser(r.Context(), sess.UserID)
	if err != nil {
		s.authorizeError(w, r, err)
		return
	}
	next := "/oauth2/authorize?" + withoutPrompts(q, req.Prompt, "select_account").Encode()
	hint := req.LoginHint
	if len(hint) > 320 {
		hint = ""
	}
	secret := s.loginCSRFSecret(w, r)
	s.renderPage(w, r, http.StatusOK, "login.html", map[string]any{
		"Title": "Choose an account", "CSRFToken": session.CSRFToken(secret), "ReturnTo": next,
		"Email": hint, "Current": u.Email, "Continue": next,
	})
}

// issueCode sends the browser back to the client with a new code.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, req oauth.AuthorizeRequest, sess store.Session) {
	to, err := s.deps.Authorize.IssueCode(r.Context(), req, oauth.Authorization{UserID: sess.UserID, SessionID: sess.ID, AuthTime: sess.CreatedAt})
	if err != nil {
		s.authorizeError(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// scopeDescriptions say what the standard scopes let a client do.
var scopeDescriptions = map[string]string{
	oauth.ScopeOpenID:        "Know who you are (sign you in)",
	oauth.ScopeProfile:       "See your profile (name and similar details)",
	oauth.ScopeEmail:         "See your email address",
	oauth.ScopeOfflineAccess: "Keep access while you are away",
}

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, req oauth.AuthorizeRequest, sess store.Session, secret string, q url.Values) {
	scopes := make([]string, 0, len(req.Scope))
	for _, sc := range req.Scope {
		if d, ok := scopeDescriptions[sc]; ok {
			scopes = append(scopes, d)
		} else {
			scopes = append(scopes, "Use the permission “"+sc+"”")
		}
	}
	name := req.Client.Name
	if name == "" {
		name = "An application (" + req.Client.ID + ")"
	}
	var email string
	if u, err := s.deps.Users.GetUser(r.Context(), sess.UserID); err == nil {
		email = u.Email
	}
	s.renderPage(w, r, http.StatusOK, "consent.html", map[string]any{
		"Title": "Allow access?", "ClientName": name, "Email": email, "Scopes": scopes,
		"CSRFToken": session.CSRFToken(secret), "Request": q.Encode(),
	})
}

// handleConsent takes the consent form's answer. It needs the same
// session that saw the form (its CSRF token) and a trusted origin; it
// checks the authorization request again from scratch.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Invalid request", "The consent form could not be read.", true)
		return
	}
	sess, secret, ok := s.browserSession(r)
	if !ok || !s.originOK(r) || !session.ValidCSRFToken(secret, form.Get("csrf_token")) {
		s.renderMessage(w, r, http.StatusForbidden, "Request expired", "This consent form has expired. Return to the application and sign in again.", true)
		return
	}
	q, err := url.ParseQuery(form.Get("request"))
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Invalid request", "The consent form could not be read.", true)
		return
	}
	az := s.deps.Authorize
	req, err := az.ParseRequest(r.Context(), q)
	if err != nil {
		s.authorizeError(w, r, err)
		return
	}
	if form.Get("decision") != "allow" {
		s.authorizeError(w, r, &oauth.AuthorizeError{Err: oauth.ErrAccessDenied, RedirectURI: req.RedirectURI, State: req.State})
		return
	}
	if err := az.Consent(r.Context(), sess.UserID, req.Client.ID, req.Scope); err != nil {
		s.authorizeError(w, r, err)
		return
	}
	s.issueCode(w, r, req, sess)
}

// authorizeError answers a failed authorization request: back to the
// client when its redirect URI is verified (RFC 6749 section 4.1.2.1),
// otherwise an error page. Server failures become server_error.
func (s *Server) authorizeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *oauth.AuthorizeError
	if !errors.As(err, &ae) {
		s.log.ErrorContext(r.Context(), "authorization request failed", "err", err)
		s.renderMessage(w, r, http.StatusInternalServerError, "Something went wrong", "The request could not be completed. Please try again later.", true)
		return
	}
	if to := s.deps.Authorize.ErrorRedirect(ae); to != "" {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	s.renderMessage(w, r, http.StatusBadRequest, "Invalid request", "The application sent an invalid sign-in request: "+ae.Err.Description+".", true)
}

// handleUserInfo is the userinfo endpoint (OpenID Connect Core section
// 5.3): an access token of a live user grant with the openid scope gets
// "sub", then the claims its scopes allow: email and email_verified
// (email), and the user's custom claims of the standard profile names
// (profile).
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	challenge := func(status int, code, desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="`+code+`", error_description="`+desc+`"`)
		writeJSON(w, status, errorBody{Error: code, Description: desc})
	}
	tok, present := bearerToken(r)
	if !present && r.Method == http.MethodPost {
		// RFC 6750 section 2.2: the token may come in the form body.
		if form, err := readForm(w, r); err == nil {
			tok, present = form.Get("access_token"), form.Has("access_token")
		}
	}
	if !present {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "invalid_token", Description: "an access token is required"})
		return
	}
	in, grant := s.deps.TokenService.Introspect(r.Context(), tok)
	if !in.Active || in.TokenType != "access_token" || in.Sid == "" || grant.UserID == "" {
		challenge(http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
		return
	}
	scopes := strings.Fields(in.Scope)
	if !slices.Contains(scopes, oauth.ScopeOpenID) {
		challenge(http.StatusForbidden, "insufficient_scope", "the access token lacks the openid scope")
		return
	}
	u, err := s.deps.Users.GetUser(r.Context(), in.Sub)
	if err != nil || u.Disabled {
		challenge(http.StatusUnauthorized, "invalid_token", "the access token's user is gone")
		return
	}
	out := map[string]any{"sub": u.ID}
	if slices.Contains(scopes, oauth.ScopeEmail) {
		// Gatehouse does not verify addresses.
		out["email"], out["email_verified"] = u.Email, false
	}
	if slices.Contains(scopes, oauth.ScopeProfile) {
		for _, c := range profileClaims {
			if v, ok := u.Claims[c]; ok {
				out[c] = v
			}
		}
		out["updated_at"] = u.UpdatedAt.Unix()
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, out)
}

// profileClaims are the claims of the profile scope (OpenID Connect Core
// section 5.4), taken from the user's custom claims when present.
var profileClaims = []string{
	"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
	"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale",
}

// handleEndSession is the end-session endpoint (OpenID Connect
// RP-Initiated Logout 1.0). post_logout_redirect_uri must be registered
// by the client named by client_id or by the id_token_hint's audience;
// anything else is an error page, never a redirect. The browser session
// ends at once when an id_token_hint names its user; otherwise the user
// confirms with a form, so that a link elsewhere cannot log them out.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		form, err := readForm(w, r)
		if err != nil {
			s.renderMessage(w, r, http.StatusBadRequest, "Invalid request", "The logout request could not be read.", true)
			return
		}
		q = form
	}
	lr, ok := s.parseEndSession(w, r, q)
	if !ok {
		return
	}
	sess, secret, live := s.browserSession(r)
	switch {
	case !live:
		s.finishLogout(w, r, lr)
	case lr.hint != nil && lr.hint.Subject == sess.UserID:
		s.endBrowserSession(w, r, sess)
		s.finishLogout(w, r, lr)
	default:
		s.renderPage(w, r, http.StatusOK, "logout.html", map[string]any{
			"Title": "Sign out", "ClientName": lr.clientName, "CSRFToken": session.CSRFToken(secret), "Request": q.Encode(),
		})
	}
}

// handleEndSessionConfirm takes the logout confirmation form.
func (s *Server) handleEndSessionConfirm(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Invalid request", "The logout form could not be read.", true)
		return
	}
	q, err := url.ParseQuery(form.Get("request"))
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Invalid request", "The logout form could not be read.", true)
		return
	}
	lr, ok := s.parseEndSession(w, r, q)
	if !ok {
		return
	}
	sess, secret, live := s.browserSession(r)
	if live {
		if !s.originOK(r) || !session.ValidCSRFToken(secret, form.Get("csrf_token")) {
			s.renderMessage(w, r, http.StatusForbidden, "Request expired", "This logout form has expired. Please try again.", true)
			return
		}
		s.endBrowserSession(w, r, sess)
	}
	s.finishLogout(w, r, lr)
}

// logoutRequest is a checked end-session request.
type logoutRequest struct {
	redirect   string
	state      string
	clientName string
	hint       *oauth.Hint
}

// parseEndSession checks an end-session request, writing an error page
// and returning false if it is bad.
func (s *Server) parseEndSession(w http.ResponseWriter, r *http.Request, q url.Values) (logoutRequest, bool) {
	bad := func(msg string) (logoutRequest, bool) {
		s.renderMessage(w, r, http.StatusBadRequest, "Invalid logout request", msg, true)
		return logoutRequest{}, false
	}
	lr := logoutRequest{redirect: q.Get("post_logout_redirect_uri"), state: q.Get("state")}
	clientID := q.Get("client_id")
	if raw := q.Get("id_token_hint"); raw != "" {
		h, err := s.deps.IDTokens.VerifyHint(raw)
		if err != nil {
			return bad("The application sent an invalid id_token_hint.")
		}
		if clientID != "" && clientID != h.ClientID {
			return bad("client_id does not match the id_token_hint.")
		}
		lr.hint, clientID = &h, h.ClientID
	}
	if clientID != "" && len(clientID) <= 128 {
		if cl, err := s.deps.Authorize.Clients().Get(r.Context(), clientID); err == nil {
			lr.clientName = cl.Name
			if lr.redirect != "" && !slices.Contains(cl.PostLogoutRedirectURIs, lr.redirect) {
				return bad("post_logout_redirect_uri is not registered for this application.")
			}
		} else if lr.redirect != "" {
			return bad("Unknown application.")
		}
	} else if lr.redirect != "" {
		return bad("post_logout_redirect_uri needs client_id or id_token_hint.")
	}
	if len(lr.state) > 2048 {
		return bad("state is too long.")
	}
	return lr, true
}

// endBrowserSession revokes the browser session and drops its cookie.
func (s *Server) endBrowserSession(w http.ResponseWriter, r *http.Request, sess store.Session) {
	if err := s.deps.Sessions.Revoke(r.Context(), sess.UserID, sess.ID); err != nil && !errors.Is(err, session.ErrInvalid) {
		s.log.ErrorContext(r.Context(), "end session", "err", err)
	}
	s.clearCookie(w)
	s.log.InfoContext(r.Context(), "logout", "user_id", sess.UserID, "session_id", sess.ID, "via", "end_session")
}

// finishLogout sends the browser to the registered post-logout URI with
// state, or shows that the user is signed out.
func (s *Server) finishLogout(w http.ResponseWriter, r *http.Request, lr logoutRequest) {
	if lr.redirect == "" {
		s.renderMessage(w, r, http.StatusOK, "Signed out", "You are signed out.", false)
		return
	}
	to := lr.redirect
	if lr.state != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + url.Values{"state": {lr.state}}.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// consentJSON is a consent as its user sees it.
type consentJSON struct {
	ClientID   string    `json:"client_id"`
	ClientName string    `json:"client_name"`
	Scope      string    `json:"scope"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// handleListConsents answers the user's consents to third-party clients:
// {"consents": [...]}.
func (s *Server) handleListConsents(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	cs, err := s.deps.Authorize.Consents(r.Context(), p.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]consentJSON, 0, len(cs))
	for _, c := range cs {
		name := ""
		if cl, err := s.deps.Authorize.Clients().Get(r.Context(), c.ClientID); err == nil {
			name = cl.Name
		}
		out = append(out, consentJSON{ClientID: c.ClientID, ClientName: name, Scope: strings.Join(c.Scopes, " "), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"consents": out})
}

// handleDeleteConsent revokes the user's consent to a client and every
// grant the client holds for them: 204, or 404 if there was none.
func (s *Server) handleDeleteConsent(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	err := s.deps.Authorize.RevokeConsent(r.Context(), p.UserID, r.PathValue("client_id"))
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, errNotFound)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
