package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRouteObserveMatchesObserveRequest records the same requests once
// through Route.Observe and once through ObserveRequest, and wants the
// same exposition, including no series for a route never observed.
func TestRouteObserveMatchesObserveRequest(t *testing.T) {
	type req struct {
		route, method string
		code          int
	}
	reqs := []req{
		{"GET /v1/me", "GET", 200},
		{"GET /v1/me", "HEAD", 200},
		{"GET /v1/me", "GET", 401},
		{"GET /v1/me", "GET", 200},
		{"unmatched", "BREW", 404},
	}
	// More methods than maxRouteSeries on one route: past the bound the
	// counts must still be right.
	for i := range maxRouteSeries + 5 {
		reqs = append(reqs, req{"unmatched", fmt.Sprintf("M%d", i), 405})
	}
	byCall, byRoute := New(nil), New(nil)
	routes := map[string]*Route{"GET /v1/me": byRoute.Route("GET /v1/me"), "unmatched": byRoute.Route("unmatched"), "GET /never": byRoute.Route("GET /never")}
	for _, r := range reqs {
		byCall.ObserveRequest(r.route, r.method, r.code, time.Millisecond)
		routes[r.route].Observe(r.method, r.code, time.Millisecond)
		routes[r.route].Observe(r.method, r.code, time.Millisecond)
		byCall.ObserveRequest(r.route, r.method, r.code, time.Millisecond)
	}
	want, got := httpLines(t, byCall), httpLines(t, byRoute)
	if got != want {
		t.Errorf("exposition differs:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(got, fmt.Sprintf(`method="M%d"`, maxRouteSeries+4)) || strings.Contains(got, "/never") {
		t.Errorf("exposition misses a series past the bound or has one for a route never observed:\n%s", got)
	}
}

// httpLines scrapes m and returns its gatehouse_http_ lines.
func httpLines(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	var out []string
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "gatehouse_http_") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// BenchmarkObserve compares recording one request through ObserveRequest
// and through a bound Route.
func BenchmarkObserve(b *testing.B) {
	m := New(nil)
	b.Run("ObserveRequest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.ObserveRequest("GET /v1/me", "GET", 200, time.Millisecond)
		}
	})
	r := m.Route("GET /v1/me")
	b.Run("Route", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Observe("GET", 200, time.Millisecond)
		}
	})
}
