package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/token"
)

// userJSON is a user as the user sees it.
type userJSON struct {
	ID        string         `json:"id"`
	Email     string         `json:"email"`
	Claims    map[string]any `json:"claims,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
}

func toUserJSON(u store.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Claims: u.Claims, CreatedAt: u.CreatedAt.UTC()}
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
	if req.Email == "" || req.Password == "" {
		s.writeError(w, r, errInvalidRequest("email and password are required"))
		return
	}
	u, err := s.deps.Users.Signup(r.Context(), identity.NewUser{Email: req.Email, Password: req.Password}, s.clientIP(r))
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

// TokenIssuer starts token grants for logins in token mode. The token
// service implements it; nil turns token mode off.
type TokenIssuer interface {
	// LoginTokens creates a token grant for u and returns the token
	// response (access_token, token_type, expires_in, refresh_token,
	// scope).
	LoginTokens(ctx context.Context, u store.User, ci session.ClientInfo) (token.Response, error)
}

// loginIncomplete turns a server failure after the password was accepted
// (the session or grant could not be stored) into the answer a wrong
// password gets when the login cannot complete (identity.ErrUnavailable),
// so a failing store does not reveal that a guess was right.
func (s *Server) loginIncomplete(r *http.Request, err error) error {
	if err == nil || s.asAPIErrorQuiet(err) != errServer {
		return err
	}
	s.log.ErrorContext(r.Context(), "login could not complete", "err", err)
	return fmt.Errorf("%w: %w", identity.ErrUnavailable, err)
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
	if req.Mode == "" {
		req.Mode = "session"
	}
	if req.Mode != "session" && req.Mode != "token" {
		s.writeError(w, r, errInvalidRequest(`mode must be "session" or "token"`))
		return
	}
	if req.Email == "" || req.Password == "" {
		s.writeError(w, r, errInvalidRequest("email and password are required"))
		return
	}
	if req.Mode == "token" && s.deps.Tokens == nil {
		s.writeError(w, r, errInvalidRequest("token mode is not available on this server"))
		return
	}
	ci := session.ClientInfo{UserAgent: r.UserAgent(), IP: s.clientIP(r)}
	u, err := s.deps.Users.Login(r.Context(), req.Email, req.Password, ci.IP)
	if err != nil {
		s.countLogin(req.Mode, err)
		s.writeError(w, r, err)
		return
	}
	if req.Mode == "token" {
		resp, err := s.deps.Tokens.LoginTokens(r.Context(), u, ci)
		if err == nil {
			err = s.revokeIfLocked(r.Context(), u, req.Password)
		}
		err = s.loginIncomplete(r, err)
		s.countLogin(req.Mode, err)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}

	created, err := s.startBrowserSession(r, u, req.Password, ci)
	err = s.loginIncomplete(r, err)
	s.countLogin(req.Mode, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setSessionCookie(w, created.Secret, created.Session.ExpiresAt)
	s.log.InfoContext(r.Context(), "login", "user_id", u.ID, "mode", "session", "session_id", created.Session.ID)
	writeJSON(w, http.StatusOK, map[string]any{
		"user":       toUserJSON(u),
		"session":    toSessionJSON(created.Session, created.Session.ID),
		"csrf_token": session.CSRFToken(created.Secret),
	})
}

// startBrowserSession starts the cookie session of u, who just logged in
// with password: a session that came with the request is replaced, never
// reused (session fixation), so it is ended if it is live; the new one is
// then created and the login rechecked (revokeIfLocked).
func (s *Server) startBrowserSession(r *http.Request, u store.User, password string, ci session.ClientInfo) (session.Created, error) {
	if old, _, ok := s.browserSession(r); ok {
		if err := s.deps.Sessions.Revoke(r.Context(), old.UserID, old.ID); err != nil {
			s.log.WarnContext(r.Context(), "could not end the replaced session", "err", err)
		}
	}
	created, err := s.deps.Sessions.CreateCookie(r.Context(), u.ID, ci)
	if err != nil {
		return session.Created{}, err
	}
	if err := s.revokeIfLocked(r.Context(), u, password); err != nil {
		return session.Created{}, err
	}
	return created, nil
}

// revokeIfLocked re-reads the user once a login has created their session
// or token grant. An administrator who disables or deletes the account, or
// resets its password, while the password is being checked revokes the
// user's records before the new one exists; reading again after creating
// it closes that window: either this read sees the change, or the
// revocation runs after the new record exists and ends it. When the read
// sees a change, the user's records are revoked and the login answers
// ErrInvalidCredentials.
func (s *Server) revokeIfLocked(ctx context.Context, u store.User, password string) error {
	err := s.deps.Users.Recheck(ctx, u, password)
	if !errors.Is(err, identity.ErrInvalidCredentials) {
		return err // nil, or a store error: 500 and no credential
	}
	if _, err := s.deps.Sessions.RevokeUser(ctx, u.ID, ""); err != nil {
		return err
	}
	return identity.ErrInvalidCredentials
}

func (s *Server) countLogin(mode string, err error) {
	if s.deps.Metrics == nil {
		return
	}
	outcome := "success"
	if err != nil {
		switch ae := s.asAPIErrorQuiet(err); ae.Code {
		case codeInvalidCredentials, codeRateLimited:
			outcome = ae.Code
		default:
			outcome = "error"
		}
	}
	s.deps.Metrics.Login(mode, outcome)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	if p.SessionID != "" {
		if err := s.deps.Sessions.Revoke(r.Context(), p.UserID, p.SessionID); err != nil {
			s.writeError(w, r, err)
			return
		}
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
	writeJSON(w, http.StatusOK, meJSON{
		Auth: meAuthJSON{ExpiresAt: p.ExpiresAt.UTC(), Method: string(p.Method), SessionID: p.SessionID},
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
	ExpiresAt time.Time `json:"expires_at"`
	Method    string    `json:"method"`
	SessionID string    `json:"session_id"`
}
