package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

// recoverer turns a panic into a 500 server_error and logs it with its
// stack; the panic value never reaches the client.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "route", r.Pattern, "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, errorBody{Error: codeServerError, Description: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code written. It is the one
// per-request wrapper of the chain: observe makes it, and jsonFallback
// uses it to turn the router's own error answers into JSON.
type statusWriter struct {
	http.ResponseWriter
	status int
	// routing, set by jsonFallback, is the request the router is serving.
	// The router sets its Pattern before it calls a matched handler; an
	// answer that starts while the pattern is still empty is the router's
	// own 404 or 405, and the contract's JSON error replaces it.
	routing *http.Request
	// replaced is set once that JSON error is written; the router's
	// plain-text body is then dropped.
	replaced bool
}

// unrouted reports whether the answer being written is the router's own.
func (w *statusWriter) unrouted() bool { return w.routing != nil && w.routing.Pattern == "" }

func (w *statusWriter) WriteHeader(code int) {
	if w.unrouted() {
		w.replaceError(code)
		return
	}
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.unrouted() {
		w.replaceError(http.StatusNotFound)
		return len(b), nil
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// replaceError writes the JSON error for the router's answer with code,
// once.
func (w *statusWriter) replaceError(code int) {
	if w.replaced {
		return
	}
	w.replaced = true
	body := errorBody{Error: codeNotFound, Description: "not found"}
	if code == http.StatusMethodNotAllowed {
		body = errorBody{Error: codeMethodNotAllowed, Description: "method not allowed"}
	}
	if w.status == 0 {
		w.status = code
	}
	writeJSON(w.ResponseWriter, code, body)
}

// Unwrap lets http.ResponseController reach the underlying writer
// (flushing server-sent events, extending deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ActorAdminToken is the audit trail's actor id of the admin token (an
// admin-scoped client is named by its client id).
const ActorAdminToken = "admin-token"

// auditSource puts the request's client address (after the trusted-proxy
// rules) and user agent into the context of every request that may
// change something (audit.WithSource), for the audit events the domain
// services record. Safe methods skip it, so that the hot reads pay
// nothing, except the RP-initiated logout, which a GET may perform. It
// is the outermost middleware: the request it makes is the one the
// router sets its Pattern on, which observe and recoverer read.
func (s *Server) auditSource(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if changes(r) {
			r = r.WithContext(audit.WithSource(r.Context(), audit.Source{IP: s.clientIP(r), UserAgent: r.UserAgent()}))
		}
		next.ServeHTTP(w, r)
	})
}

// changes reports whether r may change state and so cause audit events.
func changes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return r.URL.Path == "/oauth2/logout"
	}
	return true
}

// withPrincipal returns r for the handler of principal p: on requests
// that may change something, with a context carrying p and the audit
// actor a, which the domain services record; safe requests are returned
// as they are, because their handlers take p as an argument and nothing
// they call reads the context's principal (a request copy per GET cost
// the hot reads an allocation of the whole request; issue #18).
func withPrincipal(r *http.Request, p authn.Principal, a audit.Actor) *http.Request {
	if !changes(r) {
		return r
	}
	return r.WithContext(audit.WithActor(authn.WithPrincipal(r.Context(), p), a))
}

// observe records metrics and one access-log line per request. It logs
// the path but never the query string, which may carry codes or tokens.
// The metric label values of every route registered so far are bound
// here, once; the log line's fields are only computed when debug logging
// is on.
func (s *Server) observe(next http.Handler) http.Handler {
	var routes map[string]*metrics.Route
	if s.deps.Metrics != nil {
		routes = make(map[string]*metrics.Route, len(s.mux.patterns)+1)
		for _, p := range append(s.mux.patterns, routeUnmatched) {
			routes[p] = s.deps.Metrics.Route(p)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = routeUnmatched
		}
		if s.deps.Metrics != nil {
			if m := routes[route]; m != nil {
				m.Observe(r.Method, sw.status, d)
			} else {
				s.deps.Metrics.ObserveRequest(route, r.Method, sw.status, d)
			}
		}
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "route", route,
				"status", sw.status, "duration_ms", float64(d.Microseconds())/1000, "client", s.clientIP(r))
		}
	})
}

// routeUnmatched is the route label of requests no pattern matched.
const routeUnmatched = "unmatched"

// Header values every answer carries, shared by all requests instead of
// allocated per request. Each slice has len == cap, so Header.Add copies
// it before appending, and Header.Set replaces it: no handler can change
// what another request sends. Nothing in the server writes into a header
// value slice in place.
var (
	hdrNosniff    = []string{"nosniff"}
	hdrNoReferrer = []string{"no-referrer"}
	hdrFrameDeny  = []string{"DENY"}
	hdrCSP        = []string{"default-src 'none'; frame-ancestors 'none'"}
	hdrNoStore    = []string{"no-store"}
	// hdrPragmaNoCache goes with the token endpoints' answers (RFC 6749
	// §5.1 asks for Cache-Control: no-store and Pragma: no-cache).
	hdrPragmaNoCache = []string{"no-cache"}
	hdrHSTS          = []string{"max-age=31536000"}
	hdrVaryOrigin    = []string{"Origin"}
	hdrJSONContent   = []string{"application/json"}
)

// securityHeaders sets the headers every answer carries. API answers are
// never cached: most of them carry a secret or personal data.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	hsts := s.cfg.SecureCookies
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = hdrNosniff
		h["Referrer-Policy"] = hdrNoReferrer
		h["X-Frame-Options"] = hdrFrameDeny
		h["Content-Security-Policy"] = hdrCSP
		h["Cache-Control"] = hdrNoStore
		if hsts {
			h["Strict-Transport-Security"] = hdrHSTS
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers CORS preflights and marks answers readable for the issuer's
// origin and the trusted ones, with credentials. Other origins get no CORS
// headers, so browsers keep their answers from scripts.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		if v := h["Vary"]; len(v) == 0 {
			h["Vary"] = hdrVaryOrigin
		} else {
			h["Vary"] = append(v, "Origin")
		}
		if origin != "" && s.origins[origin] {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", "ETag, Retry-After, WWW-Authenticate")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-None-Match, X-CSRF-Token")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// jsonFallback makes the router's own 404 and 405 answers JSON errors.
// The request is routed once: the statusWriter notices an answer that
// starts before the router has set a pattern (see statusWriter.routing).
func (s *Server) jsonFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, ok := w.(*statusWriter)
		if !ok {
			sw = &statusWriter{ResponseWriter: w}
		}
		sw.routing = r
		mux.ServeHTTP(sw, r)
	})
}

// clientIP returns the client's address: the connection's, or, when that
// is a trusted proxy, the right-most X-Forwarded-For entry that is not a
// trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		if a, err2 := netip.ParseAddr(r.RemoteAddr); err2 == nil {
			return a.Unmap().String()
		}
		return r.RemoteAddr
	}
	addr := remote.Addr().Unmap()
	if len(s.cfg.TrustedProxies) == 0 || !s.trustedProxy(addr) {
		return addr.String()
	}
	if a, ok := ForwardedFor(r.Header.Values("X-Forwarded-For"), s.trustedProxy); ok {
		return a.String()
	}
	return addr.String()
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ForwardedFor returns the client address from X-Forwarded-For header
// values: walking from the right, the first address that trusted does not
// accept. Entries that are not IP addresses end the walk (ok is false
// then, unless an address was already found).
func ForwardedFor(values []string, trusted func(netip.Addr) bool) (netip.Addr, bool) {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false
		}
		a = a.Unmap()
		if !trusted(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// originOf returns the origin of a URL as browsers send it in an Origin
// header (config.SerializeOrigin), or "" if it has none.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return config.SerializeOrigin(u)
}
