package kafka

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-sec/peregrine/metrics"
)

// kafkaMetrics are the Kafka source's own metrics, beside the ones every
// source exports (DESIGN.md: backlog counts are extra metrics with their
// own names).
type kafkaMetrics struct {
	lag        *prometheus.GaugeVec   // source, topic, partition
	commits    *prometheus.CounterVec // source, result
	partitions *prometheus.CounterVec // source, event
}

// newKafkaMetrics registers the metrics on m's registry, or finds the
// ones another Kafka source of the same daemon registered.
func newKafkaMetrics(m *metrics.Metrics) *kafkaMetrics {
	return &kafkaMetrics{
		lag: metrics.Register(m.Registry, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "peregrine_kafka_consumer_lag",
			Help: "Records of a partition this instance owns that are past its committed position (high watermark minus committed offset).",
		}, []string{"source", "topic", "partition"})),
		commits: metrics.Register(m.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peregrine_kafka_commits_total",
			Help: "Offset commits of delivered positions, by result (ok, failed).",
		}, []string{"source", "result"})),
		partitions: metrics.Register(m.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peregrine_kafka_partition_events_total",
			Help: "Partitions assigned to, revoked from (handed over after a commit) or lost by this instance.",
		}, []string{"source", "event"})),
	}
}

func itoa(part int32) string { return strconv.Itoa(int(part)) }
