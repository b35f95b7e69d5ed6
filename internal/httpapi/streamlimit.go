package httpapi

import (
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// streamRetryAfter is the Retry-After of a refused stream: a verifier
// falls back to polling the feed meanwhile.
const streamRetryAfter = 30 * time.Second

// streamLimiter bounds the long-lived revocation streams: each holds a
// connection, a goroutine and a subscription for as long as the client
// keeps it open, and the endpoint needs no credentials.
type streamLimiter struct {
	max, perClient int

	mu    sync.Mutex
	total int
	by    map[string]int
}

// acquire takes a slot for client, or answers why not: errStreamsFull
// when the instance is at its limit, errStreamsPerClient when the client
// is. The returned release gives the slot back.
func (l *streamLimiter) acquire(client string) (release func(), err *apiError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.total >= l.max {
		return nil, errStreamsFull
	}
	if l.perClient > 0 && l.by[client] >= l.perClient {
		return nil, errStreamsPerClient
	}
	l.total++
	l.by[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.by[client]--; l.by[client] <= 0 {
				delete(l.by, client)
			}
		})
	}, nil
}

var (
	errStreamsFull      = &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Description: "too many open revocation streams on this server; poll GET /v1/revocations meanwhile", RetryAfter: streamRetryAfter}
	errStreamsPerClient = &apiError{Status: http.StatusTooManyRequests, Code: codeRateLimited, Description: "too many open revocation streams from this address", RetryAfter: streamRetryAfter}
)

// limitStreams wraps the revocation stream handler: beyond the server's
// limits (Config.MaxStreams in all, Config.MaxStreamsPerClient per client
// address as clientIP reads it, behind trusted proxies) a new stream is
// refused at once, before anything is subscribed. It also keeps the open
// streams gauge.
func (s *Server) limitStreams(next http.Handler) http.Handler {
	l := &streamLimiter{max: s.cfg.MaxStreams, perClient: s.cfg.MaxStreamsPerClient, by: map[string]int{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, err := l.acquire(streamClientKey(s.clientIP(r)))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer release()
		if m := s.deps.Metrics; m != nil {
			m.StreamOpened()
			defer m.StreamClosed()
		}
		next.ServeHTTP(w, r)
	})
}

// streamClientKey is the key a client address is limited under: the
// address itself for IPv4, its /64 for IPv6, which one host commonly
// holds whole.
func streamClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 host, not
	// a member of the one /64 all such addresses share.
	if a = a.Unmap(); !a.Is6() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
