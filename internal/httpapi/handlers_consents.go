package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// consentJSON is a consent as its user sees it.
type consentJSON struct {
	ClientID   string    `json:"client_id"`
	ClientName string    `json:"client_name"`
	Scope      string    `json:"scope"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// handleListConsents answers the user's consents to third-party clients:
// {"consents": [...]}.
func (s *Server) handleListConsents(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	cs, err := s.deps.Authorize.Consents(r.Context(), p.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]consentJSON, 0, len(cs))
	for _, c := range cs {
		name := ""
		if cl, err := s.deps.Authorize.Clients().Get(r.Context(), c.ClientID); err == nil {
			name = cl.Name
		}
		out = append(out, consentJSON{ClientID: c.ClientID, ClientName: name, Scope: strings.Join(c.Scopes, " "), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"consents": out})
}

// handleDeleteConsent revokes the user's consent to a client and every
// grant the client holds for them: 204, or 404 if there was none.
func (s *Server) handleDeleteConsent(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	err := s.deps.Authorize.RevokeConsent(r.Context(), p.UserID, r.PathValue("client_id"))
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, errNotFound)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
