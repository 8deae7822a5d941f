// Package metrics defines the Prometheus metrics Gatehouse exports on its
// operations listener, on a registry of its own (no global state).
package metrics

import (
	"net/http"
	"strconv"
	"sync"
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

	// Resolved children, so the hot path skips label hashing.
	mu        sync.RWMutex
	counters  map[requestKey]prometheus.Counter
	observers map[string]prometheus.Observer
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
		counters:  map[requestKey]prometheus.Counter{},
		observers: map[string]prometheus.Observer{},
	}
	reg.MustRegister(m.requests, m.upstream, m.logins,
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
	m.mu.RLock()
	c, ok := m.counters[k]
	m.mu.RUnlock()
	if !ok {
		c = m.requests.WithLabelValues(route, strconv.Itoa(status))
		m.mu.Lock()
		m.counters[k] = c
		m.mu.Unlock()
	}
	c.Inc()
}

// Upstream records how long an upstream took.
func (m *Metrics) Upstream(route string, d time.Duration) {
	m.mu.RLock()
	o, ok := m.observers[route]
	m.mu.RUnlock()
	if !ok {
		o = m.upstream.WithLabelValues(route)
		m.mu.Lock()
		m.observers[route] = o
		m.mu.Unlock()
	}
	o.Observe(d.Seconds())
}

// Login counts a sign-in attempt.
func (m *Metrics) Login(method, result string) {
	m.logins.WithLabelValues(method, result).Inc()
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
