package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/webhook"
)

// webhookRoutes mounts the admin API of webhook endpoints, when the
// server has them.
func (s *Server) webhookRoutes() {
	if s.deps.Webhooks == nil {
		return
	}
	m := s.mux
	m.Handle("POST /admin/v1/webhooks", s.admin(s.handleAdminCreateWebhook))
	m.Handle("GET /admin/v1/webhooks", s.admin(s.handleAdminListWebhooks))
	m.Handle("GET /admin/v1/webhooks/{id}", s.admin(s.handleAdminGetWebhook))
	m.Handle("PATCH /admin/v1/webhooks/{id}", s.admin(s.handleAdminPatchWebhook))
	m.Handle("DELETE /admin/v1/webhooks/{id}", s.admin(s.handleAdminDeleteWebhook))
	m.Handle("POST /admin/v1/webhooks/{id}/rotate-secret", s.admin(s.handleAdminRotateWebhookSecret))
	m.Handle("GET /admin/v1/webhooks/{id}/deliveries", s.admin(s.handleAdminListWebhookDeliveries))
	m.Handle("POST /admin/v1/webhooks/{id}/deliveries/{delivery}/retry", s.admin(s.handleAdminRetryWebhookDelivery))
}

// webhookJSON is an endpoint as the admin API shows it. Secret is set
// only in the answers that create it (registration, rotation).
type webhookJSON struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
	EventTypes  []string  `json:"event_types"`
	Enabled     bool      `json:"enabled"`
	Secret      string    `json:"secret,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// PreviousSecretExpiresAt is when a rotated-out secret stops signing;
	// omitted when none does.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
}

func (s *Server) toWebhookJSON(e store.WebhookEndpoint, secret string) webhookJSON {
	out := webhookJSON{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Enabled: e.Enabled,
		Secret: secret, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
	if out.EventTypes == nil {
		out.EventTypes = []string{}
	}
	if len(e.PreviousSecret) > 0 && s.now().Before(e.PreviousUntil) {
		t := e.PreviousUntil.UTC()
		out.PreviousSecretExpiresAt = &t
	}
	return out
}

// deliveryJSON is one delivery of an endpoint.
type deliveryJSON struct {
	ID             string     `json:"id"`
	MessageID      string     `json:"message_id"`
	State          string     `json:"state"`
	Attempts       int        `json:"attempts"`
	CreatedAt      time.Time  `json:"created_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at,omitempty"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
}

func toDeliveryJSON(d store.Delivery) deliveryJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	out := deliveryJSON{ID: d.ID, MessageID: d.MessageID, State: string(d.State), Attempts: d.Attempts, CreatedAt: d.CreatedAt.UTC(),
		LastAttemptAt: opt(d.LastAttemptAt), LastStatusCode: d.LastStatus, LastError: d.LastError, FinishedAt: opt(d.FinishedAt)}
	if d.State == store.DeliveryPending {
		out.NextAttemptAt = opt(d.NextAttemptAt)
	}
	return out
}

// webhookError maps refused input to 400 and a retry of a live delivery
// to 409; everything else goes to writeError.
func (s *Server) webhookError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *webhook.InputError
	switch {
	case errors.As(err, &ie):
		s.writeError(w, r, errInvalidRequest("%s", ie.Message()))
	case errors.Is(err, webhook.ErrNotDead):
		s.writeError(w, r, &apiError{Status: http.StatusConflict, Code: codeConflict, Description: "only a dead delivery can be retried"})
	default:
		s.writeError(w, r, err)
	}
}

func (s *Server) handleAdminCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL         string   `json:"url"`
		Description string   `json:"description"`
		EventTypes  []string `json:"event_types"`
		Enabled     *bool    `json:"enabled"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, secret, err := s.deps.Webhooks.Create(r.Context(), webhook.Spec{URL: req.URL, Description: req.Description,
		EventTypes: req.EventTypes, Disabled: req.Enabled != nil && !*req.Enabled})
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin registered webhook", "webhook_id", e.ID, "url", e.URL)
	w.Header().Set("Location", "/admin/v1/webhooks/"+e.ID)
	writeJSON(w, http.StatusCreated, s.toWebhookJSON(e, secret))
}

func (s *Server) handleAdminListWebhooks(w http.ResponseWriter, r *http.Request) {
	es, err := s.deps.Webhooks.List(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := jsonList(es, func(e store.WebhookEndpoint) webhookJSON { return s.toWebhookJSON(e, "") })
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

func (s *Server) handleAdminGetWebhook(w http.ResponseWriter, r *http.Request) {
	e, err := s.deps.Webhooks.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toWebhookJSON(e, ""))
}

func (s *Server) handleAdminPatchWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL         *string   `json:"url"`
		Description *string   `json:"description"`
		EventTypes  *[]string `json:"event_types"`
		Enabled     *bool     `json:"enabled"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.deps.Webhooks.Update(r.Context(), r.PathValue("id"), webhook.Patch{URL: req.URL, Description: req.Description,
		EventTypes: req.EventTypes, Enabled: req.Enabled})
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin updated webhook", "webhook_id", e.ID, "enabled", e.Enabled)
	writeJSON(w, http.StatusOK, s.toWebhookJSON(e, ""))
}

func (s *Server) handleAdminDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.deps.Webhooks.Delete(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin deleted webhook", "webhook_id", id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminRotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	e, secret, err := s.deps.Webhooks.RotateSecret(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin rotated webhook secret", "webhook_id", e.ID)
	writeJSON(w, http.StatusOK, s.toWebhookJSON(e, secret))
}

func (s *Server) handleAdminListWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	limit := webhook.MaxDeliveriesListed
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > webhook.MaxDeliveriesListed {
			s.writeError(w, r, errInvalidRequest("limit must be 1 to %d", webhook.MaxDeliveriesListed))
			return
		}
		limit = n
	}
	ds, err := s.deps.Webhooks.Deliveries(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": jsonList(ds, toDeliveryJSON)})
}

func (s *Server) handleAdminRetryWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.deps.Webhooks.Retry(r.Context(), r.PathValue("id"), r.PathValue("delivery"))
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "admin retried webhook delivery", "webhook_id", d.Target, "delivery_id", d.ID)
	writeJSON(w, http.StatusAccepted, toDeliveryJSON(d))
}
