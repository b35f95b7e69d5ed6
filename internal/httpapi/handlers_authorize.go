package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

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
	m.HandleFunc("GET /static/passkey.js", s.handleScript)
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

// handleAuthorize is the authorization endpoint (RFC 6749 section 3.1,
// OpenID Connect Core section 3.1.2), by GET or by form POST.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		form, err := s.readForm(w, r)
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
		authTime = session.AuthOf(sess).Time
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
	if to, stepUp := s.authorizeStepUp(r, req, &sess, q); stepUp {
		if req.HasPrompt("none") {
			s.authorizeError(w, r, &oauth.AuthorizeError{Err: oauth.ErrLoginRequired, RedirectURI: req.RedirectURI, State: req.State})
			return
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
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

// authorizeStepUp decides whether the browser session *sess, recent
// enough for the request, still lacks what it asks for: a session that
// may only enrol a second factor, or one whose methods do not meet the
// request's acr_values (urn:gatehouse:acr:mfa on a password session). It
// then returns the page that asks for the missing part only, returning to
// the request afterwards: /reauth (the second factor; the password is
// not asked again), or /mfa/totp when the account has no factor to give.
// The cached session is read again from the store before deciding, so a
// step-up made through another instance counts.
func (s *Server) authorizeStepUp(r *http.Request, req oauth.AuthorizeRequest, sess *store.Session, q url.Values) (string, bool) {
	met := func() bool {
		_, ok := session.AuthOf(*sess).Satisfies(req.ACRValues)
		return ok && !sess.EnrolmentOnly
	}
	if met() {
		return "", false
	}
	if fresh, err := s.deps.Sessions.Get(r.Context(), sess.ID); err == nil {
		*sess = fresh
		if met() {
			return "", false
		}
	}
	back := url.Values{"return_to": {"/oauth2/authorize?" + q.Encode()}}.Encode()
	if !sess.EnrolmentOnly {
		if has, err := s.deps.Accounts.HasSecondFactor(r.Context(), sess.UserID); err == nil && has {
			return "/reauth?" + back, true
		}
	}
	return "/mfa/totp?" + back, true
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
	to, err := s.deps.Authorize.IssueCode(r.Context(), req, oauth.Authorization{UserID: sess.UserID, SessionID: sess.ID, Auth: session.AuthOf(sess)})
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
	form, err := s.readForm(w, r)
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
