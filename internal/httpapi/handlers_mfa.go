package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// codeMFARequired answers a correct password for an account with a second
// factor (401, with the mfa_token that POST /v1/login/mfa takes).
const codeMFARequired = "mfa_required"

// codeReauthenticationRequired answers a step-up action from a login
// older than --reauth-window (403).
const codeReauthenticationRequired = "reauthentication_required"

// mfaRoutes mounts the second-factor endpoints (issue #14; contract
// section "Second factors and passkeys").
func (s *Server) mfaRoutes() {
	s.mux.Handle("POST /v1/mfa/totp", s.enrolling(s.handleBeginTOTP))
	s.mux.Handle("POST /v1/mfa/totp/confirm", s.enrolling(s.handleConfirmTOTP))
	s.mux.Handle("DELETE /v1/mfa/totp", s.user(s.handleRemoveTOTP))
	s.mux.HandleFunc("POST /v1/login/mfa", s.handleLoginMFA)
	s.mux.Handle("POST /v1/reauth", s.user(s.handleReauth))
	s.mux.Handle("DELETE /v1/me", s.user(s.handleDeleteMe))
}

// authJSON is how and when the caller authenticated, as GET /v1/me's
// auth shows it.
type authJSON struct {
	ACR      string     `json:"acr"`
	AMR      []string   `json:"amr"`
	AuthTime *time.Time `json:"auth_time"`
}

// handleReauth re-authenticates the caller's own session or grant with
// the password or a second-factor code (step-up): its auth time moves to
// now and the method joins its amr. It answers the new authentication.
func (s *Server) handleReauth(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	var req struct {
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rec, err := s.deps.Accounts.Reauthenticate(r.Context(), accounts.ReauthRequest{
		UserID: p.UserID, SessionID: p.SessionID, Password: req.Password, Code: req.Code, ClientAddr: s.clientIP(r),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeReauth(w, r, p, rec)
}

// writeReauth answers a re-authentication with the record's new auth.
func (s *Server) writeReauth(w http.ResponseWriter, r *http.Request, p authn.Principal, rec store.Session) {
	a := session.AuthOf(rec)
	s.log.InfoContext(r.Context(), "reauthenticated", "user_id", p.UserID, "session_id", p.SessionID, "amr", a.AMR())
	writeJSON(w, http.StatusOK, authJSON{ACR: a.ACR(), AMR: a.AMR(), AuthTime: authTimeJSON(a)})
}

// handleDeleteMe deletes the caller's account (a step-up action).
func (s *Server) handleDeleteMe(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	if err := s.deps.Accounts.DeleteOwnAccount(r.Context(), p.UserID, p.SessionID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Method == authn.MethodSession {
		s.clearCookie(w)
	}
	s.log.InfoContext(r.Context(), "account deleted by its user", "user_id", p.UserID)
	w.WriteHeader(http.StatusNoContent)
}

type codeRequest struct {
	Code string `json:"code"`
}

func (s *Server) handleBeginTOTP(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	e, err := s.deps.Accounts.BeginTOTP(r.Context(), p.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": e.SecretBase32, "otpauth_uri": e.URI})
}

func (s *Server) handleConfirmTOTP(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	var req codeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	codes, err := s.deps.Accounts.ConfirmTOTP(r.Context(), p.UserID, p.SessionID, req.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "totp enabled", "user_id", p.UserID)
	writeJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
}

func (s *Server) handleRemoveTOTP(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	var req codeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.deps.Accounts.RemoveTOTP(r.Context(), p.UserID, p.SessionID, req.Code, s.clientIP(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "totp removed", "user_id", p.UserID)
	w.WriteHeader(http.StatusNoContent)
}

type loginMFARequest struct {
	MFAToken string `json:"mfa_token"`
	Code     string `json:"code"`
}

// handleLoginMFA is the second step of a login: it answers as POST
// /v1/login would have, in the mode the first step asked for.
func (s *Server) handleLoginMFA(w http.ResponseWriter, r *http.Request) {
	if !s.originOK(r) {
		s.writeError(w, r, errCSRF)
		return
	}
	var req loginMFARequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, _ := s.cookieSecret(r)
	res, err := s.deps.Accounts.LoginMFA(r.Context(), accounts.MFALoginRequest{
		Token: req.MFAToken, Code: req.Code, CookieSecret: secret,
		Client: session.ClientInfo{UserAgent: r.UserAgent(), IP: s.clientIP(r)},
	})
	var bad *accounts.InvalidRequestError
	if !errors.As(err, &bad) {
		s.countLogin("mfa", err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeLogin(w, r, res)
}

// writeMFARequired answers a login whose password was right for an
// account with a second factor, and reports whether err was that.
func (s *Server) writeMFARequired(w http.ResponseWriter, err error) bool {
	var required *accounts.MFARequiredError
	if !errors.As(err, &required) {
		return false
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{
		"error": codeMFARequired, "error_description": mfaRequiredDescription(required.Factors),
		"mfa_token": required.Token, "factors": required.Factors,
	})
	return true
}

// mfaRequiredDescription names the endpoints that finish a login waiting
// for one of factors.
func mfaRequiredDescription(factors []string) string {
	switch {
	case slices.Equal(factors, []string{accounts.FactorPasskey}):
		return "a second factor is required: POST /v1/login/passkey/begin and finish with the mfa_token"
	case slices.Contains(factors, accounts.FactorPasskey):
		return "a second factor is required: POST /v1/login/mfa with a code, or POST /v1/login/passkey/begin and finish with the mfa_token"
	}
	return "a second factor is required: POST /v1/login/mfa"
}
