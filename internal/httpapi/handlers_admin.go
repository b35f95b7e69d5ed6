package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// adminUserJSON is a user as an administrator sees it.
type adminUserJSON struct {
	ID       string         `json:"id"`
	Email    string         `json:"email"`
	Claims   map[string]any `json:"claims"`
	Disabled bool           `json:"disabled"`
	// EmailVerified is true once the user used a verification or
	// recovery link, or an administrator marked the address verified.
	EmailVerified bool `json:"email_verified"`
	// MFARequired is true when an administrator requires a second factor
	// of the user (the server's --require-mfa is not reflected here).
	MFARequired bool      `json:"mfa_required"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toAdminUserJSON(u store.User) adminUserJSON {
	c := u.Claims
	if c == nil {
		c = map[string]any{}
	}
	return adminUserJSON{ID: u.ID, Email: u.Email, Claims: c, Disabled: u.Disabled, EmailVerified: u.EmailVerified, MFARequired: u.MFARequired, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

// decodeClaims parses a claims member: absent or null is nil, anything
// but an object is 400.
func decodeClaims(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, errInvalidRequest("claims must be a JSON object")
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, errInvalidRequest("claims must be a JSON object")
	}
	return c, nil
}

func (s *Server) handleAdminCreateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string          `json:"email"`
		Password string          `json:"password"`
		Claims   json.RawMessage `json:"claims"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Email == "" || req.Password == "" {
		s.writeError(w, r, errInvalidRequest("email and password are required"))
		return
	}
	claims, err := decodeClaims(req.Claims)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.deps.Accounts.CreateUser(r.Context(), accounts.NewUser{Email: req.Email, Password: req.Password, Claims: claims})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin created user", "user_id", u.ID)
	writeJSON(w, http.StatusCreated, toAdminUserJSON(u))
}

// Page sizes of GET /admin/v1/users.
const (
	defaultUserPage = 50
	maxUserPage     = 500
)

// adminUserListJSON is a page of users; NextCursor, when set, asks for
// the next page.
type adminUserListJSON struct {
	Users      []adminUserJSON `json:"users"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// handleAdminListUsers answers GET /admin/v1/users: with ?email= the user
// with that address (normalised as logins do), or none; otherwise a page
// of ?limit= users (default 50, at most 500) in id order, continued by
// ?cursor= with the previous page's next_cursor.
func (s *Server) handleAdminListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := adminUserListJSON{Users: []adminUserJSON{}}
	if q.Has("email") {
		if q.Has("limit") || q.Has("cursor") {
			s.writeError(w, r, errInvalidRequest("email cannot be combined with limit or cursor"))
			return
		}
		u, err := s.deps.Users.FindUserByEmail(r.Context(), q.Get("email"))
		switch {
		case err == nil:
			out.Users = append(out.Users, toAdminUserJSON(u))
		case errors.Is(err, store.ErrNotFound), errors.Is(err, identity.ErrInvalidEmail):
		default:
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	limit := defaultUserPage
	if q.Has("limit") {
		v := q.Get("limit")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxUserPage {
			s.writeError(w, r, errInvalidRequest("limit must be a whole number from 1 to %d", maxUserPage))
			return
		}
		limit = n
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) == 0 {
			s.writeError(w, r, errInvalidRequest("cursor is not a next_cursor of this listing"))
			return
		}
		after = string(b)
	}
	// One user more than the page tells whether there is a next page.
	us, err := s.deps.Users.ListUsers(r.Context(), after, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(us) > limit {
		us = us[:limit]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(us[limit-1].ID))
	}
	for _, u := range us {
		out.Users = append(out.Users, toAdminUserJSON(u))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleAdminGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.deps.Users.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAdminUserJSON(u))
}

func (s *Server) handleAdminPatchUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Claims   json.RawMessage `json:"claims"`
		Disabled *bool           `json:"disabled"`
		Password *string         `json:"password"`
		// EmailVerified marks the address verified (or not) without a
		// link, for addresses an administrator vouches for.
		EmailVerified *bool `json:"email_verified"`
		// MFARequired requires a second factor of the user (or no longer):
		// setting it revokes their single-factor sessions and grants.
		MFARequired *bool `json:"mfa_required"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	claims, err := decodeClaims(req.Claims)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	u, err := s.deps.Accounts.UpdateUser(r.Context(), id, accounts.UserUpdate{Claims: claims, Disabled: req.Disabled, Password: req.Password, EmailVerified: req.EmailVerified, MFARequired: req.MFARequired})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin updated user", "user_id", id, "disabled", u.Disabled)
	writeJSON(w, http.StatusOK, toAdminUserJSON(u))
}

func (s *Server) handleAdminDeleteUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.deps.Accounts.DeleteUser(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin deleted user", "user_id", id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminListSessions(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.deps.Users.GetUser(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSessionList(w, r, id, "")
}

func (s *Server) handleAdminDeleteSessions(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.Accounts.RevokeSessions(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
