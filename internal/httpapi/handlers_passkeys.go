package httpapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// passkeyRoutes mounts the passkey endpoints (issue #14; contract section
// "Second factors and passkeys"): management for a signed-in user, and
// the passkey login, passwordless or as the second factor of a pending
// login (with its mfa_token).
func (s *Server) passkeyRoutes() {
	// Registering is enrolling a factor: an enrolment-only session (required
	// MFA) may add a passkey instead of TOTP.
	s.mux.Handle("POST /v1/passkeys/register/begin", s.enrolling(s.handleBeginPasskeyRegistration))
	s.mux.Handle("POST /v1/passkeys/register/finish", s.enrolling(s.handleFinishPasskeyRegistration))
	s.mux.Handle("GET /v1/passkeys", s.user(s.handleListPasskeys))
	s.mux.Handle("PATCH /v1/passkeys/{id}", s.user(s.handleRenamePasskey))
	s.mux.Handle("DELETE /v1/passkeys/{id}", s.user(s.handleDeletePasskey))
	s.mux.HandleFunc("POST /v1/login/passkey/begin", s.handleBeginPasskeyLogin)
	s.mux.HandleFunc("POST /v1/login/passkey/finish", s.handleFinishPasskeyLogin)
	s.mux.Handle("POST /v1/reauth/passkey/begin", s.user(s.handleBeginPasskeyReauth))
	s.mux.Handle("POST /v1/reauth/passkey/finish", s.user(s.handleFinishPasskeyReauth))
}

// passkeyJSON is a passkey as the API shows it. id is the credential id,
// base64url without padding (as WebAuthn's JSON forms write it).
type passkeyJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at,omitempty"`
	BackupEligible bool       `json:"backup_eligible"`
	BackedUp       bool       `json:"backed_up"`
	Transports     []string   `json:"transports"`
}

func toPasskeyJSON(c store.PasskeyCredential) passkeyJSON {
	j := passkeyJSON{
		ID: base64.RawURLEncoding.EncodeToString(c.ID), Name: c.Name, CreatedAt: c.CreatedAt.UTC(),
		BackupEligible: c.BackupEligible, BackedUp: c.BackupState, Transports: c.Transports,
	}
	if j.Transports == nil {
		j.Transports = []string{}
	}
	if !c.LastUsedAt.IsZero() {
		t := c.LastUsedAt.UTC()
		j.LastUsedAt = &t
	}
	return j
}

// passkeyID decodes the {id} of a passkey path; a malformed one is
// answered as an unknown passkey.
func passkeyID(r *http.Request) ([]byte, bool) {
	id, err := base64.RawURLEncoding.DecodeString(r.PathValue("id"))
	return id, err == nil && len(id) > 0
}

func (s *Server) handleBeginPasskeyRegistration(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	opts, err := s.deps.Accounts.BeginPasskeyRegistration(r.Context(), p.UserID, p.SessionID)
	s.writeOptions(w, r, opts, err)
}

// writeOptions answers a begun ceremony: 200 with its options, or the
// error's answer.
func (s *Server) writeOptions(w http.ResponseWriter, r *http.Request, opts any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, opts)
}

// handleFinishPasskeyRegistration takes a RegistrationResponseJSON, with
// an optional "name" next to its fields.
func (s *Server) handleFinishPasskeyRegistration(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	var named struct {
		Name string `json:"name"`
	}
	body, err := readJSONObject(w, r, MaxBodyBytes, &named)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.deps.Accounts.FinishPasskeyRegistration(r.Context(), p.UserID, p.SessionID, named.Name, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "passkey registered", "user_id", p.UserID, "credential_id", base64.RawURLEncoding.EncodeToString(c.ID))
	writeJSON(w, http.StatusCreated, toPasskeyJSON(c))
}

func (s *Server) handleListPasskeys(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	list, err := s.deps.Accounts.ListPasskeys(r.Context(), p.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]passkeyJSON{"passkeys": jsonList(list, toPasskeyJSON)})
}

func (s *Server) handleRenamePasskey(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	var req struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Name == nil {
		s.writeError(w, r, errInvalidRequest("name is required"))
		return
	}
	id, ok := passkeyID(r)
	if !ok {
		s.writeError(w, r, errNotFound)
		return
	}
	c, err := s.deps.Accounts.RenamePasskey(r.Context(), p.UserID, id, *req.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPasskeyJSON(c))
}

func (s *Server) handleDeletePasskey(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	id, ok := passkeyID(r)
	if !ok {
		s.writeError(w, r, errNotFound)
		return
	}
	if err := s.deps.Accounts.DeletePasskey(r.Context(), p.UserID, p.SessionID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "passkey removed", "user_id", p.UserID, "credential_id", r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

// handleBeginPasskeyLogin answers the options of a passkey login: with no
// body (or no mfa_token) a passwordless one, with {"mfa_token"} the
// second factor of that pending login.
func (s *Server) handleBeginPasskeyLogin(w http.ResponseWriter, r *http.Request) {
	if !s.originOK(r) {
		s.writeError(w, r, errCSRF)
		return
	}
	var req struct {
		MFAToken string `json:"mfa_token"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	opts, err := s.deps.Accounts.BeginPasskeyLogin(r.Context(), req.MFAToken)
	s.writeOptions(w, r, opts, err)
}

// handleFinishPasskeyLogin takes an AuthenticationResponseJSON with
// "mode" (passwordless) or "mfa_token" (second factor) next to its
// fields, and answers as POST /v1/login.
func (s *Server) handleFinishPasskeyLogin(w http.ResponseWriter, r *http.Request) {
	if !s.originOK(r) {
		s.writeError(w, r, errCSRF)
		return
	}
	var req struct {
		Mode     string `json:"mode"`
		MFAToken string `json:"mfa_token"`
	}
	body, err := readJSONObject(w, r, MaxBodyBytes, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, _ := s.cookieSecret(r)
	res, err := s.deps.Accounts.LoginPasskey(r.Context(), accounts.PasskeyLoginRequest{
		Response: body, MFAToken: req.MFAToken, Mode: accounts.Mode(req.Mode), CookieSecret: secret,
		Client: session.ClientInfo{UserAgent: r.UserAgent(), IP: s.clientIP(r)},
	})
	var bad *accounts.InvalidRequestError
	if !errors.As(err, &bad) {
		s.countLogin("passkey", err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeLogin(w, r, res)
}

// handleBeginPasskeyReauth answers the options of a passkey step-up of the
// caller's own session or grant (no body): the user's passkeys.
func (s *Server) handleBeginPasskeyReauth(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	opts, err := s.deps.Accounts.BeginPasskeyReauth(r.Context(), p.UserID, p.SessionID)
	s.writeOptions(w, r, opts, err)
}

// handleFinishPasskeyReauth takes an AuthenticationResponseJSON and
// answers as POST /v1/reauth: the caller's record now carries the
// passkey's methods and authenticated now.
func (s *Server) handleFinishPasskeyReauth(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	body, err := readJSONObject(w, r, MaxBodyBytes, &struct{}{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rec, err := s.deps.Accounts.ReauthenticatePasskey(r.Context(), p.UserID, p.SessionID, s.clientIP(r), body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeReauth(w, r, p, rec)
}
