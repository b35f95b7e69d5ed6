package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxRouteSeries bounds the (method, code) counters a Route keeps bound;
// past it, ObserveRequest looks the series up in the vector each time, as
// it always did. Methods are the client's choice on unmatched requests,
// so the bound keeps the cache from growing with them.
const maxRouteSeries = 32

// Route is the request metrics of one route pattern with the label values
// bound once, so that recording a request hashes no label values and
// allocates nothing (ObserveRequest costs a vector lookup per label set
// and formats the status code on every call). Series appear in the
// exposition only once observed, exactly as with ObserveRequest.
type Route struct {
	m     *Metrics
	route string

	latencyOnce sync.Once
	latency     prometheus.Observer

	mu     sync.Mutex // serializes writers of counts
	counts atomic.Pointer[map[routeSeries]prometheus.Counter]
}

// routeSeries is the labels of a request counter beside the route.
type routeSeries struct {
	method string
	code   int
}

// Route returns the metrics of route, for Observe. Call it once per route
// (at start-up) and keep the result.
func (m *Metrics) Route(route string) *Route {
	return &Route{m: m, route: route}
}

// Observe counts one answered request of the route and its duration; it
// records exactly what ObserveRequest(route, method, code, d) records.
func (r *Route) Observe(method string, code int, d time.Duration) {
	r.latencyOnce.Do(func() { r.latency = r.m.latency.WithLabelValues(r.route) })
	r.counter(method, code).Inc()
	r.latency.Observe(d.Seconds())
}

// counter returns the request counter of (method, code), bound on first
// use; copy on write keeps reads free of locks.
func (r *Route) counter(method string, code int) prometheus.Counter {
	k := routeSeries{method, code}
	if p := r.counts.Load(); p != nil {
		if c, ok := (*p)[k]; ok {
			return c
		}
	}
	c := r.m.requests.WithLabelValues(r.route, method, strconv.Itoa(code))
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.counts.Load()
	if old != nil && len(*old) >= maxRouteSeries {
		return c
	}
	next := make(map[routeSeries]prometheus.Counter, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[k] = c
	r.counts.Store(&next)
	return c
}

func lenOf(p *map[routeSeries]prometheus.Counter) int {
	if p == nil {
		return 0
	}
	return len(*p)
}
