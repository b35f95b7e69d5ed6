// Package metrics holds Gatehouse's Prometheus collectors in one registry
// owned by the server (no global registry), and serves them in the
// Prometheus text format.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the server's set of collectors. A scrape only reads values
// kept in memory: nothing a scraper does reaches a store.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	streams  prometheus.Gauge

	activeSessions func(ctx context.Context) (int, error)
	sessions       prometheus.Gauge
	sessionsAt     prometheus.Gauge
}

// New registers the collectors. activeSessions, if not nil, counts the
// live sessions; it is called by RefreshSessions (which the server runs
// on a timer), never by a scrape, so scrapes cost the same however many
// sessions there are and however often they come.
func New(activeSessions func(ctx context.Context) (int, error)) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logins_total",
			Help: "Login attempts by mode (session, token) and outcome (success, invalid_credentials, rate_limited, error).",
		}, []string{"mode", "outcome"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_revocation_streams_open",
			Help: "Open GET /v1/revocations/stream connections on this instance.",
		}),
		activeSessions: activeSessions,
	}
	m.registry.MustRegister(m.requests, m.latency, m.logins, m.streams,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if activeSessions != nil {
		m.sessions = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_active_sessions",
			Help: "Live session records (cookie sessions and token grants), as last counted; see gatehouse_active_sessions_counted_timestamp_seconds.",
		})
		m.sessionsAt = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_active_sessions_counted_timestamp_seconds",
			Help: "When gatehouse_active_sessions was last counted (Unix time); 0 before the first count.",
		})
		m.registry.MustRegister(m.sessions, m.sessionsAt)
	}
	return m
}

// RefreshSessions counts the live sessions now and keeps the number for
// scrapes. now is the time recorded as the count's. A failed count keeps
// the previous value (and its timestamp) and returns the error.
func (m *Metrics) RefreshSessions(ctx context.Context, now time.Time) error {
	if m.activeSessions == nil {
		return nil
	}
	n, err := m.activeSessions(ctx)
	if err != nil {
		return err
	}
	m.sessions.Set(float64(n))
	m.sessionsAt.Set(float64(now.Unix()))
	return nil
}

// StreamOpened and StreamClosed count the open revocation streams.
func (m *Metrics) StreamOpened() { m.streams.Inc() }

// StreamClosed counts a revocation stream that ended; see StreamOpened.
func (m *Metrics) StreamClosed() { m.streams.Dec() }

// ObserveRequest counts one answered request.
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Login counts one login attempt.
func (m *Metrics) Login(mode, outcome string) {
	m.logins.WithLabelValues(mode, outcome).Inc()
}

// Registry returns the registry, for collectors added by other packages.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
