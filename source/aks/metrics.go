package aks

import (
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-sec/peregrine/metrics"
)

// sourceMetrics are the AKS source's own metrics, beside the ones every
// source exports (received, evaluated, skipped by reason, lag seconds).
// Counters are shared by every AKS source on a registry (labelled by
// source); gauges are computed at scrape time from each source's state.
type sourceMetrics struct {
	records  *prometheus.CounterVec // source, category
	repeats  *prometheus.CounterVec // source
	lost     *prometheus.CounterVec // source
	errors   *prometheus.CounterVec // source, op
	registry *registered

	mu         sync.Mutex
	categories map[string]bool // label values in use, to bound them
}

func newSourceMetrics(m *metrics.Metrics) *sourceMetrics {
	return &sourceMetrics{
		records: counter(m, "peregrine_aks_records_total",
			"Diagnostic records read from Event Hubs, by category (kube-audit and kube-audit-admin are evaluated; the others are skipped).", "source", "category"),
		repeats: counter(m, "peregrine_aks_repeated_events_total",
			"Event Hubs messages received again after a restart, failover or partition steal: at or below the highest sequence number this process, or the partition's previous owner, had already received.", "source"),
		lost: counter(m, "peregrine_aks_partitions_lost_total",
			"Partitions another instance took over while this one was reading them.", "source"),
		errors: counter(m, "peregrine_aks_errors_total",
			"Failed Event Hubs or Blob Storage operations, by operation (processor, receive, checkpoint, probe); each is retried.", "source", "op"),
		registry:   collectorFor(m),
		categories: map[string]bool{},
	}
}

func counter(m *metrics.Metrics, name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	if err := m.Registry.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector.(*prometheus.CounterVec)
		}
		panic(err)
	}
	return c
}

// maxCategories bounds the category label: Azure defines about fifteen
// AKS categories; anything past this many distinct values is "other".
const maxCategories = 32

var categoryRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// category returns the label value for a record's category.
func (sm *sourceMetrics) category(c string) string {
	if c == "" {
		return "none"
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if sm.categories[c] {
		return c
	}
	if !categoryRE.MatchString(c) || len(sm.categories) >= maxCategories {
		return "other"
	}
	sm.categories[c] = true
	return c
}

// Scrape-time gauges.
var (
	ownedDesc = prometheus.NewDesc("peregrine_aks_partitions_owned",
		"Event Hubs partitions this instance reads now.", []string{"source"}, nil)
	lagDesc = prometheus.NewDesc("peregrine_aks_partition_lag_events",
		"Last enqueued sequence number of the partition minus the last one delivered (sampled every health_interval).", []string{"source", "partition"}, nil)
	ageDesc = prometheus.NewDesc("peregrine_aks_checkpoint_age_seconds",
		"Time since the partition's checkpoint was last brought up to date with what was delivered (written, or found current); it grows while writes fail.", []string{"source", "partition"}, nil)
	healthyDesc = prometheus.NewDesc("peregrine_aks_healthy",
		"1 while the source's Event Hubs and Blob Storage operations succeed; 0 while one fails and is being retried.", []string{"source"}, nil)
)

// registered is the one collector per registry that reports the gauges
// of every AKS source on it.
type registered struct {
	mu      sync.Mutex
	sources map[*Source]bool
}

var collectors sync.Map // *prometheus.Registry -> *registered

func collectorFor(m *metrics.Metrics) *registered {
	r, loaded := collectors.LoadOrStore(m.Registry, &registered{sources: map[*Source]bool{}})
	reg := r.(*registered)
	if !loaded {
		m.Registry.MustRegister(reg)
	}
	return reg
}

func (r *registered) add(s *Source)    { r.mu.Lock(); r.sources[s] = true; r.mu.Unlock() }
func (r *registered) remove(s *Source) { r.mu.Lock(); delete(r.sources, s); r.mu.Unlock() }

func (r *registered) Describe(ch chan<- *prometheus.Desc) {
	ch <- ownedDesc
	ch <- lagDesc
	ch <- ageDesc
	ch <- healthyDesc
}

func (r *registered) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	srcs := make([]*Source, 0, len(r.sources))
	for s := range r.sources {
		srcs = append(srcs, s)
	}
	r.mu.Unlock()
	now := time.Now()
	for _, s := range srcs {
		st := s.Status()
		healthy := 1.0
		if st.Err != nil {
			healthy = 0
		}
		ch <- prometheus.MustNewConstMetric(healthyDesc, prometheus.GaugeValue, healthy, s.name)
		ch <- prometheus.MustNewConstMetric(ownedDesc, prometheus.GaugeValue, float64(len(st.Partitions)), s.name)
		for _, p := range st.Partitions {
			if p.Lag >= 0 {
				ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(p.Lag), s.name, p.ID)
			}
			ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, now.Sub(p.CheckpointAt).Seconds(), s.name, p.ID)
		}
	}
}
