package httpapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

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
	passkeys := s.deps.Accounts.PasskeysEnabled()
	s.renderPage(w, r, status, "login.html", map[string]any{
		"Title": "Sign in", "CSRFToken": session.CSRFToken(secret), "ReturnTo": returnTo,
		"Email": email, "Error": errMsg, "Passkeys": passkeys, "Script": passkeys,
	})
}

// handleLoginSubmit checks the login form: its CSRF token (against the
// pre-login cookie) and origin, then the password through the same
// identity service as POST /v1/login, and starts a new cookie session,
// ending any session the browser had (session fixation). It then
// redirects to return_to.
func (s *Server) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	form, err := s.readForm(w, r)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "The form could not be read. Go back and try again.", true)
		return
	}
	returnTo := safeReturnTo(form.Get("return_to"))
	if !s.pageFormOK(r, form) {
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
	res, err := s.deps.Accounts.Login(r.Context(), s.loginRequest(r, email, pw, accounts.ModeSession))
	s.countLogin("page", err)
	if err != nil {
		ae := s.asAPIErrorQuiet(err)
		switch ae.Code {
		case codeInvalidCredentials:
			s.renderLogin(w, r, http.StatusUnauthorized, returnTo, email, "Wrong email or password.")
		case codeMFARequired:
			var required *accounts.MFARequiredError
			if errors.As(err, &required) {
				s.renderLoginMFA(w, r, http.StatusOK, returnTo, required.Token, "", required.Factors...)
				return
			}
			s.renderLogin(w, r, http.StatusUnauthorized, returnTo, email, "Sign in again.")
		case codeRateLimited:
			setRetryAfter(w, ae.RetryAfter)
			s.renderLogin(w, r, http.StatusTooManyRequests, returnTo, email, "Too many attempts. Wait a while and try again.")
		case codeEmailNotVerified:
			s.renderLogin(w, r, http.StatusForbidden, returnTo, email, "Verify your email address first: open the link we mailed you.")
		case codeUnavailable:
			// A store or limiter outage (Redis gone): what the API answers,
			// 503 with Retry-After, and the form again, not a 500.
			s.log.WarnContext(r.Context(), "login page: unavailable", "err", err)
			setRetryAfter(w, ae.RetryAfter)
			s.renderLogin(w, r, http.StatusServiceUnavailable, returnTo, email, "Sign-in is unavailable for a moment. Please try again shortly.")
		default:
			s.log.ErrorContext(r.Context(), "login page", "err", err)
			s.renderMessage(w, r, http.StatusInternalServerError, "Sign-in failed", "Something went wrong. Please try again later.", true)
		}
		return
	}
	s.finishPageLogin(w, r, res, returnTo)
}
