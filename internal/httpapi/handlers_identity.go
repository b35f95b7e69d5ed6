package httpapi

import (
	"cmp"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// userJSON is a user as the user sees it.
type userJSON struct {
	ID            string         `json:"id"`
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified"`
	Claims        map[string]any `json:"claims,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
}

func toUserJSON(u store.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Claims: u.Claims, CreatedAt: u.CreatedAt.UTC()}
}

type credentialsRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Mode     string `json:"mode"`
}

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	if !s.originOK(r) {
		s.writeError(w, r, errCSRF)
		return
	}
	var req credentialsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.deps.Accounts.Signup(r.Context(), req.Email, req.Password, s.clientIP(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "user signed up", "user_id", u.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(u)})
}

// sessionJSON is a session record as its owner sees it.
type sessionJSON struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	UserAgent     string    `json:"user_agent"`
	IP            string    `json:"ip"`
	ClientID      string    `json:"client_id,omitempty"`
	Current       bool      `json:"current"`
}

func toSessionJSON(s store.Session, currentID string) sessionJSON {
	return sessionJSON{
		ID: s.ID, Kind: string(s.Kind), CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(),
		ExpiresAt: s.ExpiresAt.UTC(), IdleExpiresAt: s.IdleExpiresAt.UTC(),
		UserAgent: s.UserAgent, IP: s.IP, ClientID: s.ClientID, Current: s.ID == currentID,
	}
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.originOK(r) {
		s.writeError(w, r, errCSRF)
		return
	}
	var req credentialsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.deps.Accounts.Login(r.Context(), s.loginRequest(r, req.Email, req.Password, accounts.Mode(req.Mode)))
	var bad *accounts.InvalidRequestError
	if !errors.As(err, &bad) {
		s.countLogin(cmp.Or(req.Mode, string(accounts.ModeSession)), err)
	}
	if s.writeMFARequired(w, err) {
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeLogin(w, r, res)
}

// writeLogin answers a completed login: the token response, or the
// session cookie with the user, session and CSRF token.
func (s *Server) writeLogin(w http.ResponseWriter, r *http.Request, res accounts.LoginResult) {
	if res.Mode == accounts.ModeToken {
		writeJSON(w, http.StatusOK, res.Tokens)
		return
	}
	created := res.Session
	s.setSessionCookie(w, created.Secret, created.Session.ExpiresAt)
	s.log.InfoContext(r.Context(), "login", "user_id", res.User.ID, "mode", "session", "session_id", created.Session.ID, "enrolment_only", res.EnrolmentOnly)
	body := map[string]any{
		"user":       toUserJSON(res.User),
		"session":    toSessionJSON(created.Session, created.Session.ID),
		"csrf_token": session.CSRFToken(created.Secret),
	}
	if res.EnrolmentOnly {
		// The session exists, but may only enrol a second factor.
		body["error"] = codeMFAEnrolmentRequired
		body["error_description"] = "this account must set up a second factor: the session may only enrol one (POST /v1/mfa/totp)"
		writeJSON(w, http.StatusForbidden, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// loginRequest is the accounts login of r: its client, and the session
// cookie a session login replaces.
func (s *Server) loginRequest(r *http.Request, email, pw string, mode accounts.Mode) accounts.LoginRequest {
	secret, _ := s.cookieSecret(r)
	return accounts.LoginRequest{Email: email, Password: pw, Mode: mode, CookieSecret: secret,
		Client: session.ClientInfo{UserAgent: r.UserAgent(), IP: s.clientIP(r)}}
}

func (s *Server) countLogin(mode string, err error) {
	if s.deps.Metrics == nil {
		return
	}
	outcome := "success"
	if err != nil {
		switch ae := s.asAPIErrorQuiet(err); ae.Code {
		case codeInvalidCredentials, codeRateLimited, codeMFARequired:
			outcome = ae.Code
		default:
			outcome = "error"
		}
	}
	s.deps.Metrics.Login(mode, outcome)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	if err := s.deps.Accounts.Logout(r.Context(), p.UserID, p.SessionID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Method == authn.MethodSession {
		s.clearCookie(w)
	}
	s.log.InfoContext(r.Context(), "logout", "user_id", p.UserID, "session_id", p.SessionID)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	u, err := s.deps.Users.CachedUser(r.Context(), p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, errUnauthenticated) // deleted since the login
		return
	}
	if err != nil {
		s.writeError(w, r, err) // a store outage is a 500, not a logout
		return
	}
	if u.Disabled {
		s.writeError(w, r, errUnauthenticated)
		return
	}
	s.writeMe(w, meJSON{
		Auth: meAuthJSON{ExpiresAt: p.ExpiresAt.UTC(), Method: string(p.Method), SessionID: p.SessionID,
			AMR: p.Auth.AMR(), ACR: p.Auth.ACR(), AuthTime: p.Auth.Time.UTC(), MFAEnrolmentRequired: p.EnrolmentOnly},
		User: toUserJSON(u),
	})
}

// meJSON is the body of GET /v1/me. Structs rather than maps, which
// encoding/json sorts on every call: this answers every request of a
// session-backed page. Fields are in the order maps gave them.
type meJSON struct {
	Auth meAuthJSON `json:"auth"`
	User userJSON   `json:"user"`
}

type meAuthJSON struct {
	// ACR, AMR and AuthTime are how and when the user authenticated
	// (issue #14): urn:gatehouse:acr:1fa or :mfa, RFC 8176 values.
	ACR string   `json:"acr,omitempty"`
	AMR []string `json:"amr,omitempty"`
	// AuthTime is left out when unknown (zero). A value, not a pointer:
	// one allocation less per GET /v1/me.
	AuthTime  time.Time `json:"auth_time,omitzero"`
	ExpiresAt time.Time `json:"expires_at"`
	Method    string    `json:"method"`
	// MFAEnrolmentRequired marks an enrolment-only session.
	MFAEnrolmentRequired bool   `json:"mfa_enrolment_required,omitempty"`
	SessionID            string `json:"session_id"`
}

// authTimeJSON returns a's time for JSON, nil when unknown.
func authTimeJSON(a authcontext.Authentication) *time.Time {
	if a.Time.IsZero() {
		return nil
	}
	t := a.Time.UTC()
	return &t
}
