package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SourceClock records when a source last received an event and the event
// time of the newest event evaluated, for the lag and silence metrics.
// Its methods are cheap atomic stores, safe from any goroutine.
type SourceClock struct {
	name     string
	started  int64        // when the clock was made, ns: silence counts from here
	received atomic.Int64 // wall clock of the last event received, ns
	newest   atomic.Int64 // event time of the newest evaluated event, ns
}

// Received notes that the source just received events.
func (c *SourceClock) Received(now time.Time) { c.received.Store(now.UnixNano()) }

// Evaluated notes an evaluated event's time (stageTimestamp, ns).
func (c *SourceClock) Evaluated(eventTime int64) {
	for {
		old := c.newest.Load()
		if eventTime <= old || c.newest.CompareAndSwap(old, eventTime) {
			return
		}
	}
}

// LastReceived returns when the source last received an event; the time
// the clock was made when it never did.
func (c *SourceClock) LastReceived() time.Time {
	if r := c.received.Load(); r != 0 {
		return time.Unix(0, r)
	}
	return time.Unix(0, c.started)
}

// Lag is now minus the event time of the newest evaluated event (0 before
// the first one).
func (c *SourceClock) Lag(now time.Time) time.Duration {
	n := c.newest.Load()
	if n == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, n))
}

var (
	lagDesc = prometheus.NewDesc("peregrine_source_lag_seconds",
		"Now minus the event time (stageTimestamp) of the newest evaluated event of the source.", []string{"source"}, nil)
	lastDesc = prometheus.NewDesc("peregrine_source_last_event_received_timestamp_seconds",
		"Unix time when the source last received an event (its start time until the first one).", []string{"source"}, nil)
)

// clockCollector computes the clock gauges at scrape time, so a source
// that went silent shows a growing lag without anyone updating it.
type clockCollector struct{ m *Metrics }

func (c *clockCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- lastDesc
}

func (c *clockCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, s := range c.m.clocks() {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, s.Lag(now).Seconds(), s.name)
		last := float64(s.LastReceived().UnixNano()) / 1e9
		ch <- prometheus.MustNewConstMetric(lastDesc, prometheus.GaugeValue, last, s.name)
	}
}
