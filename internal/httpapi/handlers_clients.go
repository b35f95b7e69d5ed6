package httpapi

import (
	"cmp"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// clientRoutes mounts the administration of OAuth clients.
func (s *Server) clientRoutes() {
	m := s.mux
	m.Handle("POST /admin/v1/clients", s.admin(s.handleAdminCreateClient))
	m.Handle("GET /admin/v1/clients", s.admin(s.handleAdminListClients))
	m.Handle("GET /admin/v1/clients/{id}", s.admin(s.handleAdminGetClient))
	m.Handle("DELETE /admin/v1/clients/{id}", s.admin(s.handleAdminDeleteClient))
}

// clientJSON is a client as an administrator sees it, with the field
// names of RFC 7591. ClientSecret is set only in the answer that creates
// the client: it is never stored, so it cannot be shown again.
type clientJSON struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	// ClientSecretExpiresAt is 0 (never), sent with the secret as RFC 7591
	// section 3.2.1 requires.
	ClientSecretExpiresAt    *int64   `json:"client_secret_expires_at,omitempty"`
	ClientName               string   `json:"client_name"`
	GrantTypes               []string `json:"grant_types"`
	RedirectURIs             []string `json:"redirect_uris"`
	Scope                    string   `json:"scope"`
	Audience                 []string `json:"audience"`
	TokenEndpointAuthMethod  string   `json:"token_endpoint_auth_method"`
	FirstParty               bool     `json:"first_party"`
	PostLogoutRedirectURIs   []string `json:"post_logout_redirect_uris"`
	IDTokenSignedResponseAlg string   `json:"id_token_signed_response_alg"`
	BackchannelLogoutURI     string   `json:"backchannel_logout_uri"`
	// BackchannelLogoutSessionRequired is backchannel_logout_session_required.
	BackchannelLogoutSessionRequired bool      `json:"backchannel_logout_session_required"`
	CreatedAt                        time.Time `json:"created_at"`
}

func toClientJSON(c store.Client) clientJSON {
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return clientJSON{
		ClientID:                         c.ID,
		ClientName:                       c.Name,
		GrantTypes:                       orEmpty(c.GrantTypes),
		RedirectURIs:                     orEmpty(c.RedirectURIs),
		Scope:                            strings.Join(c.Scopes, " "),
		Audience:                         orEmpty(c.Audiences),
		TokenEndpointAuthMethod:          c.TokenEndpointAuthMethod,
		FirstParty:                       c.FirstParty,
		PostLogoutRedirectURIs:           orEmpty(c.PostLogoutRedirectURIs),
		IDTokenSignedResponseAlg:         cmp.Or(c.IDTokenSignedResponseAlg, string(oauth.DefaultIDTokenAlgorithm)),
		BackchannelLogoutURI:             c.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired,
		CreatedAt:                        c.CreatedAt.UTC(),
	}
}

// clientError maps invalid client metadata to 400 with the field and the
// reason; everything else goes to writeError.
func (s *Server) clientError(w http.ResponseWriter, r *http.Request, err error) {
	var me *oauth.MetadataError
	if errors.As(err, &me) {
		s.writeError(w, r, errInvalidRequest("%s", me.Message()))
		return
	}
	s.writeError(w, r, err)
}

func (s *Server) handleAdminCreateClient(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientName                       string   `json:"client_name"`
		GrantTypes                       []string `json:"grant_types"`
		RedirectURIs                     []string `json:"redirect_uris"`
		Scope                            string   `json:"scope"`
		Audience                         []string `json:"audience"`
		TokenEndpointAuthMethod          string   `json:"token_endpoint_auth_method"`
		FirstParty                       bool     `json:"first_party"`
		PostLogoutRedirectURIs           []string `json:"post_logout_redirect_uris"`
		IDTokenSignedResponseAlg         string   `json:"id_token_signed_response_alg"`
		BackchannelLogoutURI             string   `json:"backchannel_logout_uri"`
		BackchannelLogoutSessionRequired bool     `json:"backchannel_logout_session_required"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	reg, err := s.deps.OAuth.Clients().Register(r.Context(), oauth.Metadata{
		Name:                             req.ClientName,
		GrantTypes:                       req.GrantTypes,
		RedirectURIs:                     req.RedirectURIs,
		Scope:                            req.Scope,
		Audience:                         req.Audience,
		TokenEndpointAuthMethod:          req.TokenEndpointAuthMethod,
		FirstParty:                       req.FirstParty,
		PostLogoutRedirectURIs:           req.PostLogoutRedirectURIs,
		IDTokenSignedResponseAlg:         req.IDTokenSignedResponseAlg,
		BackchannelLogoutURI:             req.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: req.BackchannelLogoutSessionRequired,
	})
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin created client", "client_id", reg.Client.ID,
		"grant_types", strings.Join(reg.Client.GrantTypes, " "), "auth_method", reg.Client.TokenEndpointAuthMethod)
	out := toClientJSON(reg.Client)
	if reg.Secret != "" {
		var never int64
		out.ClientSecret, out.ClientSecretExpiresAt = reg.Secret, &never
	}
	w.Header().Set("Location", "/admin/v1/clients/"+reg.Client.ID)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleAdminListClients(w http.ResponseWriter, r *http.Request) {
	cs, err := s.deps.OAuth.Clients().List(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": jsonList(cs, toClientJSON)})
}

func (s *Server) handleAdminGetClient(w http.ResponseWriter, r *http.Request) {
	c, err := s.deps.OAuth.Clients().Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toClientJSON(c))
}

// handleAdminDeleteClient deletes a client and revokes everything issued
// to it: its users' grants and its own client credentials tokens.
func (s *Server) handleAdminDeleteClient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.deps.OAuth.Clients().Delete(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin deleted client", "client_id", id)
	w.WriteHeader(http.StatusNoContent)
}
