package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/session"
)

// handleRecoverPage serves GET /recover. With ?token= (the link of a
// recovery mail) it keeps the secret in the page's cookie and redirects
// to GET /recover, which then shows the new-password form; without a
// kept secret it shows the form asking for the account's email address
// (where "Forgot password?" on /login leads).
func (s *Server) handleRecoverPage(w http.ResponseWriter, r *http.Request) {
	if s.stashLinkToken(w, r, recoverPage, func() { s.renderLinkDead(w, r, recoverPage) }) {
		return
	}
	if _, ok := s.linkToken(r, recoverPage); ok {
		s.renderReset(w, r, http.StatusOK, "")
		return
	}
	s.renderRecover(w, r, http.StatusOK, "", "")
}

func (s *Server) renderRecover(w http.ResponseWriter, r *http.Request, status int, email, errMsg string) {
	secret := s.loginCSRFSecret(w, r)
	if len(email) > 320 {
		email = ""
	}
	s.renderPage(w, r, status, "recover.html", map[string]any{
		"Title": "Forgot your password?", "CSRFToken": session.CSRFToken(secret), "Email": email, "Error": errMsg,
	})
}

func (s *Server) renderReset(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	secret := s.loginCSRFSecret(w, r)
	s.renderPage(w, r, status, "reset.html", map[string]any{
		"Title": "Choose a new password", "CSRFToken": session.CSRFToken(secret), "Error": errMsg,
		"MinLen": identity.MinPasswordLen,
	})
}

// handleRecoverSubmit takes both forms of /recover, after their CSRF and
// Origin checks: the new password (a form with "password", with the
// secret the browser keeps), or the request for a link (a form with
// "email"), through the same service as POST /v1/recovery/confirm and
// POST /v1/recovery.
func (s *Server) handleRecoverSubmit(w http.ResponseWriter, r *http.Request) {
	form, err := s.readForm(w, r)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Password reset failed", "The form could not be read. Go back and try again.", true)
		return
	}
	_, reset := form["password"]
	if !s.pageFormOK(r, form) {
		const expired = "This form expired. Please try again."
		if reset {
			s.renderReset(w, r, http.StatusForbidden, expired)
		} else {
			s.renderRecover(w, r, http.StatusForbidden, form.Get("email"), expired)
		}
		return
	}
	if reset {
		s.resetPassword(w, r, form.Get("password"), form.Get("password_again"))
		return
	}
	s.requestRecovery(w, r, form.Get("email"))
}

// requestRecovery asks for a recovery mail to email and answers the same
// page whether or not an account uses the address.
func (s *Server) requestRecovery(w http.ResponseWriter, r *http.Request, email string) {
	if email == "" {
		s.renderRecover(w, r, http.StatusBadRequest, "", "Enter the email address of your account.")
		return
	}
	err := s.deps.Accounts.RequestRecovery(r.Context(), email, s.clientIP(r))
	if err != nil {
		ae := s.asAPIErrorQuiet(err)
		switch ae.Code {
		case codeInvalidRequest:
			s.renderRecover(w, r, http.StatusBadRequest, email, "Enter a valid email address.")
		case codeRateLimited:
			setRetryAfter(w, ae.RetryAfter)
			s.renderRecover(w, r, http.StatusTooManyRequests, email, "Too many requests. Wait a while and try again.")
		case codeNotFound:
			s.renderMailOff(w, r)
		default:
			s.log.ErrorContext(r.Context(), "recover page", "err", err)
			s.renderMessage(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again later.", true)
		}
		return
	}
	s.renderMessage(w, r, http.StatusOK, "Check your mail",
		"If an account uses "+email+", a mail with a link to choose a new password is on its way to it. Only the newest link works, and not for long: open it soon.", false)
}

// resetPassword sets the new password with the secret the browser keeps.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, pw, again string) {
	tok, ok := s.linkToken(r, recoverPage)
	if !ok {
		s.renderLinkMissing(w, r, recoverPage)
		return
	}
	if pw != again {
		s.renderReset(w, r, http.StatusBadRequest, "The two passwords differ. Type the same one twice.")
		return
	}
	if _, err := s.deps.Accounts.ConfirmRecovery(r.Context(), tok, pw); err != nil {
		if ae := s.asAPIErrorQuiet(err); ae.Code == codeInvalidRequest {
			s.renderReset(w, r, http.StatusBadRequest, "Choose another password: "+ae.Description+".")
			return
		}
		s.linkPageError(w, r, recoverPage, err, func(msg string) { s.renderReset(w, r, http.StatusTooManyRequests, msg) })
		return
	}
	s.dropLinkToken(w, recoverPage)
	s.renderNotice(w, r, http.StatusOK, "Password changed",
		"Your new password is set, and you are signed out everywhere. Sign in with the new password.", false, "/login", "Sign in")
}
