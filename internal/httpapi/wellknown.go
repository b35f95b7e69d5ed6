package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/gatehouse-auth/gatehouse/jose"
)

// encodedDiscovery is the discovery document encoded once, with the ID
// token algorithms it was built with: the only part of it that changes
// while the server runs (a key rotation can add an algorithm).
type encodedDiscovery struct {
	algs []jose.Algorithm
	body []byte
}

// discoveryHandler serves the discovery document from bytes encoded once,
// and again only when the ID token algorithms change: the answer is
// byte for byte what writeJSON(s.discovery()) writes.
func (s *Server) discoveryHandler() http.HandlerFunc {
	var cached atomic.Pointer[encodedDiscovery]
	return func(w http.ResponseWriter, r *http.Request) {
		var algs []jose.Algorithm
		if s.deps.Authorize != nil && s.deps.IDTokens != nil {
			algs = s.deps.IDTokens.Algorithms()
		}
		d := cached.Load()
		if d == nil || !slices.Equal(d.algs, algs) {
			body, err := json.Marshal(s.discovery())
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			d = &encodedDiscovery{algs: algs, body: append(body, '\n')}
			cached.Store(d)
		}
		w.Header()["Cache-Control"] = hdrPublicFiveMinutes
		w.Header()["Content-Type"] = hdrJSONContent
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(d.body)
	}
}

// taggedJWKS is a key set's bytes and their entity tag.
type taggedJWKS struct {
	body []byte
	etag []string // the ETag header value, "\"<base64url SHA-256>\""
}

var hdrJWKSContent = []string{"application/jwk-set+json"}

// hdrPublicFiveMinutes is the Cache-Control of the key set and discovery:
// shared like the values of middleware.go, not allocated per request.
var hdrPublicFiveMinutes = []string{"public, max-age=300"}

// jwksHandler serves the key set with a strong ETag derived from its
// bytes (so every instance with the same keys sends the same tag), and
// answers a matching If-None-Match with 304. The tag is computed again
// only when the key service hands out a different slice, which it does
// when the set changes. Verifiers may cache the set briefly; they
// refetch on an unknown kid, and a new key signs only after it is listed.
func (s *Server) jwksHandler() http.HandlerFunc {
	var cached atomic.Pointer[taggedJWKS]
	return func(w http.ResponseWriter, r *http.Request) {
		b := s.deps.Keys.JWKS()
		t := cached.Load()
		if t == nil || !sameSlice(t.body, b) {
			sum := sha256.Sum256(b)
			t = &taggedJWKS{body: b, etag: []string{`"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`}}
			cached.Store(t)
		}
		h := w.Header()
		h["Cache-Control"] = hdrPublicFiveMinutes
		h["Content-Type"] = hdrJWKSContent
		h["Etag"] = t.etag
		if inm := r.Header.Get("If-None-Match"); inm != "" && MatchETag(inm, t.etag[0], true) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	}
}

// sameSlice reports whether a and b are the same slice (same array, same
// length), not merely equal bytes.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
