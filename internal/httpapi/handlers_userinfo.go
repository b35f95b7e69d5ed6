package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/oauth"
)

// userinfoRoutes mounts the userinfo endpoint, which needs only the token
// service.
func (s *Server) userinfoRoutes() {
	s.mux.HandleFunc("GET /userinfo", s.handleUserInfo)
	s.mux.HandleFunc("POST /userinfo", s.handleUserInfo)
}

// handleUserInfo is the userinfo endpoint (OpenID Connect Core section
// 5.3): an access token of a live user grant with the openid scope gets
// "sub", then the claims its scopes allow: email and email_verified
// (email), and the user's custom claims of the standard profile names
// (profile).
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	challenge := func(status int, code, desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="`+code+`", error_description="`+desc+`"`)
		writeJSON(w, status, errorBody{Error: code, Description: desc})
	}
	tok, present := bearerToken(r)
	if !present && r.Method == http.MethodPost {
		// RFC 6750 section 2.2: the token may come in the form body.
		if form, err := s.readForm(w, r); err == nil {
			tok, present = form.Get("access_token"), form.Has("access_token")
		}
	}
	if !present {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "invalid_token", Description: "an access token is required"})
		return
	}
	in, grant := s.deps.TokenService.Introspect(r.Context(), tok)
	if !in.Active || in.TokenType != "access_token" || in.Sid == "" || grant.UserID == "" {
		challenge(http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
		return
	}
	scopes := strings.Fields(in.Scope)
	if !slices.Contains(scopes, oauth.ScopeOpenID) {
		challenge(http.StatusForbidden, "insufficient_scope", "the access token lacks the openid scope")
		return
	}
	u, err := s.deps.Users.GetUser(r.Context(), in.Sub)
	if err != nil || u.Disabled {
		challenge(http.StatusUnauthorized, "invalid_token", "the access token's user is gone")
		return
	}
	out := map[string]any{"sub": u.ID}
	if slices.Contains(scopes, oauth.ScopeEmail) {
		out["email"], out["email_verified"] = u.Email, u.EmailVerified
	}
	if slices.Contains(scopes, oauth.ScopeProfile) {
		for _, c := range profileClaims {
			if v, ok := u.Claims[c]; ok {
				out[c] = v
			}
		}
		out["updated_at"] = u.UpdatedAt.Unix()
	}
	w.Header()["Pragma"] = hdrPragmaNoCache
	writeJSON(w, http.StatusOK, out)
}

// profileClaims are the claims of the profile scope (OpenID Connect Core
// section 5.4), taken from the user's custom claims when present.
var profileClaims = []string{
	"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
	"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale",
}
