package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/session"
)

// handleVerifyPage serves the link of a verification mail
// (GET /verify?token=): it keeps the secret in the page's cookie and
// redirects to GET /verify, which shows the confirmation button. Nothing
// is confirmed by a GET: mail scanners follow links.
func (s *Server) handleVerifyPage(w http.ResponseWriter, r *http.Request) {
	if s.stashLinkToken(w, r, verifyPage, func() { s.renderLinkDead(w, r, verifyPage) }) {
		return
	}
	if _, ok := s.linkToken(r, verifyPage); !ok {
		s.renderLinkMissing(w, r, verifyPage)
		return
	}
	s.renderVerify(w, r, http.StatusOK, "")
}

func (s *Server) renderVerify(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	secret := s.loginCSRFSecret(w, r)
	s.renderPage(w, r, status, "verify.html", map[string]any{
		"Title": "Confirm your email address", "CSRFToken": session.CSRFToken(secret), "Error": errMsg,
	})
}

// handleVerifySubmit confirms the email address with the secret the
// browser keeps, after the form's CSRF and Origin checks, through the
// same service as POST /v1/verification/email/confirm.
func (s *Server) handleVerifySubmit(w http.ResponseWriter, r *http.Request) {
	form, err := s.readForm(w, r)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Confirmation failed", "The form could not be read. Go back and try again.", true)
		return
	}
	if !s.pageFormOK(r, form) {
		s.renderVerify(w, r, http.StatusForbidden, "This form expired. Please press the button again.")
		return
	}
	tok, ok := s.linkToken(r, verifyPage)
	if !ok {
		s.renderLinkMissing(w, r, verifyPage)
		return
	}
	u, err := s.deps.Accounts.ConfirmEmailVerification(r.Context(), tok)
	if err != nil {
		s.linkPageError(w, r, verifyPage, err, func(msg string) { s.renderVerify(w, r, http.StatusTooManyRequests, msg) })
		return
	}
	s.dropLinkToken(w, verifyPage)
	s.log.InfoContext(r.Context(), "email verified", "user_id", u.ID, "via", "page")
	s.renderMessage(w, r, http.StatusOK, "Email address confirmed", "Thank you: "+u.Email+" is confirmed as the email address of your account.", false)
}

// renderLinkMissing answers a page whose browser keeps no secret for it:
// the link was never opened in this browser, or it was opened too long
// ago. The mailed link still works.
func (s *Server) renderLinkMissing(w http.ResponseWriter, r *http.Request, p linkPage) {
	s.renderMessage(w, r, http.StatusBadRequest, "Open the link from your mail",
		"This page needs the link from your mail. Open that link again, in this browser.", true)
}

// renderLinkDead answers a secret that is malformed, used, expired or
// superseded by a newer mail (the contract's invalid_token), and makes
// the browser forget it.
func (s *Server) renderLinkDead(w http.ResponseWriter, r *http.Request, p linkPage) {
	s.dropLinkToken(w, p)
	if p == recoverPage {
		s.renderNotice(w, r, http.StatusBadRequest, "This link no longer works",
			"It was used already, it is too old, or a newer mail was sent since. Ask for a new link; only the newest one works.", true,
			recoverPage.path, "Ask for a new link")
		return
	}
	s.renderMessage(w, r, http.StatusBadRequest, "This link no longer works",
		"It was used already, it is too old, or a newer mail was sent since: only the newest link works. If you confirmed your address already, there is nothing more to do.", true)
}

// renderMailOff answers a page of a server that sends no mail
// (accounts.ErrMailOff).
func (s *Server) renderMailOff(w http.ResponseWriter, r *http.Request) {
	s.renderMessage(w, r, http.StatusNotFound, "Not available", "This server sends no mail, so it cannot do this. Ask its administrator.", true)
}

// linkPageError answers a service error of a link page's POST: a dead
// secret, a limit (retry shows the page again with msg), or a failure.
func (s *Server) linkPageError(w http.ResponseWriter, r *http.Request, p linkPage, err error, retry func(msg string)) {
	ae := s.asAPIErrorQuiet(err)
	switch {
	case ae.Code == codeInvalidToken:
		s.renderLinkDead(w, r, p)
	case ae.Code == codeRateLimited:
		setRetryAfter(w, ae.RetryAfter)
		retry("Too many attempts. Wait a while and try again.")
	case ae.Code == codeNotFound:
		s.renderMailOff(w, r)
	default:
		s.log.ErrorContext(r.Context(), "link page", "page", p.path, "err", err)
		s.renderMessage(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again later.", true)
	}
}
