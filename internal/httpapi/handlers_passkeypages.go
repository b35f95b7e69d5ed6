package httpapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// passkeysPagePath is the standalone passkey management page; the account
// center links to it.
const passkeysPagePath = "/account/passkeys"

// passkeyPageRoutes mounts the passkey management page.
func (s *Server) passkeyPageRoutes() {
	s.mux.HandleFunc("GET "+passkeysPagePath, s.handlePasskeysPage)
	s.mux.HandleFunc("POST "+passkeysPagePath+"/remove", s.handleRemovePasskeyPage)
}

// passkeyView is a passkey as the page shows it. Its dates are formatted
// here: the page templates read fields and map keys only, never methods
// (see parsePages).
type passkeyView struct {
	ID, Name       string
	BackupEligible bool
	// Added is when the passkey was added; LastUsed when it last signed
	// in, "" if never.
	Added, LastUsed string
}

// handlePasskeysPage lists the signed-in user's passkeys with a remove
// button each, and the form that adds one (passkey.js runs the WebAuthn
// ceremony against the JSON API with the session's CSRF token). Without a
// session it sends the browser to /login and back.
func (s *Server) handlePasskeysPage(w http.ResponseWriter, r *http.Request) {
	s.renderPasskeysPage(w, r, http.StatusOK, "", false)
}

func (s *Server) renderPasskeysPage(w http.ResponseWriter, r *http.Request, status int, notice string, isError bool) {
	// return_to (a local path, as everywhere) is where the page goes once a
	// passkey is added: the enrolment of a session that must set up a
	// second factor comes here from /mfa/totp and goes back to its
	// authorization request.
	returnTo := safeReturnTo(r.URL.Query().Get("return_to"))
	sess, secret, ok := s.browserSession(r)
	if !ok {
		// After a POST too: the page, not the form's target, comes back.
		back := passkeysPagePath
		if returnTo != "" {
			back += "?" + url.Values{"return_to": {returnTo}}.Encode()
		}
		http.Redirect(w, r, "/login?return_to="+url.QueryEscape(back), http.StatusSeeOther)
		return
	}
	if !s.deps.Accounts.PasskeysEnabled() {
		s.renderMessage(w, r, http.StatusNotFound, "Passkeys", "Passkeys are not available on this server: its address must be a domain name.", true)
		return
	}
	u, err := s.deps.Users.GetUser(r.Context(), sess.UserID)
	if err == nil {
		var list []store.PasskeyCredential
		list, err = s.deps.Accounts.ListPasskeys(r.Context(), sess.UserID)
		if err == nil {
			views := make([]passkeyView, len(list))
			for i, c := range list {
				views[i] = passkeyView{ID: base64.RawURLEncoding.EncodeToString(c.ID), Name: c.Name, BackupEligible: c.BackupEligible,
					Added: c.CreatedAt.UTC().Format("2 Jan 2006")}
				if !c.LastUsedAt.IsZero() {
					views[i].LastUsed = c.LastUsedAt.UTC().Format("2 Jan 2006 15:04 MST")
				}
			}
			s.renderPage(w, r, status, "passkeys.html", map[string]any{
				"Title": "Passkeys", "Email": u.Email, "Passkeys": views, "CSRFToken": session.CSRFToken(secret),
				"Notice": notice, "NoticeError": isError, "Script": true, "ReturnTo": returnTo,
			})
			return
		}
	}
	s.log.ErrorContext(r.Context(), "passkeys page", "err", err)
	s.renderMessage(w, r, http.StatusInternalServerError, "Passkeys", "Something went wrong. Please try again later.", true)
}

// handleRemovePasskeyPage removes a passkey from the page's form: the
// session's CSRF token and an Origin of this server, then the same step-up
// rule as DELETE /v1/passkeys/{id}.
func (s *Server) handleRemovePasskeyPage(w http.ResponseWriter, r *http.Request) {
	form, err := s.readForm(w, r)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Passkeys", "The form could not be read. Go back and try again.", true)
		return
	}
	sess, secret, ok := s.browserSession(r)
	if !ok {
		http.Redirect(w, r, "/login?return_to="+url.QueryEscape(passkeysPagePath), http.StatusSeeOther)
		return
	}
	if !s.sessionFormOK(r, form, secret) {
		s.renderPasskeysPage(w, r, http.StatusForbidden, "Your form expired. Please try again.", true)
		return
	}
	id, err := base64.RawURLEncoding.DecodeString(form.Get("id"))
	if err == nil && len(id) > 0 {
		err = s.deps.Accounts.DeletePasskey(r.Context(), sess.UserID, sess.ID, id)
	} else {
		err = store.ErrNotFound
	}
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "passkey removed", "user_id", sess.UserID, "credential_id", form.Get("id"))
		s.renderPasskeysPage(w, r, http.StatusOK, "The passkey was removed.", false)
	case errors.Is(err, accounts.ErrReauthenticationRequired):
		s.renderNotice(w, r, http.StatusForbidden, "Sign in again",
			"For your security, removing a passkey needs a recent sign-in. Confirm it is you, then remove it.", true,
			"/reauth?"+url.Values{"return_to": {passkeysPagePath}}.Encode(), "Sign in again")
	case errors.Is(err, store.ErrNotFound):
		s.renderPasskeysPage(w, r, http.StatusNotFound, "That passkey does not exist (any more).", true)
	default:
		s.log.ErrorContext(r.Context(), "remove passkey page", "err", err)
		s.renderMessage(w, r, http.StatusInternalServerError, "Passkeys", "Something went wrong. Please try again later.", true)
	}
}
