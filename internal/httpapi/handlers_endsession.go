package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// handleEndSession is the end-session endpoint (OpenID Connect
// RP-Initiated Logout 1.0). post_logout_redirect_uri must be registered
// by the client named by client_id or by the id_token_hint's audience;
// anything else is an error page, never a redirect. The browser session
// ends at once when an id_token_hint names its user; otherwise the user
// confirms with a form, so that a link elsewhere cannot log them out.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		form, err := s.readForm(w, r)
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
	form, err := s.readForm(w, r)
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
		h, err := s.deps.IDTokens.VerifyHint(r.Context(), raw)
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
	ctx := audit.WithActor(r.Context(), audit.Actor{Kind: audit.ActorUser, ID: sess.UserID})
	if err := s.deps.Sessions.Revoke(ctx, sess.UserID, sess.ID, audit.EndLogout); err != nil && !errors.Is(err, session.ErrInvalid) {
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
