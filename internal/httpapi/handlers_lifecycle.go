package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/authn"
)

// The account lifecycle's routes (contract: "Account lifecycle: email
// verification and recovery"). Each handler decodes, calls one method of
// accounts.Service and encodes; the rules (limits, equal answers for
// unknown addresses, revocation) live there.
func (s *Server) lifecycleRoutes() {
	m := s.mux
	m.Handle("POST /v1/verification/email", s.user(s.handleRequestVerification))
	m.HandleFunc("POST /v1/verification/email/confirm", s.handleConfirmVerification)
	m.HandleFunc("POST /v1/recovery", s.handleRequestRecovery)
	m.HandleFunc("POST /v1/recovery/confirm", s.handleConfirmRecovery)
	m.Handle("PATCH /v1/me", s.user(s.handlePatchMe))
}

// acceptedJSON is the body of the 202 answers: the mail is queued (or,
// for an unknown address, would have been).
var acceptedJSON = map[string]string{"status": "accepted"}

func (s *Server) handleRequestVerification(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	if err := s.deps.Accounts.RequestEmailVerification(r.Context(), p.UserID, s.clientIP(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, acceptedJSON)
}

type tokenRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (s *Server) handleConfirmVerification(w http.ResponseWriter, r *http.Request) {
	if !s.originOK(r) {
		s.writeError(w, r, errCSRF)
		return
	}
	var req tokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.deps.Accounts.ConfirmEmailVerification(r.Context(), req.Token)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "email verified", "user_id", u.ID)
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u)})
}

func (s *Server) handleRequestRecovery(w http.ResponseWriter, r *http.Request) {
	if !s.originOK(r) {
		s.writeError(w, r, errCSRF)
		return
	}
	var req struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.deps.Accounts.RequestRecovery(r.Context(), req.Email, s.clientIP(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, acceptedJSON)
}

func (s *Server) handleConfirmRecovery(w http.ResponseWriter, r *http.Request) {
	if !s.originOK(r) {
		s.writeError(w, r, errCSRF)
		return
	}
	var req tokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.deps.Accounts.ConfirmRecovery(r.Context(), req.Token, req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "password recovered; every session revoked", "user_id", u.ID)
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u)})
}

// handlePatchMe changes the caller's address ({"email"}) or password
// ({"password","current_password"}), one at a time.
func (s *Server) handlePatchMe(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	var req struct {
		Email           *string `json:"email"`
		Password        *string `json:"password"`
		CurrentPassword *string `json:"current_password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	switch {
	case req.Email != nil && (req.Password != nil || req.CurrentPassword != nil):
		s.writeError(w, r, errInvalidRequest("change the email or the password, not both at once"))
	case req.Email != nil:
		u, err := s.deps.Accounts.ChangeEmail(ctx, p.UserID, p.SessionID, *req.Email, s.clientIP(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.log.InfoContext(ctx, "email changed", "user_id", u.ID)
		writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u)})
	case req.Password != nil:
		current := ""
		if req.CurrentPassword != nil {
			current = *req.CurrentPassword
		}
		u, err := s.deps.Accounts.ChangePassword(ctx, p.UserID, p.SessionID, current, *req.Password, s.clientIP(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.log.InfoContext(ctx, "password changed; other sessions revoked", "user_id", u.ID, "session_id", p.SessionID)
		writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u)})
	default:
		s.writeError(w, r, errInvalidRequest(`send {"email"} or {"password","current_password"}`))
	}
}
