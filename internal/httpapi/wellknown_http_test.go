package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// TestJWKSETag checks the key set's entity tag: strong, stable while the
// set is, a 304 without a body for a matching If-None-Match (a list, a
// weak form), a new tag once a rotation changes the set, and a 200 for
// the old tag then.
func TestJWKSETag(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	c := srv.NewClient()
	first := c.Do(t, http.MethodGet, "/.well-known/jwks.json", nil).WantStatus(t, http.StatusOK)
	tag := first.Header.Get("ETag")
	if len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		t.Fatalf("ETag %q, want a strong quoted tag", tag)
	}
	if again := c.Do(t, http.MethodGet, "/.well-known/jwks.json", nil); again.Header.Get("ETag") != tag || string(again.Body) != string(first.Body) {
		t.Errorf("second answer: ETag %q body %d bytes, want the first's", again.Header.Get("ETag"), len(again.Body))
	}
	for _, inm := range []string{tag, `"other", ` + tag, "W/" + tag, "*"} {
		r := c.Do(t, http.MethodGet, "/.well-known/jwks.json", nil, "If-None-Match", inm).WantStatus(t, http.StatusNotModified)
		if len(r.Body) != 0 || r.Header.Get("ETag") != tag || r.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("If-None-Match %s: body %q ETag %q Cache-Control %q", inm, r.Body, r.Header.Get("ETag"), r.Header.Get("Cache-Control"))
		}
	}
	c.Do(t, http.MethodGet, "/.well-known/jwks.json", nil, "If-None-Match", `"other"`).WantStatus(t, http.StatusOK)

	srv.Admin().Do(t, http.MethodPost, "/admin/v1/keys/rotate?alg=ES256&immediate=true", nil).WantStatus(t, http.StatusOK)
	after := c.Do(t, http.MethodGet, "/.well-known/jwks.json", nil, "If-None-Match", tag).WantStatus(t, http.StatusOK)
	if after.Header.Get("ETag") == tag || string(after.Body) == string(first.Body) {
		t.Errorf("after a rotation: ETag %q (was %q), body changed %v", after.Header.Get("ETag"), tag, string(after.Body) != string(first.Body))
	}
}

// TestDiscoveryFollowsRotation checks that the discovery document, encoded
// once and served as bytes, still lists an ID token algorithm a rotation
// adds, and is otherwise the same document.
func TestDiscoveryFollowsRotation(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	algs := func() (map[string]any, []string) {
		t.Helper()
		doc := srv.NewClient().Do(t, http.MethodGet, "/.well-known/openid-configuration", nil).WantStatus(t, http.StatusOK).JSON(t)
		var out []string
		for _, a := range doc["id_token_signing_alg_values_supported"].([]any) {
			out = append(out, a.(string))
		}
		return doc, out
	}
	before, was := algs()
	if slices.Contains(was, "ES256") {
		t.Skipf("ES256 already listed (%v): the rotation below would change nothing", was)
	}
	srv.Admin().Do(t, http.MethodPost, "/admin/v1/keys/rotate?alg=ES256&immediate=true", nil).WantStatus(t, http.StatusOK)
	after, now := algs()
	if !slices.Contains(now, "ES256") {
		t.Errorf("after an ES256 rotation the document lists %v", now)
	}
	delete(before, "id_token_signing_alg_values_supported")
	delete(after, "id_token_signing_alg_values_supported")
	if len(before) != len(after) {
		t.Errorf("the rest of the document changed: %d members, then %d", len(before), len(after))
	}
}
