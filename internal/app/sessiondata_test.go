package app_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// TestSessionDataLimitsEveryBackend sends the conformance suite's
// session data edge cases through PUT and PATCH /v1/session/data on each
// sessions backend (SQLite, PostgreSQL, Redis): every invalid document is
// a 400 invalid_request that changes nothing, and every valid one is
// stored and read back as the same JSON value, and can still be patched.
func TestSessionDataLimitsEveryBackend(t *testing.T) {
	backends := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"SQLite", func(*testing.T) []string { return nil }},
		{"PostgreSQL", func(t *testing.T) []string { return []string{"--db", pgtest.NewDatabase(t)} }},
		{"Redis", func(t *testing.T) []string {
			u, _ := redisSessionsURL(t)
			return []string{"--sessions", u}
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: b.args(t)})
			_, c := srv.NewSession(t)
			const kept = `{"kept":true}`
			c.Do(t, http.MethodPut, "/v1/session/data", kept).WantStatus(t, http.StatusOK)
			etag := c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK).Header.Get("ETag")
			for _, tc := range storetest.InvalidSessionData() {
				c.Do(t, http.MethodPut, "/v1/session/data", tc.JSON).WantError(t, http.StatusBadRequest, "invalid_request")
				c.Do(t, http.MethodPatch, "/v1/session/data", tc.JSON,
					"Content-Type", "application/merge-patch+json").WantError(t, http.StatusBadRequest, "invalid_request")
			}
			r := c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK)
			if r.Header.Get("ETag") != etag || !sameJSON(t, r.Body, []byte(kept)) {
				t.Fatalf("after refused writes: data %s, ETag %s; want %s, %s", r.Body, r.Header.Get("ETag"), kept, etag)
			}
			for _, tc := range storetest.ValidSessionData() {
				c.Do(t, http.MethodPut, "/v1/session/data", tc.JSON).WantStatus(t, http.StatusOK)
				r := c.Do(t, http.MethodGet, "/v1/session/data", nil).WantStatus(t, http.StatusOK)
				if !sameJSON(t, r.Body, []byte(tc.JSON)) {
					t.Errorf("%s: GET after PUT = %s, want the value of %s", tc.Name, r.Body, tc.JSON)
				}
				// What the backend serves back (PostgreSQL writes numbers
				// out in full) must pass the same checks on the next write.
				c.Do(t, http.MethodPatch, "/v1/session/data", `{"patched":1}`,
					"Content-Type", "application/merge-patch+json").WantStatus(t, http.StatusOK)
			}
		})
	}
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %q: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}
