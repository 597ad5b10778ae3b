package aks

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source"
)

// Upstream's rate limiter settings, used for the key a user left out when
// they set the other one. Without either key there is no limiter at all
// (DESIGN.md: upstream's always-on 100 events/s throttles busy clusters).
const (
	upstreamRate  = 100
	upstreamBurst = 200
)

// DefaultArchiveContainer is where a diagnostic setting that archives to a
// storage account writes the kube-audit category; kube-audit-admin goes to
// DefaultArchiveContainer + "-admin".
const DefaultArchiveContainer = "insights-logs-kube-audit"

// Config is a k8saudit-aks init_config: upstream's keys, then Peregrine's.
type Config struct {
	// Upstream's keys (RULES-LANGUAGE.md §5.4).
	EventHubConnString string
	EventHub           string
	BlobConnString     string
	BlobContainer      string
	// RateLimit is events (records) per second; 0 means no limiter.
	RateLimit    float64
	RateBurst    int
	MaxEventSize int

	// ConsumerGroup defaults to $Default, as upstream hard-codes.
	ConsumerGroup string
	// Azure AD instead of connection strings.
	Namespace      string // fully_qualified_namespace
	BlobAccountURL string // blob_storage_account_url
	Credential     string // default, environment, workload_identity, managed_identity
	ClientID       string // managed_identity_client_id (user-assigned identity)
	// Start is where a partition without a checkpoint starts.
	Start azeventhubs.StartPosition
	// Cluster is init_config.cluster_name ("" when unset).
	Cluster string
	// InstanceID names this instance as a partition owner (default: the
	// host name, so that a restarted pod takes its partitions straight
	// back instead of waiting for its old claims to expire).
	InstanceID string

	// Tuning, with defaults that suit a production hub.
	BatchSize          int           // events per ReceiveEvents call
	ReceiveWait        time.Duration // how long a receive waits to fill a batch
	CheckpointInterval time.Duration // how often delivered positions are written
	Strategy           azeventhubs.ProcessorStrategy
	UpdateInterval     time.Duration // ownership claims and renewals
	PartitionExpiry    time.Duration // an owner silent this long loses its partitions
	PollInterval       time.Duration // lag and connection health probe

	// History (replay --source): the storage account archive.
	ArchiveConnString string
	ArchiveAccountURL string
	ArchiveContainer  string
}

// Keys are the init_config keys parseConfig reads, upstream's first;
// every other key gets a warning.
var Keys = []string{
	"event_hub_namespace_connection_string", "event_hub_name", "blob_storage_connection_string",
	"blob_storage_container_name", "rate_limit_events_per_second", "rate_limit_burst", "maxEventSize",
	"consumer_group", "fully_qualified_namespace", "blob_storage_account_url", "azure_credential",
	"managed_identity_client_id", "cluster_name", "instance_id", "start_position",
	"receive_batch_size", "receive_wait", "checkpoint_interval", "load_balancing_strategy",
	"ownership_update_interval", "partition_expiration", "health_interval",
	"archive_storage_connection_string", "archive_storage_account_url", "archive_container",
}

// Check reads an entry as Open does, without connecting to Azure: the
// warnings name unknown init_config keys. open_params is not read (Open
// ignores it too, as upstream does; events use it only as a cluster name).
func Check(initConfig map[string]any, _ string) ([]string, error) {
	_, err := ParseConfig(initConfig)
	return source.UnknownKeys("k8saudit-aks", initConfig, Keys), err
}

// ParseConfig reads an init_config map (already ${VAR}-expanded) for the
// live source.
func ParseConfig(m map[string]any) (Config, error) {
	c, err := parseConfig(m)
	if err != nil {
		return c, err
	}
	return c, c.check()
}

// parseConfig reads the keys without requiring the live source's.
func parseConfig(m map[string]any) (Config, error) {
	p := parser{m: m}
	c := Config{
		EventHubConnString: p.str("event_hub_namespace_connection_string"),
		EventHub:           p.str("event_hub_name"),
		BlobConnString:     p.str("blob_storage_connection_string"),
		BlobContainer:      p.str("blob_storage_container_name"),
		MaxEventSize:       p.int("maxEventSize", audit.DefaultMaxEventSize),
		ConsumerGroup:      p.strOr("consumer_group", azeventhubs.DefaultConsumerGroup),
		Namespace:          p.str("fully_qualified_namespace"),
		BlobAccountURL:     p.str("blob_storage_account_url"),
		Credential:         p.strOr("azure_credential", "default"),
		ClientID:           p.str("managed_identity_client_id"),
		Cluster:            p.str("cluster_name"),
		InstanceID:         p.str("instance_id"),
		BatchSize:          p.int("receive_batch_size", 100),
		ReceiveWait:        p.dur("receive_wait", time.Second),
		CheckpointInterval: p.dur("checkpoint_interval", 5*time.Second),
		Strategy:           azeventhubs.ProcessorStrategy(p.strOr("load_balancing_strategy", string(azeventhubs.ProcessorStrategyBalanced))),
		UpdateInterval:     p.dur("ownership_update_interval", 10*time.Second),
		PartitionExpiry:    p.dur("partition_expiration", 60*time.Second),
		PollInterval:       p.dur("health_interval", 30*time.Second),
		ArchiveConnString:  p.str("archive_storage_connection_string"),
		ArchiveAccountURL:  p.str("archive_storage_account_url"),
		ArchiveContainer:   p.strOr("archive_container", DefaultArchiveContainer),
	}
	c.RateLimit, c.RateBurst = p.rate()
	c.Start = p.start("start_position")
	return c, p.err
}

// check reports settings that cannot work, before anything connects.
func (c Config) check() error {
	switch {
	case c.EventHubConnString == "" && c.Namespace == "":
		return fmt.Errorf("init_config: set event_hub_namespace_connection_string, or fully_qualified_namespace for Azure AD")
	case c.BlobConnString == "" && c.BlobAccountURL == "":
		return fmt.Errorf("init_config: set blob_storage_connection_string, or blob_storage_account_url for Azure AD")
	case c.BlobContainer == "":
		return fmt.Errorf("init_config.blob_storage_container_name: the checkpoint container must be named")
	case c.EventHub == "" && !strings.Contains(strings.ToLower(c.EventHubConnString), "entitypath="):
		return fmt.Errorf("init_config.event_hub_name: the Event Hub must be named (or the connection string carry EntityPath)")
	case c.MaxEventSize <= 0:
		return fmt.Errorf("init_config.maxEventSize: must be positive")
	case c.BatchSize <= 0 || c.ReceiveWait <= 0 || c.CheckpointInterval <= 0 ||
		c.UpdateInterval <= 0 || c.PartitionExpiry <= 0 || c.PollInterval <= 0:
		return fmt.Errorf("init_config: receive_batch_size and the intervals must be positive")
	}
	switch c.Strategy {
	case azeventhubs.ProcessorStrategyBalanced, azeventhubs.ProcessorStrategyGreedy:
	default:
		return fmt.Errorf("init_config.load_balancing_strategy: %q must be balanced or greedy", c.Strategy)
	}
	switch c.Credential {
	case "default", "environment", "workload_identity", "managed_identity":
	default:
		return fmt.Errorf("init_config.azure_credential: %q must be default, environment, workload_identity or managed_identity", c.Credential)
	}
	return nil
}

// ClusterFor is the cluster name events of a record get when they carry
// no annotations.cluster_name (DESIGN.md): cluster_name when set; else
// open_params unless empty or "default" (upstream's suggested value); else
// the managed cluster's name in the record's resourceId.
func ClusterFor(cfg Config, openParams, resourceID string) string {
	if cfg.Cluster != "" {
		return cfg.Cluster
	}
	if op := strings.TrimSpace(openParams); op != "" && op != "default" {
		return op
	}
	return ClusterOfResource(resourceID)
}

// ClusterOfResource returns the segment after managedClusters in an Azure
// resource ID, as written (Azure Monitor upper-cases resource IDs in
// diagnostic records, so this is often the name in capitals).
func ClusterOfResource(id string) string {
	const key = "/managedclusters/"
	i := strings.Index(asciiLower(id), key)
	if i < 0 {
		return ""
	}
	rest := id[i+len(key):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// asciiLower lower-cases ASCII letters only, so that indexes into the
// result are indexes into s (strings.ToLower may change the length of
// text that is not valid UTF-8).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// parser reads typed keys, keeping the first error.
type parser struct {
	m   map[string]any
	err error
}

func (p *parser) fail(format string, a ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, a...)
	}
}

func (p *parser) str(k string) string {
	switch v := p.m[k].(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	default:
		return fmt.Sprint(v)
	}
}

func (p *parser) strOr(k, def string) string {
	if s := p.str(k); s != "" {
		return s
	}
	return def
}

// num reads a number; YAML gives ints, JSON init_config floats, and a
// ${VAR} expansion may leave a string.
func (p *parser) num(k string) (float64, bool) {
	switch v := p.m[k].(type) {
	case nil:
		return 0, false
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case string:
		if strings.TrimSpace(v) == "" {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			p.fail("init_config.%s: %q is not a number", k, v)
		}
		return f, err == nil
	}
	p.fail("init_config.%s: expected a number", k)
	return 0, false
}

func (p *parser) int(k string, def int) int {
	f, ok := p.num(k)
	if !ok {
		return def
	}
	if f != math.Trunc(f) || f > math.MaxInt32*float64(1<<20) {
		p.fail("init_config.%s: %v is not a whole number", k, f)
	}
	return int(f)
}

// dur reads a Go duration ("1s", "500ms") or a number of seconds.
func (p *parser) dur(k string, def time.Duration) time.Duration {
	if s, ok := p.m[k].(string); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			return d
		}
	}
	f, ok := p.num(k)
	if !ok {
		return def
	}
	return time.Duration(f * float64(time.Second))
}

// rate reads the rate limit: off unless one of its keys is set, and then
// upstream's value for the other.
func (p *parser) rate() (float64, int) {
	r, rok := p.num("rate_limit_events_per_second")
	_, bok := p.num("rate_limit_burst")
	if !rok && !bok {
		return 0, 0
	}
	if !rok {
		r = upstreamRate
	}
	b := p.int("rate_limit_burst", upstreamBurst)
	if r <= 0 || b < 1 {
		p.fail("init_config: rate_limit_events_per_second must be positive and rate_limit_burst at least 1")
	}
	return r, b
}

// start reads start_position: latest (the SDK's and upstream's default),
// earliest, an RFC 3339 time, or a duration meaning that long ago.
func (p *parser) start(k string) azeventhubs.StartPosition {
	s := p.str(k)
	yes := true
	switch strings.ToLower(s) {
	case "", "latest", "end":
		return azeventhubs.StartPosition{Latest: &yes}
	case "earliest", "beginning", "start":
		return azeventhubs.StartPosition{Earliest: &yes}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		t := time.Now().Add(-d)
		return azeventhubs.StartPosition{EnqueuedTime: &t, Inclusive: true}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return azeventhubs.StartPosition{EnqueuedTime: &t, Inclusive: true}
	}
	p.fail("init_config.%s: %q must be latest, earliest, an RFC 3339 time or a duration ago (24h)", k, s)
	return azeventhubs.StartPosition{}
}
