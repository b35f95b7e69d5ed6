package httpapi

import (
	"bytes"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/openapi"
)

// handleOpenAPI serves the OpenAPI 3.1 document that describes this API
// (docs/api.md). It is public and cacheable; ServeContent answers
// If-None-Match with 304.
func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", openapi.ETag())
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(openapi.Document()))
}
