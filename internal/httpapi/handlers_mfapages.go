package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	template "github.com/DataDog/datadog-agent/pkg/template/html"
	"github.com/boombuler/barcode/qr"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// mfaPageRoutes mounts the pages of second factors (issue #14): the
// second step of /login, re-authentication (step-up) and TOTP enrolment.
// They are server rendered and need no JavaScript.
func (s *Server) mfaPageRoutes() {
	m := s.mux
	m.HandleFunc("POST /login/mfa", s.handleLoginMFASubmit)
	m.HandleFunc("GET /reauth", s.handleReauthPage)
	m.HandleFunc("POST /reauth", s.handleReauthSubmit)
	m.HandleFunc("GET /mfa/totp", s.handleTOTPPage)
	m.HandleFunc("POST /mfa/totp", s.handleTOTPSubmit)
}

// renderLoginMFA renders the second step of the login form: the
// mfa_token of the first step travels in the form, never in a URL.
// factors are the account's (MFARequiredError.Factors); none known (a
// form shown again after a wrong code) is the code form. A passkey factor
// adds the "Use your passkey" button (passkey.js).
func (s *Server) renderLoginMFA(w http.ResponseWriter, r *http.Request, status int, returnTo, mfaToken, errMsg string, factors ...string) {
	secret := s.loginCSRFSecret(w, r)
	passkey := slices.Contains(factors, accounts.FactorPasskey) && s.deps.Accounts.PasskeysEnabled()
	s.renderPage(w, r, status, "login_mfa.html", map[string]any{
		"Title": "Two-step verification", "CSRFToken": session.CSRFToken(secret), "ReturnTo": returnTo,
		"MFAToken": mfaToken, "Error": errMsg,
		"Code": len(factors) == 0 || slices.Contains(factors, accounts.FactorTOTP), "Passkey": passkey, "Script": passkey,
	})
}

// handleLoginMFASubmit is the second step of the login form: the code,
// through the same accounts method as POST /v1/login/mfa.
func (s *Server) handleLoginMFASubmit(w http.ResponseWriter, r *http.Request) {
	form, err := s.readForm(w, r)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "The form could not be read. Go back and try again.", true)
		return
	}
	returnTo := safeReturnTo(form.Get("return_to"))
	tok := form.Get("mfa_token")
	if !s.pageFormOK(r, form) {
		s.renderLogin(w, r, http.StatusForbidden, returnTo, "", "Your sign-in form expired. Please sign in again.")
		return
	}
	if form.Get("code") == "" {
		s.renderLoginMFA(w, r, http.StatusBadRequest, returnTo, tok, "Enter a code.")
		return
	}
	secret, _ := s.cookieSecret(r)
	res, err := s.deps.Accounts.LoginMFA(r.Context(), accounts.MFALoginRequest{
		Token: tok, Code: form.Get("code"), CookieSecret: secret,
		Client: session.ClientInfo{UserAgent: r.UserAgent(), IP: s.clientIP(r)},
	})
	s.countLogin("page", err)
	if err != nil {
		switch ae := s.asAPIErrorQuiet(err); ae.Code {
		case codeInvalidCredentials, codeInvalidRequest:
			// A wrong code keeps the token; an expired one says so next time.
			s.renderLoginMFA(w, r, http.StatusUnauthorized, returnTo, tok, "That code is not right, or this sign-in expired. Try again, or sign in again.")
		case codeRateLimited:
			setRetryAfter(w, ae.RetryAfter)
			s.renderLoginMFA(w, r, http.StatusTooManyRequests, returnTo, tok, "Too many attempts. Wait a while and try again.")
		default:
			s.log.ErrorContext(r.Context(), "login page, second step", "err", err)
			s.renderMessage(w, r, http.StatusInternalServerError, "Sign-in failed", "Something went wrong. Please try again later.", true)
		}
		return
	}
	s.finishPageLogin(w, r, res, returnTo)
}

// finishPageLogin sets the cookie of a completed page login and goes on:
// to return_to, or to TOTP enrolment first for a session that may only
// enrol.
func (s *Server) finishPageLogin(w http.ResponseWriter, r *http.Request, res accounts.LoginResult, returnTo string) {
	created := res.Session
	s.setSessionCookie(w, created.Secret, created.Session.ExpiresAt)
	s.log.InfoContext(r.Context(), "login", "user_id", res.User.ID, "mode", "page", "session_id", created.Session.ID, "enrolment_only", res.EnrolmentOnly)
	if res.EnrolmentOnly {
		http.Redirect(w, r, "/mfa/totp?"+url.Values{"return_to": {returnTo}}.Encode(), http.StatusSeeOther)
		return
	}
	if returnTo == "" {
		s.renderMessage(w, r, http.StatusOK, "Signed in", "You are signed in.", false)
		return
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// pageSession returns the browser session of a page that needs one, or
// sends the browser to /login, coming back to this page, and returns
// ok false.
func (s *Server) pageSession(w http.ResponseWriter, r *http.Request) (sess store.Session, secret string, ok bool) {
	sess, secret, ok = s.browserSession(r)
	if !ok {
		http.Redirect(w, r, "/login?"+url.Values{"return_to": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
	}
	return sess, secret, ok
}

// sessionFormOK checks a form posted by a signed-in page: the session's
// CSRF token and a trusted origin.
func (s *Server) sessionFormOK(r *http.Request, form url.Values, secret string) bool {
	return s.originOK(r) && session.ValidCSRFToken(secret, form.Get("csrf_token"))
}

// handleReauthPage asks the signed-in user to prove it is them again (a
// step-up): "Use your passkey" (passkey.js, POST /v1/reauth/passkey/begin
// and finish) when the account has a passkey, a code when it has TOTP,
// the password when it has no TOTP. It then returns to return_to.
func (s *Server) handleReauthPage(w http.ResponseWriter, r *http.Request) {
	sess, secret, ok := s.pageSession(w, r)
	if !ok {
		return
	}
	s.renderReauth(w, r, http.StatusOK, sess, secret, safeReturnTo(r.URL.Query().Get("return_to")), "")
}

func (s *Server) renderReauth(w http.ResponseWriter, r *http.Request, status int, sess store.Session, secret, returnTo, errMsg string) {
	u, err := s.deps.Users.GetUser(r.Context(), sess.UserID)
	if err != nil {
		s.pageFailure(w, r, err)
		return
	}
	factors, err := s.deps.Accounts.FactorKinds(r.Context(), sess.UserID)
	if err != nil {
		s.pageFailure(w, r, err)
		return
	}
	passkey := slices.Contains(factors, accounts.FactorPasskey)
	s.renderPage(w, r, status, "reauth.html", map[string]any{
		"Title": "Confirm it is you", "CSRFToken": session.CSRFToken(secret), "ReturnTo": returnTo,
		"Email": u.Email, "Code": slices.Contains(factors, accounts.FactorTOTP), "Passkey": passkey, "Script": passkey,
		"Error": errMsg,
	})
}

// sessionForm reads a form posted by a signed-in page, with its session
// (or sends the browser to /login) and its return_to; ok is false when
// the answer was written. The caller checks the form with sessionFormOK.
func (s *Server) sessionForm(w http.ResponseWriter, r *http.Request) (form url.Values, sess store.Session, secret, returnTo string, ok bool) {
	form, err := s.readForm(w, r)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Invalid request", "The form could not be read. Go back and try again.", true)
		return nil, store.Session{}, "", "", false
	}
	sess, secret, ok = s.pageSession(w, r)
	return form, sess, secret, safeReturnTo(form.Get("return_to")), ok
}

func (s *Server) handleReauthSubmit(w http.ResponseWriter, r *http.Request) {
	form, sess, secret, returnTo, ok := s.sessionForm(w, r)
	if !ok {
		return
	}
	if !s.sessionFormOK(r, form, secret) {
		s.renderReauth(w, r, http.StatusForbidden, sess, secret, returnTo, "This form expired. Please try again.")
		return
	}
	_, err := s.deps.Accounts.Reauthenticate(r.Context(), accounts.ReauthRequest{
		UserID: sess.UserID, SessionID: sess.ID, Password: form.Get("password"), Code: form.Get("code"), ClientAddr: s.clientIP(r),
	})
	if err != nil {
		switch ae := s.asAPIErrorQuiet(err); ae.Code {
		case codeInvalidCredentials, codeInvalidRequest:
			s.renderReauth(w, r, http.StatusUnauthorized, sess, secret, returnTo, "That is not right. Try again.")
		case codeRateLimited:
			setRetryAfter(w, ae.RetryAfter)
			s.renderReauth(w, r, http.StatusTooManyRequests, sess, secret, returnTo, "Too many attempts. Wait a while and try again.")
		default:
			s.pageFailure(w, r, err)
		}
		return
	}
	if returnTo == "" {
		s.renderMessage(w, r, http.StatusOK, "Confirmed", "Thank you: you can go on.", false)
		return
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// handleTOTPPage starts a TOTP enrolment for the signed-in user (an
// enrolment-only session included) and shows its QR code, key and the
// form that confirms it. Starting again only replaces a pending
// enrolment, so a GET changes nothing that matters.
func (s *Server) handleTOTPPage(w http.ResponseWriter, r *http.Request) {
	sess, secret, ok := s.pageSession(w, r)
	if !ok {
		return
	}
	returnTo := safeReturnTo(r.URL.Query().Get("return_to"))
	e, err := s.deps.Accounts.BeginTOTP(r.Context(), sess.UserID)
	if errors.Is(err, store.ErrConflict) {
		s.renderNotice(w, r, http.StatusOK, "Already set up", "Your account already uses an authenticator app.", false, cmpOr(returnTo, "/"), "Continue")
		return
	}
	if err != nil {
		s.pageFailure(w, r, err)
		return
	}
	s.renderTOTP(w, r, http.StatusOK, sess, secret, returnTo, e.SecretBase32, e.URI, "")
}

func (s *Server) renderTOTP(w http.ResponseWriter, r *http.Request, status int, sess store.Session, secret, returnTo, key, uri, errMsg string) {
	svg, err := qrSVG(uri)
	if err != nil {
		s.pageFailure(w, r, err)
		return
	}
	s.renderPage(w, r, status, "totp.html", map[string]any{
		"Title": "Set up an authenticator app", "CSRFToken": session.CSRFToken(secret), "ReturnTo": returnTo,
		"Secret": key, "URI": uri, "QR": svg, "Required": sess.EnrolmentOnly, "Error": errMsg,
		"Passkeys": s.deps.Accounts.PasskeysEnabled(),
	})
}

// handleTOTPSubmit confirms the enrolment with the app's first code and
// shows the recovery codes once. Adding a factor is a step-up action: an
// old session goes through /reauth first and comes back.
func (s *Server) handleTOTPSubmit(w http.ResponseWriter, r *http.Request) {
	form, sess, secret, returnTo, ok := s.sessionForm(w, r)
	if !ok {
		return
	}
	// The key and URI only redraw the page: confirmation checks the
	// server's pending secret.
	key, uri := form.Get("secret"), form.Get("otpauth_uri")
	if !strings.HasPrefix(uri, "otpauth://totp/") || len(uri) > 1024 || len(key) > 128 {
		key, uri = "", "otpauth://totp/"
	}
	if !s.sessionFormOK(r, form, secret) {
		s.renderTOTP(w, r, http.StatusForbidden, sess, secret, returnTo, key, uri, "This form expired. Please try again.")
		return
	}
	codes, err := s.deps.Accounts.ConfirmTOTP(r.Context(), sess.UserID, sess.ID, form.Get("code"))
	switch ae := s.asAPIErrorQuiet(err); {
	case err == nil:
		s.log.InfoContext(r.Context(), "totp enabled", "user_id", sess.UserID, "via", "page")
		s.renderPage(w, r, http.StatusOK, "recovery.html", map[string]any{
			"Title": "Save your recovery codes", "Codes": codes, "Next": cmpOr(returnTo, "/"),
		})
	case ae.Code == codeReauthenticationRequired:
		back := "/mfa/totp?" + url.Values{"return_to": {returnTo}}.Encode()
		http.Redirect(w, r, "/reauth?"+url.Values{"return_to": {back}}.Encode(), http.StatusSeeOther)
	case ae.Code == codeInvalidRequest:
		s.renderTOTP(w, r, http.StatusBadRequest, sess, secret, returnTo, key, uri, "That code is not right. Check the app and try again.")
	case ae.Code == codeNotFound, ae.Code == codeConflict:
		s.renderNotice(w, r, http.StatusConflict, "Start again", "This set-up is no longer pending.", true, "/mfa/totp?"+url.Values{"return_to": {returnTo}}.Encode(), "Start again")
	default:
		s.pageFailure(w, r, err)
	}
}

// pageFailure answers a page whose request failed on the server.
func (s *Server) pageFailure(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
	s.renderMessage(w, r, http.StatusInternalServerError, "Something went wrong", "The request could not be completed. Please try again later.", true)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// qrSVG draws text as a QR code (error correction M) in inline SVG, one
// path of dark modules with a four-module quiet zone. Inline SVG needs no
// image source, so the pages' CSP (no data: images) stays as it is.
func qrSVG(text string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("httpapi: QR code: %w", err)
	}
	n := code.Bounds().Dx()
	const quiet = 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="200" height="200" role="img" aria-label="QR code of the authenticator key" shape-rendering="crispEdges"><rect width="100%%" height="100%%" fill="#fff"/><path fill="#000" d="`, n+2*quiet, n+2*quiet)
	for y := range n {
		for x := range n {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	// Only numbers and fixed markup: nothing of text reaches the HTML.
	return template.HTML(b.String()), nil //nolint:gosec // built from integers only
}
