package gke

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source"
)

// Config is a k8saudit-gke plugin entry: upstream's init_config keys with
// their defaults (RULES-LANGUAGE.md §5.5), except max_event_size, which
// defaults to 64 MiB as for every source (DESIGN.md), and Peregrine's
// extras.
type Config struct {
	// Subscription is open_params: a subscription ID, or a full
	// projects/P/subscriptions/S name.
	Subscription string
	// File is set instead of Subscription by a file:// open_params.
	File string

	ProjectID       string // project_id; "" detects it from the credentials
	CredentialsFile string // credentials_file; "" uses Application Default Credentials
	NumGoroutines   int    // num_goroutines: StreamingPull streams (10)
	MaxOutstanding  int    // max_outstanding_messages: messages not yet acked (1000)
	FetchMetadata   bool   // fetch_cluster_metadata (false)
	CacheExpiration time.Duration
	MaxEventSize    int // max_event_size

	// Cluster is init_config.cluster_name, the ka.cluster.name of events
	// whose entry has no resource.labels.cluster_name.
	Cluster string
	// RedeliveryWindow is how long message and entry IDs are remembered
	// to count redeliveries (redelivery_window, seconds; 600).
	RedeliveryWindow time.Duration
}

// Keys are the init_config keys ParseConfig reads, and use_async, which
// upstream reads and Peregrine accepts (it tunes upstream's framework).
// Every other key gets a warning.
var Keys = []string{
	"project_id", "credentials_file", "cluster_name", "num_goroutines", "max_outstanding_messages",
	"max_event_size", "cache_expiration", "redelivery_window", "fetch_cluster_metadata", "use_async",
}

// Check reads an entry as Open does, without reading the credentials or
// connecting to Pub/Sub: the warnings name unknown init_config keys.
func Check(initConfig map[string]any, openParams string) ([]string, error) {
	_, err := ParseConfig(initConfig, openParams)
	return source.UnknownKeys("k8saudit-gke", initConfig, Keys), err
}

// ParseConfig reads an init_config map and open_params.
func ParseConfig(m map[string]any, openParams string) (Config, error) {
	c := Config{
		ProjectID: str(m["project_id"]), CredentialsFile: str(m["credentials_file"]),
		Cluster: str(m["cluster_name"]),
	}
	if err := c.target(strings.TrimSpace(openParams)); err != nil {
		return c, err
	}
	var cache, window int
	for _, k := range []struct {
		key string
		def int
		dst *int
	}{
		{"num_goroutines", 10, &c.NumGoroutines},
		{"max_outstanding_messages", 1000, &c.MaxOutstanding},
		{"max_event_size", audit.DefaultMaxEventSize, &c.MaxEventSize},
		{"cache_expiration", 10, &cache},
		{"redelivery_window", 600, &window},
	} {
		n, err := intKey(m, k.key, k.def)
		if err != nil {
			return c, err
		}
		*k.dst = n
	}
	c.CacheExpiration = time.Duration(max(cache, 1)) * time.Minute
	c.RedeliveryWindow = time.Duration(max(window, 0)) * time.Second
	var err error
	c.FetchMetadata, err = boolKey(m, "fetch_cluster_metadata")
	return c, err
}

// target reads open_params: a subscription, or file://PATH, which reads a
// file once (upstream pushes the file's bytes unconverted; here the file
// may hold LogEntries or audit events).
func (c *Config) target(op string) error {
	if path, ok := strings.CutPrefix(op, "file://"); ok {
		if path == "" {
			return fmt.Errorf("open_params %q: no path", op)
		}
		c.File = path
		return nil
	}
	if op == "" {
		return fmt.Errorf("open_params: the Pub/Sub subscription ID can't be empty")
	}
	c.Subscription = op
	return nil
}

// str reads a string key. Falco turns numeric-looking YAML scalars into
// numbers, so a number is written back without an exponent.
func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

// intKey reads an integer key. Falco turns YAML scalars into numbers, so
// the value may be an int, a float64 or a numeric string.
func intKey(m map[string]any, k string, def int) (int, error) {
	switch v := m[k].(type) {
	case nil:
		return def, nil
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		return int(v), nil
	case string:
		if strings.TrimSpace(v) == "" {
			return def, nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, fmt.Errorf("init_config.%s: %q is not an integer", k, v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("init_config.%s: expected an integer", k)
}

// boolKey reads a boolean key: true/false, or the yes/no/on/off and 0/1
// spellings a YAML or JSON init_config may carry.
func boolKey(m map[string]any, k string) (bool, error) {
	switch v := m[k].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case int:
		return v != 0, nil
	case float64:
		return v != 0, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0", "":
			return false, nil
		}
	}
	return false, fmt.Errorf("init_config.%s: expected true or false", k)
}
