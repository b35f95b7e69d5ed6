package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/openapi"
)

// openAPIOperations returns the operations of the embedded OpenAPI
// document as "METHOD /path" patterns, the form the router registers.
func openAPIOperations(t *testing.T) []string {
	t.Helper()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi.json is OpenAPI %q, want 3.1.x", doc.OpenAPI)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// TestOpenAPICoversEveryRoute checks that every route the router
// registers, with every optional part of the server switched on, is an
// operation of the OpenAPI document, and that the document describes no
// route the server does not serve.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	routes := srv.App.API.Routes()
	for _, r := range routes {
		if !strings.Contains(r, " ") {
			t.Errorf("route %q has no method: the document cannot describe it", r)
		}
	}
	slices.Sort(routes)
	ops := openAPIOperations(t)
	for _, r := range routes {
		if _, found := slices.BinarySearch(ops, r); !found {
			t.Errorf("route %q is served but not in openapi.json", r)
		}
	}
	for _, op := range ops {
		if _, found := slices.BinarySearch(routes, op); !found {
			t.Errorf("openapi.json describes %q, which the server does not serve", op)
		}
	}
	if len(routes) < 40 {
		t.Errorf("only %d routes registered: an optional part of the server is off in this test", len(routes))
	}
}

// TestOpenAPIServed checks GET /openapi.json: the embedded document, as
// cacheable JSON with an ETag that answers If-None-Match.
func TestOpenAPIServed(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	c := srv.NewClient()
	res := c.Do(t, http.MethodGet, "/openapi.json", nil).WantStatus(t, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "public") {
		t.Errorf("Cache-Control = %q, want public", cc)
	}
	if string(res.Body) != string(openapi.Document()) {
		t.Error("the body is not the embedded document")
	}
	tag := res.Header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	c.Do(t, http.MethodGet, "/openapi.json", nil, "If-None-Match", tag).WantStatus(t, http.StatusNotModified)
}
