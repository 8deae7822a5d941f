// Package metrics defines the Prometheus metrics Gatehouse exports on its
// operations listener, on a registry of its own (no global state).
package metrics

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	upstream *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	refused  *prometheus.CounterVec

	// Resolved children, so the hot path skips label hashing. The maps
	// are copied on write and read through atomic pointers: readers on
	// every core share no lock word to fight over.
	mu        sync.Mutex // serialises writers
	counters  atomic.Pointer[map[requestKey]prometheus.Counter]
	observers atomic.Pointer[map[string]prometheus.Observer]
}

type requestKey struct {
	route  string
	status int
}

// New registers the collectors. activeSessions is read at scrape time.
func New(activeSessions func() float64) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_requests_total",
			Help: "Requests handled, by route and response status.",
		}, []string{"route", "status"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_upstream_duration_seconds",
			Help:    "Time from forwarding a request to the upstream's response headers, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logins_total",
			Help: "Sign-in attempts, by method and result.",
		}, []string{"method", "result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_refused_requests_total",
			Help: "Unauthenticated requests refused without an audit event (rate limited, unknown provider, malformed), by endpoint and reason.",
		}, []string{"endpoint", "reason"}),
	}
	m.counters.Store(&map[requestKey]prometheus.Counter{})
	m.observers.Store(&map[string]prometheus.Observer{})
	reg.MustRegister(m.requests, m.upstream, m.logins, m.refused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if activeSessions != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_active_sessions",
			Help: "Sessions that have not expired.",
		}, activeSessions))
	}
	return m
}

// Request counts one response.
func (m *Metrics) Request(route string, status int) {
	k := requestKey{route, status}
	c, ok := (*m.counters.Load())[k]
	if !ok {
		c = child(&m.mu, &m.counters, k, func() prometheus.Counter {
			return m.requests.WithLabelValues(route, strconv.Itoa(status))
		})
	}
	c.Inc()
}

// Upstream records how long an upstream took.
func (m *Metrics) Upstream(route string, d time.Duration) {
	o, ok := (*m.observers.Load())[route]
	if !ok {
		o = child(&m.mu, &m.observers, route, func() prometheus.Observer {
			return m.upstream.WithLabelValues(route)
		})
	}
	o.Observe(d.Seconds())
}

// Login counts a sign-in attempt.
func (m *Metrics) Login(method, result string) {
	m.logins.WithLabelValues(method, result).Inc()
}

// Refused counts an unauthenticated request refused as noise: counted
// here rather than written to the audit log one row each, so a flood of
// them costs a counter. endpoint and reason must come from a fixed set,
// never from the request.
func (m *Metrics) Refused(endpoint, reason string) {
	m.refused.WithLabelValues(endpoint, reason).Inc()
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// child returns the resolved collector for k, resolving it with resolve and
// publishing a copy of the map that includes it when it is new.
func child[K comparable, V any](mu *sync.Mutex, p *atomic.Pointer[map[K]V], k K, resolve func() V) V {
	mu.Lock()
	defer mu.Unlock()
	old := *p.Load()
	if v, ok := old[k]; ok {
		return v
	}
	v := resolve()
	next := maps.Clone(old)
	next[k] = v
	p.Store(&next)
	return v
}
