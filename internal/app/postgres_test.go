package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// TestPostgresSmoke starts the whole server on a PostgreSQL database of
// its own (--db postgres://…) and runs the main flows through it: signup,
// a cookie login, session data with its ETag, a token login, a refresh,
// and a revocation that the token sees at once.
func TestPostgresSmoke(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	srv := apptest.Start(t, apptest.Options{Args: []string{"--db", dbURL}})

	if srv.App.DatabasePath != "" {
		t.Errorf("DatabasePath = %q on PostgreSQL, want empty (no SQLite file)", srv.App.DatabasePath)
	}
	ms, err := sqlstore.Migrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := srv.App.SchemaVersion(t.Context()); err != nil || v != len(ms) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
	}
	srv.NewClient().Do(t, http.MethodGet, "/readyz", nil).WantStatus(t, http.StatusOK)
	if srv.App.Authorizer == nil {
		t.Error("the authorization code flow is off on PostgreSQL: openPostgres returned no code or consent store")
	}

	// Cookie session and its data, with If-Match.
	u, c := srv.NewSession(t)
	r := c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK)
	etag0 := r.Header.Get("ETag")
	if got := r.JSON(t); len(got) != 0 || etag0 == "" {
		t.Fatalf("initial data %v with ETag %q, want {} and an ETag", got, etag0)
	}
	data := `{"cart": {"items": [{"sku": "x-1", "qty": 2}]}, "step": "pay", "n": 1.5}`
	r = c.Do(t, http.MethodPut, "/v1/session/data", data, "If-Match", etag0).WantStatus(t, http.StatusOK)
	etag1 := r.Header.Get("ETag")
	if etag1 == "" || etag1 == etag0 {
		t.Fatalf("ETag after PUT = %q, want a new one (was %q)", etag1, etag0)
	}
	c.Do(t, http.MethodPut, "/v1/session/data", `{"lost": true}`, "If-Match", etag0).WantStatus(t, http.StatusPreconditionFailed)
	r = c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK)
	var want any
	if err := json.Unmarshal([]byte(data), &want); err != nil {
		t.Fatal(err)
	}
	if got := any(r.JSON(t)); !reflect.DeepEqual(got, want) || r.Header.Get("ETag") != etag1 {
		t.Errorf("data = %v with ETag %q, want %v with %q", got, r.Header.Get("ETag"), want, etag1)
	}
	c.Do(t, http.MethodPatch, "/v1/session/data", `{"step": null, "done": true}`,
		"Content-Type", "application/merge-patch+json", "If-Match", etag1).WantStatus(t, http.StatusOK)
	got := c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK).JSON(t)
	if _, ok := got["step"]; ok || got["done"] != true || got["cart"] == nil {
		t.Errorf("data after PATCH = %v, want step removed, done added, cart kept", got)
	}

	// Token login, a bearer call, a refresh.
	type tokenPair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	var first, second tokenPair
	srv.NewClient().Do(t, http.MethodPost, "/v1/login",
		map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).
		WantStatus(t, http.StatusOK).Decode(t, &first)
	if first.AccessToken == "" || first.RefreshToken == "" {
		t.Fatalf("token login answered %+v", first)
	}
	bearer := func(tok string) *apptest.Client {
		b := srv.NewClient()
		b.Header.Set("Authorization", "Bearer "+tok)
		return b
	}
	var me struct {
		Auth struct {
			SessionID string `json:"session_id"`
		} `json:"auth"`
	}
	bearer(first.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).Decode(t, &me)
	srv.NewClient().Do(t, http.MethodPost, "/oauth2/token",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}.Encode(),
		"Content-Type", "application/x-www-form-urlencoded").
		WantStatus(t, http.StatusOK).Decode(t, &second)
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", second)
	}

	// Revoking the grant from the cookie session ends its tokens at once.
	c.Do(t, http.MethodDelete, "/v1/sessions/"+me.Auth.SessionID, nil).WantStatus(t, http.StatusNoContent)
	bearer(second.AccessToken).Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
}
