package eks

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-sec/peregrine/metrics"
)

// Metrics an EKS source exports besides the ones every source shares
// (events received, evaluated, skipped, peregrine_source_lag_seconds).
// They are registered on the daemon's registry on first use; the metrics
// package is shared, so the CloudWatch specifics stay here.
type sourceMetrics struct {
	calls, throttles, read, dups, late, recovered prometheus.Counter
	errors                                        *prometheus.CounterVec // by kind
	readLag, ids                                  prometheus.Gauge
}

func newSourceMetrics(m *metrics.Metrics, name string) *sourceMetrics {
	r := m.Registry
	c := func(n, help string) prometheus.Counter {
		return metrics.Register(r, prometheus.NewCounterVec(prometheus.CounterOpts{Name: n, Help: help}, []string{"source"})).WithLabelValues(name)
	}
	g := func(n, help string) prometheus.Gauge {
		return metrics.Register(r, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: n, Help: help}, []string{"source"})).WithLabelValues(name)
	}
	return &sourceMetrics{
		calls:     c("peregrine_cloudwatch_api_calls_total", "CloudWatch Logs FilterLogEvents requests made (each retry counts)."),
		throttles: c("peregrine_cloudwatch_throttles_total", "FilterLogEvents requests refused with ThrottlingException or LimitExceededException (retried)."),
		read:      c("peregrine_cloudwatch_events_read_total", "Log events CloudWatch returned, repeats included."),
		dups:      c("peregrine_cloudwatch_duplicates_total", "Log events returned again (overlap re-reads, repeats across pages), dropped by eventId."),
		late: c("peregrine_cloudwatch_late_events_total",
			"Log events ingested later after their timestamp than the overlap window: events this late can be missed; raise init_config.overlap."),
		recovered: c("peregrine_cloudwatch_recovered_events_total",
			"Log events older than the newest one already read, found by re-reading the overlap (upstream's plugin loses these)."),
		errors: metrics.Register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peregrine_cloudwatch_api_errors_total",
			Help: "FilterLogEvents failures other than throttling, by kind (transient: network and 5xx; other: refused, e.g. access denied or no such log group), all retried.",
		}, []string{"source", "kind"})).MustCurryWith(prometheus.Labels{"source": name}),
		readLag: g("peregrine_cloudwatch_read_lag_seconds", "Now minus the CloudWatch timestamp of the newest log event read, after each poll."),
		ids:     g("peregrine_cloudwatch_window_ids", "Event ids held to recognise re-reads (about 100 bytes each)."),
	}
}
