package gke

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-sec/peregrine/metrics"
)

// sourceMetrics are the GKE source's own metrics, beside the shared
// received/evaluated/skipped ones, labelled with the source name. They
// are registered on the daemon's registry the first time a GKE source
// opens; later sources reuse them.
type sourceMetrics struct {
	received, acked, nacked, converted prometheus.Counter
	dropped                            *prometheus.CounterVec // reason
	redelivered                        *prometheus.CounterVec // kind: message, entry
	metadata                           *prometheus.CounterVec // result: ok, error, denied
	ackLatency                         prometheus.Observer
}

func newSourceMetrics(m *metrics.Metrics, name string) *sourceMetrics {
	r := m.Registry
	c := func(n, help string, labels ...string) *prometheus.CounterVec {
		return metrics.Register(r, prometheus.NewCounterVec(prometheus.CounterOpts{Name: n, Help: help}, append([]string{"source"}, labels...)))
	}
	lat := metrics.Register(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "peregrine_gke_ack_latency_seconds",
		Help:    "Time from a Pub/Sub message's receipt to its ack: conversion, evaluation and delivery of its alerts.",
		Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"source"}))
	return &sourceMetrics{
		received:    c("peregrine_gke_messages_received_total", "Pub/Sub messages received, redeliveries included.").WithLabelValues(name),
		acked:       c("peregrine_gke_messages_acked_total", "Pub/Sub messages acked: delivered, or dropped as unconvertible.").WithLabelValues(name),
		nacked:      c("peregrine_gke_messages_nacked_total", "Pub/Sub messages nacked (not delivered before a stop), which Pub/Sub redelivers.").WithLabelValues(name),
		converted:   c("peregrine_gke_entries_converted_total", "LogEntries converted into audit events.").WithLabelValues(name),
		dropped:     c("peregrine_gke_entries_dropped_total", "LogEntries dropped (and acked) unconverted, by reason.", "reason").MustCurryWith(prometheus.Labels{"source": name}),
		redelivered: c("peregrine_gke_redeliveries_total", "Repeats seen within the redelivery window: kind=message (a Pub/Sub message ID again) or entry (a LogEntry insertId again in another message).", "kind").MustCurryWith(prometheus.Labels{"source": name}),
		metadata:    c("peregrine_gke_metadata_fetches_total", "Cluster metadata requests to the GKE API, by result (ok, error, denied).", "result").MustCurryWith(prometheus.Labels{"source": name}),
		ackLatency:  lat.WithLabelValues(name),
	}
}
