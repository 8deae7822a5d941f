package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ProviderHealth is one identity provider's health at scrape time.
type ProviderHealth struct {
	ID                  string
	Enabled             bool
	DiscoveryOK, JWKSOK bool
	LastSuccess         time.Time
	LastFailure         time.Time
	Successes, Failures int
}

var (
	providerUp = prometheus.NewDesc("gatehouse_provider_up",
		"1 when the identity provider is enabled and its discovery document and key set answered the last probe.", []string{"provider"}, nil)
	providerDiscovery = prometheus.NewDesc("gatehouse_provider_discovery_ok",
		"1 when the identity provider's discovery document answered the last probe.", []string{"provider"}, nil)
	providerJWKS = prometheus.NewDesc("gatehouse_provider_jwks_ok",
		"1 when the identity provider's key set answered the last probe with a usable key.", []string{"provider"}, nil)
	providerLastSuccess = prometheus.NewDesc("gatehouse_provider_last_success_timestamp_seconds",
		"When a sign-in through the identity provider last started a session (0: not since this process started).", []string{"provider"}, nil)
	providerLastFailure = prometheus.NewDesc("gatehouse_provider_last_failure_timestamp_seconds",
		"When a sign-in through the identity provider last failed (0: not since this process started).", []string{"provider"}, nil)
	providerSignIns = prometheus.NewDesc("gatehouse_provider_signins_total",
		"Sign-ins through the identity provider since this process started, by result.", []string{"provider", "result"}, nil)
)

// providerCollector reads the providers' health at each scrape, so
// providers added or removed while the gateway runs come and go.
type providerCollector struct{ snapshot func() []ProviderHealth }

func (c providerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{providerUp, providerDiscovery, providerJWKS, providerLastSuccess, providerLastFailure, providerSignIns} {
		ch <- d
	}
}

func (c providerCollector) Collect(ch chan<- prometheus.Metric) {
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	stamp := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixNano()) / 1e9
	}
	for _, p := range c.snapshot() {
		ch <- prometheus.MustNewConstMetric(providerUp, prometheus.GaugeValue, flag(p.Enabled && p.DiscoveryOK && p.JWKSOK), p.ID)
		ch <- prometheus.MustNewConstMetric(providerDiscovery, prometheus.GaugeValue, flag(p.DiscoveryOK), p.ID)
		ch <- prometheus.MustNewConstMetric(providerJWKS, prometheus.GaugeValue, flag(p.JWKSOK), p.ID)
		ch <- prometheus.MustNewConstMetric(providerLastSuccess, prometheus.GaugeValue, stamp(p.LastSuccess), p.ID)
		ch <- prometheus.MustNewConstMetric(providerLastFailure, prometheus.GaugeValue, stamp(p.LastFailure), p.ID)
		ch <- prometheus.MustNewConstMetric(providerSignIns, prometheus.CounterValue, float64(p.Successes), p.ID, "success")
		ch <- prometheus.MustNewConstMetric(providerSignIns, prometheus.CounterValue, float64(p.Failures), p.ID, "failure")
	}
}

// Providers exports the identity providers' health, read from snapshot
// at every scrape.
func (m *Metrics) Providers(snapshot func() []ProviderHealth) {
	m.Registry.MustRegister(providerCollector{snapshot: snapshot})
}
