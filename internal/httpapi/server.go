package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	template "github.com/DataDog/datadog-agent/pkg/template/html"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/webhook"
)

// BearerAuthenticator turns a bearer token into a principal. The token
// service implements it; a nil one rejects every bearer token.
type BearerAuthenticator interface {
	// AuthenticateBearer verifies token and returns its principal, or an
	// error if the token is not acceptable (bad signature, expired,
	// revoked). It must not trust anything the token says about how to
	// verify it.
	AuthenticateBearer(ctx context.Context, token string) (authn.Principal, error)
}

// Config is what the HTTP layer needs to know about the deployment.
type Config struct {
	// Issuer is the public base URL; its origin is always trusted.
	Issuer string
	// TrustedOrigins are further origins allowed for CSRF and CORS.
	TrustedOrigins []string
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// SecureCookies makes the session cookie Secure and __Host- prefixed.
	SecureCookies bool
	// AdminTokenHash is the SHA-256 of the admin token.
	AdminTokenHash [32]byte
	// MaxStreams bounds the open revocation streams; 0 means no limit.
	MaxStreams int
	// MaxStreamsPerClient bounds them per client address (IPv6: per /64);
	// 0 means no limit.
	MaxStreamsPerClient int
}

// Deps are the domain services the handlers call. Every route is
// mounted; all but Metrics, Log, Ready and Now are required (a test that
// leaves one nil must not call the routes that use it).
type Deps struct {
	// Accounts owns the account rules: signup, login, logout and the
	// administrative changes to users.
	Accounts *accounts.Service
	// Users serves the reads of users (the admin listing, /v1/me).
	Users    *identity.Service
	Sessions *session.Manager
	Bearer   BearerAuthenticator
	// TokenService, Keys and Revocations serve the JWT endpoints.
	TokenService TokenService
	Keys         KeyService
	Revocations  RevocationFeed
	// OAuth serves POST /oauth2/token, and its client registry
	// authenticates clients at the revocation and introspection endpoints
	// and serves /admin/v1/clients.
	OAuth *oauth.TokenEndpoint
	// Authorize serves the authorization endpoint, the login and consent
	// pages, end_session and /v1/consents; with IDTokens, which signs and
	// checks ID tokens.
	Authorize *oauth.Authorizer
	IDTokens  *oauth.IDTokens
	// Webhooks serves /admin/v1/webhooks; nil leaves those routes out.
	Webhooks *webhook.Endpoints
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	// Events is the audit trail, served at GET /admin/v1/events and GET
	// /v1/me/events; nil answers them 404.
	Events store.EventStore
	// Ready reports whether the stores answer, for /readyz.
	Ready func(ctx context.Context) error
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	now     func() time.Time
	origins map[string]bool
	handler http.Handler
	mux     *routeMux
	// closing is closed by CloseStreams: long-lived streams end.
	closing   chan struct{}
	closeOnce sync.Once
	// buffers are scratch buffers (*[]byte) of at most maxPooledBuffer:
	// the answers encoded by hand (/v1/me and introspection,
	// writeAppended) and the form bodies (readForm).
	buffers sync.Pool
	// pages returns the parsed page templates, parsing them once.
	pages func() *template.Template
}

// CloseStreams ends the long-lived event streams, so a graceful shutdown
// does not wait for clients that would never hang up. Pass it to
// http.Server.RegisterOnShutdown.
func (s *Server) CloseStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// New builds the server and its routes.
func New(cfg Config, deps Deps) *Server {
	s := &Server{cfg: cfg, deps: deps, log: deps.Log, now: deps.Now, origins: map[string]bool{}, closing: make(chan struct{}),
		buffers: sync.Pool{New: newPooledBuffer}, pages: sync.OnceValue(parsePages)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if o := originOf(cfg.Issuer); o != "" {
		s.origins[o] = true
	}
	for _, o := range cfg.TrustedOrigins {
		s.origins[o] = true
	}
	s.mux = &routeMux{ServeMux: http.NewServeMux()}
	s.routes()
	s.handler = s.auditSource(s.recoverer(s.observe(s.securityHeaders(s.cors(s.jsonFallback(s.mux.ServeMux))))))
	return s
}

// Routes lists the patterns registered on the router ("GET /v1/me"), in
// registration order: the OpenAPI test compares them with the document.
func (s *Server) Routes() []string { return slices.Clone(s.mux.patterns) }

// routeMux is a ServeMux that remembers the patterns registered on it.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// Handle registers h for pattern and records the pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	m.patterns = append(m.patterns, pattern)
}

// HandleFunc registers f for pattern and records the pattern.
func (m *routeMux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)
	m.HandleFunc("GET /favicon.ico", s.handleFavicon)
	m.HandleFunc("GET /openapi.json", handleOpenAPI)
	if s.deps.Metrics != nil {
		// On the API listener metrics are for administrators; the
		// separate metrics listener (MetricsHandler) serves them openly.
		m.Handle("GET /metrics", s.admin(s.deps.Metrics.Handler().ServeHTTP))
	}

	m.HandleFunc("POST /v1/signup", s.handleSignup)
	m.HandleFunc("POST /v1/login", s.handleLogin)
	m.Handle("POST /v1/logout", s.enrolling(s.handleLogout))
	m.Handle("GET /v1/me", s.enrolling(s.handleMe))

	m.Handle("GET /v1/session", s.enrolling(s.handleGetSession))
	m.Handle("GET /v1/sessions", s.user(s.handleListSessions))
	m.Handle("DELETE /v1/sessions/{id}", s.user(s.handleDeleteSession))
	m.Handle("DELETE /v1/sessions", s.user(s.handleDeleteOtherSessions))
	m.Handle("GET /v1/session/data", s.user(s.handleGetData))
	m.Handle("PUT /v1/session/data", s.user(s.handlePutData))
	m.Handle("PATCH /v1/session/data", s.user(s.handlePatchData))

	m.Handle("POST /admin/v1/users", s.admin(s.handleAdminCreateUser))
	m.Handle("GET /admin/v1/users", s.admin(s.handleAdminListUsers))
	m.Handle("GET /admin/v1/users/{id}", s.admin(s.handleAdminGetUser))
	m.Handle("PATCH /admin/v1/users/{id}", s.admin(s.handleAdminPatchUser))
	m.Handle("DELETE /admin/v1/users/{id}", s.admin(s.handleAdminDeleteUser))
	m.Handle("GET /admin/v1/users/{id}/sessions", s.admin(s.handleAdminListSessions))
	m.Handle("DELETE /admin/v1/users/{id}/sessions", s.admin(s.handleAdminDeleteSessions))

	s.lifecycleRoutes()
	s.clientRoutes()
	s.webhookRoutes()
	s.tokenRoutes()
	s.userinfoRoutes()
	s.mfaRoutes()
	s.passkeyRoutes()
	s.passkeyPageRoutes()
	s.eventRoutes()
	s.authorizeRoutes()
	s.linkPageRoutes()
	s.accountRoutes()
	s.mfaPageRoutes()
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.deps.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.deps.Ready(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// isAdminToken reports in constant time whether token is the admin token.
func (s *Server) isAdminToken(token string) bool {
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], s.cfg.AdminTokenHash[:]) == 1
}
