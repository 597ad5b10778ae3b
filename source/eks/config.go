package eks

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/eks/cwlogs"
)

// Defaults of init_config, upstream's where upstream has the key.
const (
	DefaultShift        = time.Second
	DefaultPollInterval = 5 * time.Second
	DefaultBufferSize   = 200
	// DefaultOverlap is how far behind the newest event read each poll
	// starts again, to catch events CloudWatch makes visible late.
	DefaultOverlap         = 5 * time.Minute
	DefaultOverlapInterval = time.Minute
)

// StreamPrefix is the prefix of the log streams EKS writes audit events
// to (kube-apiserver-audit-<hash>).
const StreamPrefix = cwlogs.StreamPrefix

// Config is a k8saudit-eks plugin entry: upstream's init_config keys,
// Peregrine's extras and the open_params.
type Config struct {
	// Cluster is open_params: the EKS cluster name.
	Cluster string
	// ClusterName is init_config.cluster_name: ka.cluster.name for events
	// without one; "" uses Cluster.
	ClusterName string
	// Region and Profile are "" to let the AWS SDK pick them (AWS_REGION,
	// AWS_DEFAULT_REGION, AWS_PROFILE, AWS_DEFAULT_PROFILE, the shared
	// config; IRSA or pod identity credentials when no profile is set).
	Region, Profile string
	// Endpoint replaces the CloudWatch Logs endpoint (a VPC endpoint, a
	// test server); "" is the regional one (or AWS_ENDPOINT_URL_CLOUDWATCH_LOGS).
	Endpoint string
	// Shift is how far before now the first start reads (seconds, as
	// upstream documents; upstream reads nanoseconds).
	Shift        time.Duration
	PollInterval time.Duration
	// Overlap is how far back re-reads go; OverlapInterval how often a
	// poll re-reads all of it (polls in between re-read a short margin).
	Overlap, OverlapInterval time.Duration
	// UseAsync and BufferSize are accepted for compatibility; they tune
	// upstream's plugin framework and change nothing here.
	UseAsync     bool
	BufferSize   int
	MaxEventSize int
	// Checkpoint is init_config.checkpoint_file; "" puts it under state_dir.
	Checkpoint string
}

// LogGroup is the log group EKS writes the cluster's control plane logs to.
func (c Config) LogGroup() string { return cwlogs.LogGroup(c.Cluster) }

// EventCluster is the cluster name given to events that carry none.
func (c Config) EventCluster() string {
	if c.ClusterName != "" {
		return c.ClusterName
	}
	return c.Cluster
}

// Keys are the init_config keys ParseConfig reads; every other key gets
// a warning (a misspelled region or shift would silently be the default).
var Keys = []string{
	"region", "profile", "endpoint", "cluster_name", "checkpoint_file",
	"shift", "polling_interval", "overlap", "overlap_interval",
	"buffer_size", "max_event_size", "use_async",
}

// Check reads an entry as Open does, without connecting to AWS: the
// warnings name unknown init_config keys.
func Check(initConfig map[string]any, openParams string) ([]string, error) {
	_, err := ParseConfig(initConfig, openParams)
	return source.UnknownKeys("k8saudit-eks", initConfig, Keys), err
}

// ParseConfig reads an init_config map and the open_params. Numbers may be
// strings (Falco turns YAML init_config scalars into numbers and back), and
// durations are seconds, fractions allowed. Zero means the default, as
// upstream reads its keys. Unknown keys are ignored, as upstream does, but
// Check and Open warn about them (Keys).
func ParseConfig(m map[string]any, openParams string) (Config, error) {
	c := Config{Cluster: strings.TrimSpace(openParams)}
	if c.Cluster == "" {
		return c, fmt.Errorf("open_params: cluster name can't be empty")
	}
	if strings.ContainsAny(c.Cluster, "/ \t\n") {
		return c, fmt.Errorf("open_params %q: not an EKS cluster name", c.Cluster)
	}
	c.Region, c.Profile = str(m["region"]), str(m["profile"])
	c.Endpoint, c.ClusterName, c.Checkpoint = str(m["endpoint"]), str(m["cluster_name"]), str(m["checkpoint_file"])
	var err error
	durs := []struct {
		key string
		dst *time.Duration
		def time.Duration
	}{
		{"shift", &c.Shift, DefaultShift},
		{"polling_interval", &c.PollInterval, DefaultPollInterval},
		{"overlap", &c.Overlap, DefaultOverlap},
		{"overlap_interval", &c.OverlapInterval, DefaultOverlapInterval},
	}
	for _, d := range durs {
		if *d.dst, err = seconds(m, d.key, d.def); err != nil {
			return c, err
		}
	}
	if c.BufferSize, err = integer(m, "buffer_size", DefaultBufferSize); err != nil {
		return c, err
	}
	if c.MaxEventSize, err = integer(m, "max_event_size", audit.DefaultMaxEventSize); err != nil {
		return c, err
	}
	c.UseAsync, err = boolean(m, "use_async", true)
	return c, err
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

// number reads a numeric key; ok is false when it is absent.
func number(m map[string]any, k string) (f float64, ok bool, err error) {
	switch v := m[k].(type) {
	case nil:
		return 0, false, nil
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case float64:
		f = v
	case string:
		if f, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return 0, false, fmt.Errorf("init_config.%s: %q is not a number", k, v)
		}
	default:
		return 0, false, fmt.Errorf("init_config.%s: expected a number", k)
	}
	if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, fmt.Errorf("init_config.%s: %v is not a non-negative number", k, f)
	}
	return f, true, nil
}

// seconds reads a duration in seconds; 0 or absent is def.
func seconds(m map[string]any, k string, def time.Duration) (time.Duration, error) {
	f, ok, err := number(m, k)
	if err != nil || !ok || f == 0 {
		return def, err
	}
	if f > float64(math.MaxInt64/int64(time.Second)) {
		return 0, fmt.Errorf("init_config.%s: %v seconds is too long", k, f)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// integer reads an integer; 0 or absent is def.
func integer(m map[string]any, k string, def int) (int, error) {
	f, ok, err := number(m, k)
	if err != nil || !ok || f == 0 {
		return def, err
	}
	if f != math.Trunc(f) || f > math.MaxInt32 {
		return 0, fmt.Errorf("init_config.%s: %v is not an integer", k, f)
	}
	return int(f), nil
}

func boolean(m map[string]any, k string, def bool) (bool, error) {
	switch v := m[k].(type) {
	case nil:
		return def, nil
	case bool:
		return v, nil
	case string:
		// Falco reads YAML 1.1 booleans (yes/no/on/off) in init_config.
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "on", "y", "1":
			return true, nil
		case "false", "no", "off", "n", "0":
			return false, nil
		}
		return def, fmt.Errorf("init_config.%s: %q is not true or false", k, v)
	}
	return def, fmt.Errorf("init_config.%s: expected true or false", k)
}
