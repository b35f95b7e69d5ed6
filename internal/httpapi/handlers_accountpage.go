package httpapi

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// The account center (issue #17): GET /account shows a signed-in user
// their account, and its forms post to /account/... . Every POST needs
// the browser's session cookie, then passes the pages' CSRF and Origin
// check (pageFormOK), then calls the same service operation as the JSON
// API, and answers 303 to /account?done=<what> (a fixed message chosen
// by that code, never text from the URL). A refused or failed form
// shows the page again with the error (4xx). Without a session every
// route redirects to /login?return_to=/account. See docs/account.md.

// accountPath is the account center's page.
const accountPath = "/account"

// accountLoginURL is where a browser without a session goes.
const accountLoginURL = "/login?return_to=%2Faccount"

// reauthURL is where a form that needs a recent login sends the browser:
// the step-up page, which comes back here.
const reauthURL = "/reauth?return_to=%2Faccount"

// accountTOTPURL is the page that sets up an authenticator app and
// comes back here.
const accountTOTPURL = "/mfa/totp?return_to=%2Faccount"

// accountDone are the messages shown after a successful form, by the
// code of /account?done=.
var accountDone = map[string]string{
	"verification_sent": "We sent a new verification link to your email address.",
	"email_changed":     "Your email address is changed. Open the link we sent to the new address to confirm it.",
	"password_changed":  "Your password is changed. Every other session and app sign-in has ended.",
	"session_revoked":   "That session is signed out.",
	"others_revoked":    "Every other session and app sign-in is signed out. This device stays signed in.",
	"consent_revoked":   "The app's access is withdrawn and its sign-ins have ended.",
	"totp_removed":      "The authenticator app is removed: signing in needs only your password now.",
}

// accountRoutes mounts the account center.
func (s *Server) accountRoutes() {
	m := s.mux
	m.HandleFunc("GET "+accountPath, s.handleAccountPage)
	m.HandleFunc("POST /account/verification", s.accountAction(s.accountResendVerification))
	m.HandleFunc("POST /account/email", s.accountAction(s.accountChangeEmail))
	m.HandleFunc("POST /account/password", s.accountAction(s.accountChangePassword))
	m.HandleFunc("POST /account/sessions/{id}/revoke", s.accountAction(s.accountRevokeSession))
	m.HandleFunc("POST /account/sessions/revoke-others", s.accountAction(s.accountRevokeOthers))
	m.HandleFunc("POST /account/consents/{client_id}/revoke", s.accountAction(s.accountRevokeConsent))
	m.HandleFunc("POST /account/totp/remove", s.accountAction(s.accountRemoveTOTP))
	m.HandleFunc("POST /account/delete", s.accountAction(s.accountDelete))
}

// accountRequest is a request of a signed-in browser to the account
// center: its session, the session's cookie secret and its user.
type accountRequest struct {
	sess   store.Session
	secret string
	user   store.User
}

// accountAuth finds the browser's session and user. Without one (no
// cookie, an ended session, a disabled or deleted account) it redirects
// to the login page and reports false; a session that may only enrol a
// second factor (the account must use one) goes to the enrolment page
// first.
func (s *Server) accountAuth(w http.ResponseWriter, r *http.Request) (accountRequest, bool) {
	sess, secret, ok := s.browserSession(r)
	if !ok {
		if _, sent := s.cookieSecret(r); sent {
			s.clearCookie(w)
		}
		http.Redirect(w, r, accountLoginURL, http.StatusSeeOther)
		return accountRequest{}, false
	}
	u, err := s.deps.Users.CachedUser(r.Context(), sess.UserID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		http.Redirect(w, r, accountLoginURL, http.StatusSeeOther)
		return accountRequest{}, false
	}
	if err != nil {
		s.accountFailed(w, r, err)
		return accountRequest{}, false
	}
	if sess.EnrolmentOnly {
		http.Redirect(w, r, accountTOTPURL, http.StatusSeeOther)
		return accountRequest{}, false
	}
	return accountRequest{sess: sess, secret: secret, user: u}, true
}

// accountFailed answers a server failure.
func (s *Server) accountFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "account page", "route", r.Pattern, "err", err)
	s.renderMessage(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again later.", true)
}

// handleAccountPage serves GET /account.
func (s *Server) handleAccountPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.accountAuth(w, r)
	if !ok {
		return
	}
	s.renderAccount(w, r, a, http.StatusOK, accountDone[r.URL.Query().Get("done")], accountFormError{})
}

// accountFormError is a refused form, shown at the top of the page;
// Form names the form whose section it concerns, which is shown open.
type accountFormError struct {
	Msg  string
	Form string
	// Email is the address typed in the email form, kept on a refusal.
	Email string
}

// pageTime is a time as the page shows it, with its machine-readable
// form for the <time> element.
type pageTime struct{ ISO, Text string }

func newPageTime(t time.Time) pageTime {
	t = t.UTC()
	return pageTime{ISO: t.Format(time.RFC3339), Text: t.Format("2 Jan 2006, 15:04 UTC")}
}

// accountSessionView is a session or grant as the page lists it.
type accountSessionView struct {
	ID       string
	Device   string
	Kind     string
	IP       string
	Created  pageTime
	LastUsed pageTime
	Current  bool
}

// accountConsentView is a connected app.
type accountConsentView struct {
	ClientID string
	Name     string
	Scopes   []string
	Since    pageTime
}

// renderAccount writes the account page with the user's current state.
func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, a accountRequest, status int, done string, fe accountFormError) {
	ctx := r.Context()
	list, err := s.deps.Sessions.List(ctx, a.user.ID)
	if err != nil {
		s.accountFailed(w, r, err)
		return
	}
	consents, err := s.deps.Authorize.Consents(ctx, a.user.ID)
	if err != nil {
		s.accountFailed(w, r, err)
		return
	}
	factors, err := s.deps.Accounts.SecondFactors(ctx, a.user.ID)
	if err != nil {
		s.accountFailed(w, r, err)
		return
	}
	names := map[string]string{}
	clientName := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		n := id
		if cl, err := s.deps.Authorize.Clients().Get(ctx, id); err == nil && cl.Name != "" {
			n = cl.Name
		}
		names[id] = n
		return n
	}
	slices.SortStableFunc(list, func(x, y store.Session) int {
		if c := cmpBool(x.ID == a.sess.ID, y.ID == a.sess.ID); c != 0 {
			return c
		}
		return y.LastSeenAt.Compare(x.LastSeenAt)
	})
	views := make([]accountSessionView, 0, len(list))
	others := 0
	for _, sess := range list {
		v := accountSessionView{
			ID: sess.ID, Device: deviceSummary(sess.UserAgent), IP: cmp.Or(sess.IP, "unknown"),
			Created: newPageTime(sess.CreatedAt), LastUsed: newPageTime(sess.LastSeenAt), Current: sess.ID == a.sess.ID,
		}
		switch {
		case sess.Kind == store.KindCookie:
			v.Kind = "Browser session"
		case sess.ClientID != "":
			v.Kind = "Access for " + clientName(sess.ClientID)
		default:
			v.Kind = "App sign-in (tokens)"
		}
		if !v.Current {
			others++
		}
		views = append(views, v)
	}
	passkeys, passkeysOn, err := s.accountPasskeys(ctx, a.user.ID)
	if err != nil {
		s.accountFailed(w, r, err)
		return
	}
	events, eventsOn, err := s.accountEvents(ctx, a.user.ID, clientName)
	if err != nil {
		s.accountFailed(w, r, err)
		return
	}
	apps := make([]accountConsentView, 0, len(consents))
	for _, c := range consents {
		apps = append(apps, accountConsentView{ClientID: c.ClientID, Name: clientName(c.ClientID), Scopes: c.Scopes, Since: newPageTime(c.CreatedAt)})
	}
	s.renderPage(w, r, status, "account.html", map[string]any{
		"Title": "Your account", "Wide": true,
		"CSRFToken": session.CSRFToken(s.loginCSRFSecret(w, r)),
		"User":      a.user, "Sessions": views, "Others": others, "Apps": apps, "Factors": factors,
		"Events": events, "EventsOn": eventsOn, "Passkeys": passkeys, "PasskeysOn": passkeysOn, "PasskeysURL": passkeysPagePath,
		"Done": done, "Err": fe, "MinLen": identity.MinPasswordLen, "TOTPURL": accountTOTPURL,
	})
}

// accountPasskeyView is a passkey as the account page lists it.
type accountPasskeyView struct {
	Name     string
	Created  pageTime
	LastUsed *pageTime
}

// accountPasskeys returns the user's passkeys; ok is false when the
// server has none (its issuer is not a domain name).
func (s *Server) accountPasskeys(ctx context.Context, userID string) (views []accountPasskeyView, ok bool, err error) {
	list, err := s.deps.Accounts.ListPasskeys(ctx, userID)
	if errors.Is(err, accounts.ErrPasskeysOff) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	for _, c := range list {
		v := accountPasskeyView{Name: c.Name, Created: newPageTime(c.CreatedAt)}
		if !c.LastUsedAt.IsZero() {
			t := newPageTime(c.LastUsedAt)
			v.LastUsed = &t
		}
		views = append(views, v)
	}
	return views, true, nil
}

// cmpBool orders true before false.
func cmpBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case x:
		return -1
	}
	return 1
}

// accountAction wraps the handler of an account form: the session, the
// form, its CSRF token and Origin, then act, which returns the done code
// to redirect with ("" when it answered itself) or an error to show.
func (s *Server) accountAction(act func(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.accountAuth(w, r)
		if !ok {
			return
		}
		// The services record the user as the actor of what the form
		// changes, as for the API's cookie requests.
		p := authn.Principal{Method: authn.MethodSession, UserID: a.user.ID, SessionID: a.sess.ID, ExpiresAt: nextTimeout(a.sess), CookieSecret: a.secret}
		r = withPrincipal(r, p, audit.Actor{Kind: audit.ActorUser, ID: a.user.ID})
		form, err := s.readForm(w, r)
		if err != nil {
			s.renderAccount(w, r, a, http.StatusBadRequest, "", accountFormError{Msg: "The form could not be read. Please try again."})
			return
		}
		if !s.pageFormOK(r, form) {
			s.renderAccount(w, r, a, http.StatusForbidden, "", accountFormError{Msg: "This form expired. Please try again."})
			return
		}
		done, err := act(w, r, a, form)
		if err != nil {
			s.accountError(w, r, a, form, err)
			return
		}
		if done != "" {
			http.Redirect(w, r, accountPath+"?done="+done, http.StatusSeeOther)
		}
	}
}

// accountPageError is a refusal an account action words itself.
type accountPageError struct {
	status int
	msg    string
}

func (e *accountPageError) Error() string { return "account page: " + e.msg }

// accountError shows the page again with the error of an action (or
// sends the browser to sign in again when the action needs a recent
// login).
func (s *Server) accountError(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values, err error) {
	fe := accountFormError{Form: strings.TrimPrefix(r.Pattern, "POST /account/")}
	if fe.Form == "email" && len(form.Get("email")) <= 320 {
		fe.Email = form.Get("email")
	}
	var pe *accountPageError
	if errors.As(err, &pe) {
		fe.Msg = pe.msg
		s.renderAccount(w, r, a, pe.status, "", fe)
		return
	}
	ae := s.asAPIErrorQuiet(err)
	switch ae.Code {
	case codeReauthenticationRequired:
		http.Redirect(w, r, reauthURL, http.StatusSeeOther)
		return
	case codeInvalidCredentials:
		fe.Msg = "Your current password is not right."
	case codeRateLimited:
		setRetryAfter(w, ae.RetryAfter)
		fe.Msg = "Too many attempts. Wait a while and try again."
	case codeConflict:
		fe.Msg = "Another account uses that address. Choose another one."
	case codeInvalidRequest:
		fe.Msg = pageSentence(ae.Description)
	case codeUnavailable:
		setRetryAfter(w, ae.RetryAfter)
		fe.Msg = "The server is busy. Please try again in a moment."
	default:
		s.accountFailed(w, r, err)
		return
	}
	s.renderAccount(w, r, a, ae.Status, "", fe)
}

// pageSentence makes a service's public error description a sentence.
func pageSentence(d string) string {
	if d == "" {
		return "The form is not valid."
	}
	return strings.ToUpper(d[:1]) + d[1:] + "."
}

// accountResendVerification mails a new verification link, as POST
// /v1/verification/email.
func (s *Server) accountResendVerification(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values) (string, error) {
	if a.user.EmailVerified {
		return "", &accountPageError{http.StatusConflict, "Your email address is confirmed already."}
	}
	err := s.deps.Accounts.RequestEmailVerification(r.Context(), a.user.ID, s.clientIP(r))
	if errors.Is(err, accounts.ErrMailOff) {
		return "", &accountPageError{http.StatusNotFound, "This server sends no mail, so it cannot send a link. Ask its administrator."}
	}
	return "verification_sent", err
}

// accountChangeEmail changes the address, as PATCH /v1/me {"email"}.
func (s *Server) accountChangeEmail(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values) (string, error) {
	email := strings.TrimSpace(form.Get("email"))
	if email == "" {
		return "", &accountPageError{http.StatusBadRequest, "Enter the new email address."}
	}
	u, err := s.deps.Accounts.ChangeEmail(r.Context(), a.user.ID, a.sess.ID, email, s.clientIP(r))
	switch {
	case errors.Is(err, accounts.ErrMailOff):
		return "", &accountPageError{http.StatusNotFound, "This server sends no mail, so it cannot confirm a new address. Ask its administrator."}
	case errors.Is(err, identity.ErrInvalidEmail):
		return "", &accountPageError{http.StatusBadRequest, "That is not an email address we can use."}
	case err != nil:
		return "", err
	}
	s.log.InfoContext(r.Context(), "email changed", "user_id", u.ID, "via", "account page")
	return "email_changed", nil
}

// accountChangePassword changes the password, as PATCH /v1/me
// {"password","current_password"}: the other sessions and grants end,
// this one stays.
func (s *Server) accountChangePassword(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values) (string, error) {
	current, pw := form.Get("current_password"), form.Get("password")
	if current == "" || pw == "" {
		return "", &accountPageError{http.StatusBadRequest, "Enter your current password and a new one."}
	}
	if pw != form.Get("password_again") {
		return "", &accountPageError{http.StatusBadRequest, "The two new passwords differ. Type the same one twice."}
	}
	_, err := s.deps.Accounts.ChangePassword(r.Context(), a.user.ID, a.sess.ID, current, pw, s.clientIP(r))
	if errors.Is(err, identity.ErrInvalidPassword) {
		return "", &accountPageError{http.StatusBadRequest, "Choose another password: " + strings.TrimPrefix(err.Error(), "identity: ") + "."}
	}
	if err != nil {
		return "", err
	}
	s.log.InfoContext(r.Context(), "password changed; other sessions revoked", "user_id", a.user.ID, "session_id", a.sess.ID, "via", "account page")
	return "password_changed", nil
}

// accountRevokeSession ends one of the user's sessions or grants, as
// DELETE /v1/sessions/{id}. Another user's id, or one that has ended,
// changes nothing and gets the same answer. Ending this browser's own
// session signs it out.
func (s *Server) accountRevokeSession(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values) (string, error) {
	id := r.PathValue("id")
	reason := audit.EndRevoked
	if id == a.sess.ID {
		reason = audit.EndLogout
	}
	err := s.deps.Sessions.Revoke(r.Context(), a.user.ID, id, reason)
	if errors.Is(err, session.ErrInvalid) {
		return "", &accountPageError{http.StatusNotFound, "That session has ended already."}
	}
	if err != nil {
		return "", err
	}
	if id == a.sess.ID {
		s.clearCookie(w)
		s.renderNotice(w, r, http.StatusOK, "Signed out", "This device is signed out.", false, accountLoginURL, "Sign in again")
		return "", nil
	}
	return "session_revoked", nil
}

// accountRevokeOthers ends every session and grant of the user but this
// browser's, as DELETE /v1/sessions.
func (s *Server) accountRevokeOthers(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values) (string, error) {
	if _, err := s.deps.Sessions.RevokeUser(r.Context(), a.user.ID, a.sess.ID, audit.EndRevoked); err != nil {
		return "", err
	}
	return "others_revoked", nil
}

// accountRevokeConsent withdraws the user's consent to an app and ends
// its grants, as DELETE /v1/consents/{client_id}.
func (s *Server) accountRevokeConsent(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values) (string, error) {
	err := s.deps.Authorize.RevokeConsent(r.Context(), a.user.ID, r.PathValue("client_id"))
	if errors.Is(err, store.ErrNotFound) {
		return "", &accountPageError{http.StatusNotFound, "That app has no access already."}
	}
	if err != nil {
		return "", err
	}
	return "consent_revoked", nil
}

// accountRemoveTOTP removes the authenticator app given one of its codes
// or a recovery code, as DELETE /v1/mfa/totp (a step-up action).
func (s *Server) accountRemoveTOTP(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values) (string, error) {
	code := strings.TrimSpace(form.Get("code"))
	if code == "" {
		return "", &accountPageError{http.StatusBadRequest, "Enter a code from your authenticator app, or a recovery code."}
	}
	err := s.deps.Accounts.RemoveTOTP(r.Context(), a.user.ID, a.sess.ID, code, s.clientIP(r))
	switch {
	case errors.Is(err, accounts.ErrInvalidCode):
		return "", &accountPageError{http.StatusBadRequest, "That code is not right. Check the app and try again."}
	case errors.Is(err, store.ErrNotFound):
		return "", &accountPageError{http.StatusNotFound, "Your account has no authenticator app."}
	case err != nil:
		return "", err
	}
	s.log.InfoContext(r.Context(), "totp removed", "user_id", a.user.ID, "via", "account page")
	return "totp_removed", nil
}

// accountDelete deletes the account, as DELETE /v1/me, once the form's
// confirmation box is ticked; it is a step-up action. The browser is
// then signed out.
func (s *Server) accountDelete(w http.ResponseWriter, r *http.Request, a accountRequest, form url.Values) (string, error) {
	if form.Get("confirm") != "yes" {
		return "", &accountPageError{http.StatusBadRequest, "Tick the box to confirm that you want to delete your account."}
	}
	if err := s.deps.Accounts.DeleteOwnAccount(r.Context(), a.user.ID, a.sess.ID); err != nil {
		return "", err
	}
	s.clearCookie(w)
	s.log.InfoContext(r.Context(), "account deleted by its user", "user_id", a.user.ID, "via", "account page")
	s.renderMessage(w, r, http.StatusOK, "Account deleted", "Your account and everything it held are deleted, and every session and app sign-in has ended.", false)
	return "", nil
}
