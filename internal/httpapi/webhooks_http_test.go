package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// These tests cover /admin/v1/webhooks through the real router, and
// deliveries of real events.

type webhookOut struct {
	ID                      string     `json:"id"`
	URL                     string     `json:"url"`
	Description             string     `json:"description"`
	EventTypes              []string   `json:"event_types"`
	Enabled                 bool       `json:"enabled"`
	Secret                  string     `json:"secret"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
}

type deliveryOut struct {
	ID             string `json:"id"`
	MessageID      string `json:"message_id"`
	State          string `json:"state"`
	Attempts       int    `json:"attempts"`
	LastStatusCode int    `json:"last_status_code"`
	LastError      string `json:"last_error"`
	NextAttemptAt  string `json:"next_attempt_at"`
}

func TestAdminWebhooksAPI(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	admin := srv.Admin()
	_, user := srv.NewSession(t)
	user.Do(t, http.MethodGet, "/admin/v1/webhooks", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")

	for name, body := range map[string]string{
		"no url":       `{}`,
		"ftp":          `{"url": "ftp://example.com/x"}`,
		"fragment":     `{"url": "https://example.com/x#f"}`,
		"unknown type": `{"url": "https://example.com/x", "event_types": ["user.exploded"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			admin.Do(t, http.MethodPost, "/admin/v1/webhooks", body).WantError(t, http.StatusBadRequest, "invalid_request")
		})
	}
	var list struct {
		Webhooks []webhookOut `json:"webhooks"`
	}
	admin.Do(t, http.MethodGet, "/admin/v1/webhooks", nil).WantStatus(t, http.StatusOK).Decode(t, &list)
	if len(list.Webhooks) != 0 {
		t.Fatalf("refused registrations were stored: %+v", list.Webhooks)
	}

	resp := admin.Do(t, http.MethodPost, "/admin/v1/webhooks", map[string]any{
		"url": "https://crm.example.com/hooks", "description": "CRM", "event_types": []string{"user.created", "session.ended"}})
	var created webhookOut
	resp.WantStatus(t, http.StatusCreated).Decode(t, &created)
	if !strings.HasPrefix(created.Secret, "whsec_") || created.ID == "" || !created.Enabled || len(created.EventTypes) != 2 {
		t.Fatalf("created = %+v", created)
	}
	if loc := resp.Header.Get("Location"); loc != "/admin/v1/webhooks/"+created.ID {
		t.Fatalf("Location = %q", loc)
	}
	var got webhookOut
	admin.Do(t, http.MethodGet, "/admin/v1/webhooks/"+created.ID, nil).WantStatus(t, http.StatusOK).Decode(t, &got)
	if got.Secret != "" || got.URL != created.URL || got.Description != "CRM" {
		t.Fatalf("get = %+v (the secret is shown only at creation)", got)
	}
	admin.Do(t, http.MethodPatch, "/admin/v1/webhooks/"+created.ID, `{"enabled": false, "event_types": []}`).WantStatus(t, http.StatusOK).Decode(t, &got)
	if got.Enabled || len(got.EventTypes) != 0 || got.Secret != "" {
		t.Fatalf("patched = %+v", got)
	}
	admin.Do(t, http.MethodPatch, "/admin/v1/webhooks/"+created.ID, `{"url": "http://"}`).WantError(t, http.StatusBadRequest, "invalid_request")
	var rotated webhookOut
	admin.Do(t, http.MethodPost, "/admin/v1/webhooks/"+created.ID+"/rotate-secret", nil).WantStatus(t, http.StatusOK).Decode(t, &rotated)
	if !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == created.Secret || rotated.PreviousSecretExpiresAt == nil {
		t.Fatalf("rotated = %+v", rotated)
	}
	var ds struct {
		Deliveries []deliveryOut `json:"deliveries"`
	}
	admin.Do(t, http.MethodGet, "/admin/v1/webhooks/"+created.ID+"/deliveries?limit=5", nil).WantStatus(t, http.StatusOK).Decode(t, &ds)
	if ds.Deliveries == nil || len(ds.Deliveries) != 0 {
		t.Fatalf("deliveries = %#v", ds.Deliveries)
	}
	admin.Do(t, http.MethodGet, "/admin/v1/webhooks/"+created.ID+"/deliveries?limit=0", nil).WantError(t, http.StatusBadRequest, "invalid_request")
	admin.Do(t, http.MethodPost, "/admin/v1/webhooks/"+created.ID+"/deliveries/nope/retry", nil).WantError(t, http.StatusNotFound, "not_found")
	admin.Do(t, http.MethodDelete, "/admin/v1/webhooks/"+created.ID, nil).WantStatus(t, http.StatusNoContent)
	for _, p := range []string{"", "/deliveries"} {
		admin.Do(t, http.MethodGet, "/admin/v1/webhooks/"+created.ID+p, nil).WantError(t, http.StatusNotFound, "not_found")
	}
	admin.Do(t, http.MethodPost, "/admin/v1/webhooks/"+created.ID+"/rotate-secret", nil).WantError(t, http.StatusNotFound, "not_found")
}

// TestWebhookDeliveryOfARealEventAndManualRetry: an admin action's event
// reaches a registered endpoint, signed; a failing one goes dead, shows
// in the admin API, and is retried by hand.
func TestWebhookDeliveryOfARealEventAndManualRetry(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	admin := srv.Admin()
	var (
		mu     sync.Mutex
		status = 500
		bodies []map[string]any
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if status == 200 && r.Header.Get("webhook-id") != "" && strings.HasPrefix(r.Header.Get("webhook-signature"), "v1,") {
			var m map[string]any
			b, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(b, &m)
			bodies = append(bodies, m)
		}
		w.WriteHeader(status)
	}))
	defer rcv.Close()
	var wh webhookOut
	admin.Do(t, http.MethodPost, "/admin/v1/webhooks", map[string]any{"url": rcv.URL, "event_types": []string{"user.created"}}).
		WantStatus(t, http.StatusCreated).Decode(t, &wh)
	admin.Do(t, http.MethodPost, "/admin/v1/users", `{"email": "hooked@example.com", "password": "password123"}`).WantStatus(t, http.StatusCreated)

	deliveries := func() []deliveryOut {
		var ds struct {
			Deliveries []deliveryOut `json:"deliveries"`
		}
		admin.Do(t, http.MethodGet, "/admin/v1/webhooks/"+wh.ID+"/deliveries", nil).WantStatus(t, http.StatusOK).Decode(t, &ds)
		return ds.Deliveries
	}
	for range 12 { // the server's MaxAttempts
		if _, err := srv.App.DeliverHooks(t.Context()); err != nil {
			t.Fatal(err)
		}
		srv.Clock.Advance(2 * time.Hour) // past any backoff
	}
	ds := deliveries()
	if len(ds) != 1 || ds[0].State != "dead" || ds[0].LastStatusCode != 500 || ds[0].Attempts != 12 || ds[0].LastError == "" {
		t.Fatalf("deliveries = %+v, want one dead after 12 attempts", ds)
	}
	admin.Do(t, http.MethodPost, "/admin/v1/webhooks/"+wh.ID+"/deliveries/"+ds[0].ID+"/retry", nil).WantStatus(t, http.StatusAccepted)
	admin.Do(t, http.MethodPost, "/admin/v1/webhooks/"+wh.ID+"/deliveries/"+ds[0].ID+"/retry", nil).WantError(t, http.StatusConflict, "conflict")
	mu.Lock()
	status = 200
	mu.Unlock()
	if _, err := srv.App.DeliverHooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ds := deliveries(); len(ds) != 1 || ds[0].State != "delivered" || ds[0].LastStatusCode != 200 {
		t.Fatalf("after the retry: %+v", ds)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || bodies[0]["type"] != "user.created" {
		t.Fatalf("received %v", bodies)
	}
	data, _ := bodies[0]["data"].(map[string]any)
	if _, ok := data["actor"].(map[string]any); !ok || data["user_id"] == "" || data["seq"] == nil {
		t.Fatalf("data = %v", data)
	}
}

// TestHangingWebhookReceiverNeverSlowsLogins: while a delivery hangs in
// the receiver, logins (which append the events being delivered) answer.
// If a login waited for a delivery, it would wait for the receiver,
// which answers only after every login has.
func TestHangingWebhookReceiverNeverSlowsLogins(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	admin := srv.Admin()
	entered := make(chan struct{}, 100)
	release := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer rcv.Close()
	admin.Do(t, http.MethodPost, "/admin/v1/webhooks", map[string]any{"url": rcv.URL}).WantStatus(t, http.StatusCreated)
	u := srv.NewUser(t)
	srv.Login(t, u.Email, u.Password) // an event to deliver

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := srv.App.DeliverHooks(ctx)
		done <- err
	}()
	<-entered // a delivery is now stuck in the receiver
	for range 5 {
		srv.Login(t, u.Email, u.Password)
	}
	close(release)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAdminClientBackchannelLogoutFields registers back-channel logout
// clients through the admin API, and finds discovery advertising it.
func TestAdminClientBackchannelLogoutFields(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	admin := srv.Admin()
	base := map[string]any{"redirect_uris": []string{"https://rp.example/cb"}, "scope": "openid"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}
	for name, body := range map[string]map[string]any{
		"http off loopback": with("backchannel_logout_uri", "http://rp.example/bcl"),
		"fragment":          with("backchannel_logout_uri", "https://rp.example/bcl#x"),
		"relative":          with("backchannel_logout_uri", "/bcl"),
		"session alone":     with("backchannel_logout_session_required", true),
	} {
		t.Run(name, func(t *testing.T) {
			admin.Do(t, http.MethodPost, "/admin/v1/clients", body).WantError(t, http.StatusBadRequest, "invalid_request")
		})
	}
	body := with("backchannel_logout_uri", "http://127.0.0.1:9999/bcl")
	body["backchannel_logout_session_required"] = true
	var c struct {
		ID       string `json:"client_id"`
		URI      string `json:"backchannel_logout_uri"`
		Required bool   `json:"backchannel_logout_session_required"`
	}
	admin.Do(t, http.MethodPost, "/admin/v1/clients", body).WantStatus(t, http.StatusCreated).Decode(t, &c)
	if c.URI != "http://127.0.0.1:9999/bcl" || !c.Required {
		t.Fatalf("created %+v", c)
	}
	admin.Do(t, http.MethodGet, "/admin/v1/clients/"+c.ID, nil).WantStatus(t, http.StatusOK).Decode(t, &c)
	if c.URI != "http://127.0.0.1:9999/bcl" || !c.Required {
		t.Fatalf("read back %+v", c)
	}
	var plain struct {
		URI      *string `json:"backchannel_logout_uri"`
		Required *bool   `json:"backchannel_logout_session_required"`
	}
	admin.Do(t, http.MethodPost, "/admin/v1/clients", base).WantStatus(t, http.StatusCreated).Decode(t, &plain)
	if plain.URI == nil || *plain.URI != "" || plain.Required == nil || *plain.Required {
		t.Fatalf("a client without back-channel logout: %+v", plain)
	}
	doc := srv.NewClient().Do(t, http.MethodGet, "/.well-known/openid-configuration", nil).WantStatus(t, http.StatusOK).JSON(t)
	if doc["backchannel_logout_supported"] != true || doc["backchannel_logout_session_supported"] != true {
		t.Fatalf("discovery: backchannel_logout_supported %v, backchannel_logout_session_supported %v",
			doc["backchannel_logout_supported"], doc["backchannel_logout_session_supported"])
	}
}
