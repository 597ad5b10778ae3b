package metrics

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the daemon's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	EventsReceived  *prometheus.CounterVec // source
	EventsEvaluated *prometheus.CounterVec // source
	EventsSkipped   *prometheus.CounterVec // source, reason
	Alerts          *prometheus.CounterVec // rule, priority

	OutputSent    *prometheus.CounterVec // output
	OutputFailed  *prometheus.CounterVec // output
	OutputDropped *prometheus.CounterVec // output, reason
	OutputQueued  *prometheus.GaugeVec   // output

	WebhookRequests *prometheus.CounterVec   // source, code
	WebhookLatency  *prometheus.HistogramVec // source
	SpoolBytes      *prometheus.GaugeVec     // source
	SourceSilent    *prometheus.GaugeVec     // source
	Reloads         *prometheus.CounterVec   // result

	mu      sync.Mutex
	sources map[string]*SourceClock
}

// New registers every metric on a new registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), sources: map[string]*SourceClock{}}
	m.EventsReceived = m.counter("peregrine_events_received_total", "Audit events a source received: decoded, or skipped for a reason counted in peregrine_events_skipped_total (unauthorized requests excepted).", "source")
	m.EventsEvaluated = m.counter("peregrine_events_evaluated_total", "Audit events evaluated against the rules.", "source")
	m.EventsSkipped = m.counter("peregrine_events_skipped_total", "Input skipped without evaluation, by reason (malformed, not-audit, no-timestamp, too-large, read-error, unauthorized).", "source", "reason")
	m.Alerts = m.counter("peregrine_alerts_total", "Alerts raised, by rule and priority.", "rule", "priority")
	m.OutputSent = m.counter("peregrine_output_sent_total", "Alerts an output accepted (written, or answered 2xx).", "output")
	m.OutputFailed = m.counter("peregrine_output_failed_total", "Failed attempts to deliver an alert to an output (each retry counts).", "output")
	m.OutputDropped = m.counter("peregrine_output_dropped_total", "Alerts an output never delivered: queue overflow with the drop policy, rate limit with the drop policy, or a permanent refusal.", "output", "reason")
	m.OutputQueued = m.gauge("peregrine_output_queued", "Alerts waiting in an output's queue.", "output")
	m.WebhookRequests = m.counter("peregrine_webhook_requests_total", "Webhook POSTs answered, by status code.", "source", "code")
	m.WebhookLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "peregrine_webhook_request_duration_seconds",
		Help:    "Time from a webhook request's arrival to its answer.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"source"})
	m.Registry.MustRegister(m.WebhookLatency)
	m.SpoolBytes = m.gauge("peregrine_spool_bytes", "Bytes in the webhook spool not yet delivered.", "source")
	m.SourceSilent = m.gauge("peregrine_source_silent", "1 while a source has received no event for longer than peregrine.source_silence.timeout.", "source")
	m.Reloads = m.counter("peregrine_config_reloads_total", "Configuration and rules reloads, by result (ok, failed).", "result")
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&clockCollector{m: m},
	)
	return m
}

func (m *Metrics) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.Registry.MustRegister(c)
	return c
}

func (m *Metrics) gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	m.Registry.MustRegister(g)
	return g
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Source returns the clock of a source, creating it on first use.
func (m *Metrics) Source(name string) *SourceClock {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.sources[name]
	if !ok {
		c = &SourceClock{name: name, started: time.Now().UnixNano()}
		m.sources[name] = c
	}
	return c
}

func (m *Metrics) clocks() []*SourceClock {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*SourceClock, 0, len(m.sources))
	for _, c := range m.sources {
		out = append(out, c)
	}
	return out
}

// Register registers c on r, or returns the collector already registered
// under its name: several sources of one kind, or a source restarted in
// tests, share their collectors. Any other clash is a programming error.
func Register[C prometheus.Collector](r *prometheus.Registry, c C) C {
	if err := r.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		panic(err)
	}
	return c
}
