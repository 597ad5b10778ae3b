package config

import (
	"fmt"
	"time"

	"github.com/peregrine-sec/peregrine/internal/kafkaconn"
)

// KafkaOutput is kafka_output: alerts published to a Kafka topic (or an
// Event Hub through its Kafka endpoint), beside http_output as DESIGN.md
// places it. Its connection keys are the kafka source's (brokers, tls,
// sasl, event_hubs_connection_string; docs/sources/KAFKA.md).
type KafkaOutput struct {
	Enabled bool
	Conn    kafkaconn.Options
	// Topic receives the alerts (default: the connection string's
	// EntityPath, the Event Hub).
	Topic string
	// Key is the record key: rule (default), priority, hostname, cluster,
	// none, or field:NAME.
	Key string
	// Compression is none (default), gzip, snappy, lz4 or zstd.
	Compression string
	// Timeout bounds one delivery attempt before it is retried (default
	// 30s).
	Timeout time.Duration
}

// kafkaKeys are the keys of a record: what KafkaOutput accepts for Key.
var kafkaKeys = map[string]bool{"rule": true, "priority": true, "hostname": true, "cluster": true, "none": true}

// KafkaOutput reads kafka_output. A disabled or absent block is not
// checked further.
func (c *Config) KafkaOutput() (KafkaOutput, error) {
	m := asMap(c.Raw["kafka_output"])
	if c.Raw["kafka_output"] != nil && m == nil {
		return KafkaOutput{}, fmt.Errorf("kafka_output: expected a mapping")
	}
	k := kafkaconn.NewKeys(m, "kafka_output.")
	ko := KafkaOutput{
		Enabled:     k.Bool("enabled", false),
		Topic:       k.Str("topic", ""),
		Key:         k.Str("key", "rule"),
		Compression: k.Str("compression", "none"),
		Timeout:     k.Duration("timeout", 30*time.Second),
	}
	if err := k.Err(); err != nil || !ko.Enabled {
		return ko, err
	}
	var err error
	if ko.Conn, err = kafkaconn.Parse(k); err != nil {
		return ko, err
	}
	if ko.Topic == "" {
		ko.Topic = ko.Conn.EntityPath
	}
	switch {
	case ko.Topic == "":
		return ko, fmt.Errorf("kafka_output.topic: required")
	case !kafkaKeys[ko.Key] && (len(ko.Key) <= len("field:") || ko.Key[:len("field:")] != "field:"):
		return ko, fmt.Errorf("kafka_output.key: %q must be rule, priority, hostname, cluster, none or field:NAME", ko.Key)
	}
	return ko, nil
}
