package kafka

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/internal/kafkaconn"
	"github.com/peregrine-sec/peregrine/source"
)

// Config is a kafka plugins: entry: its init_config, with open_params as
// the topics when init_config names none.
type Config struct {
	Conn   kafkaconn.Options
	Topics []string
	// Group is the consumer group (group_id, default "peregrine"): every
	// instance with the same group shares the topics' partitions.
	Group string
	// Start is where a group without a committed offset starts
	// (start_offset: latest, earliest, a time, or a duration ago).
	Start kgo.Offset
	// MaxEventSize is max_event_size (or upstream's maxEventSize).
	MaxEventSize int
	// Cluster, ClusterHeader and ClusterField name the events' cluster:
	// a record header, else a field of the message, else Cluster.
	Cluster       string
	ClusterHeader string
	ClusterField  []string
	// EventField is the path of the audit event inside a log shipper's
	// envelope (event_field: log, message, kubernetes.audit ...).
	EventField []string
	// CommitInterval is how often delivered offsets are committed.
	CommitInterval time.Duration
	// MaxPollRecords bounds the records taken from the client at once.
	MaxPollRecords int
	// SessionTimeout, RebalanceTimeout and HeartbeatInterval are the
	// group's session.timeout.ms, rebalance.timeout.ms and
	// heartbeat.interval.ms.
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	HeartbeatInterval time.Duration
}

// Keys are the init_config keys ParseConfig reads: the connection's
// (kafkaconn.Parse: brokers, tls, sasl, ...) and the consumer's; every
// other key gets a warning. tls is true or a mapping of its own keys.
var Keys = append(slices.Clone(kafkaconn.ConnKeys),
	"topics", "group_id", "max_event_size", "maxEventSize", "cluster_name", "cluster_header", "cluster_field",
	"event_field", "commit_interval", "max_poll_records", "session_timeout", "rebalance_timeout",
	"heartbeat_interval", "start_offset",
)

// Check reads an entry as Open does, without reading TLS files or
// connecting to the brokers: the warnings name unknown init_config keys.
func Check(initConfig map[string]any, openParams string) ([]string, error) {
	_, err := ParseConfig(initConfig, openParams)
	return source.UnknownKeys("kafka", initConfig, Keys), err
}

// ParseConfig reads a kafka entry's init_config and open_params.
func ParseConfig(initConfig map[string]any, openParams string) (Config, error) {
	k := kafkaconn.NewKeys(initConfig, "init_config.")
	conn, err := kafkaconn.Parse(k)
	if err != nil {
		return Config{}, err
	}
	c := Config{
		Conn:              conn,
		Topics:            k.Strings("topics"),
		Group:             k.Str("group_id", "peregrine"),
		MaxEventSize:      k.Int("max_event_size", k.Int("maxEventSize", audit.DefaultMaxEventSize)),
		Cluster:           k.Str("cluster_name", ""),
		ClusterHeader:     k.Str("cluster_header", ""),
		ClusterField:      path(k.Str("cluster_field", "")),
		EventField:        path(k.Str("event_field", "")),
		CommitInterval:    k.Duration("commit_interval", time.Second),
		MaxPollRecords:    k.Int("max_poll_records", 2000),
		SessionTimeout:    k.Duration("session_timeout", 45*time.Second),
		RebalanceTimeout:  k.Duration("rebalance_timeout", 60*time.Second),
		HeartbeatInterval: k.Duration("heartbeat_interval", 3*time.Second),
	}
	start := k.Str("start_offset", "latest")
	if err := k.Err(); err != nil {
		return c, err
	}
	if c.Start, err = startOffset(start, time.Now()); err != nil {
		return c, err
	}
	if len(c.Topics) == 0 {
		c.Topics = kafkaconn.NewKeys(map[string]any{"t": openParams}, "").Strings("t")
	}
	if len(c.Topics) == 0 && conn.EntityPath != "" {
		c.Topics = []string{conn.EntityPath}
	}
	return c, c.check()
}

func (c *Config) check() error {
	switch {
	case len(c.Topics) == 0:
		return fmt.Errorf("init_config.topics: at least one topic is required (or open_params: TOPIC[,TOPIC...])")
	case c.Group == "":
		return fmt.Errorf("init_config.group_id: must not be empty")
	case c.MaxEventSize <= 0:
		return fmt.Errorf("init_config.max_event_size: must be positive")
	case c.CommitInterval <= 0 || c.MaxPollRecords <= 0:
		return fmt.Errorf("init_config.commit_interval and max_poll_records: must be positive")
	case c.HeartbeatInterval <= 0 || c.SessionTimeout < c.HeartbeatInterval || c.RebalanceTimeout <= 0:
		return fmt.Errorf("init_config: heartbeat_interval must be positive and below session_timeout; rebalance_timeout positive")
	}
	return nil
}

// path splits a dotted JSON path; "" is no path.
func path(s string) []string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

// startOffset reads start_offset: latest (Kafka's auto.offset.reset
// default, and where a followed file starts), earliest, an RFC 3339 time,
// or a duration before now.
func startOffset(s string, now time.Time) (kgo.Offset, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "latest", "end", "newest":
		return kgo.NewOffset().AtEnd(), nil
	case "earliest", "beginning", "start", "oldest":
		return kgo.NewOffset().AtStart(), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return kgo.NewOffset().AfterMilli(now.Add(-d).UnixMilli()), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return kgo.NewOffset().AfterMilli(t.UnixMilli()), nil
	}
	return kgo.Offset{}, fmt.Errorf("init_config.start_offset: %q must be latest, earliest, an RFC 3339 time or a duration ago (2h)", s)
}
