// Package openapi holds Gatehouse's OpenAPI 3.1 document, openapi.json,
// which describes every endpoint the server serves. The server embeds it
// and serves it at GET /openapi.json; tests check it against the routes
// and against real answers, so it cannot drift from the code.
package openapi

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
)

//go:embed openapi.json
var document []byte

// Document returns the OpenAPI document (JSON). The caller must not
// modify it.
func Document() []byte { return document }

// ETag returns a strong entity tag of the document, for caching.
func ETag() string {
	sum := sha256.Sum256(document)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}
