package k8saudit

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/file"
	"github.com/peregrine-sec/peregrine/source/spool"
	"github.com/peregrine-sec/peregrine/source/webhook"
)

// DefaultOpenParams is the k8saudit plugin's suggested open_params, used
// when they are empty.
const DefaultOpenParams = "http://:9765/k8s-audit"

// Config is a k8saudit init_config.
type Config struct {
	SSLCertificate string
	MaxEventSize   int
	MaxBatchSize   int
	Cluster        string
	ClientCA       string
	Tokens         map[string]string
	Checkpoint     string
	FromStart      bool
	SpoolMaxBytes  int64
	MaxInFlight    int
	// FirehosePath and FirehoseAccessKey mount Amazon Data Firehose's HTTP
	// endpoint deliveries on the webhook's server (Peregrine extension).
	FirehosePath      string
	FirehoseAccessKey string
}

// Keys are the init_config keys ParseConfig reads, and useAsync, which
// upstream reads and Peregrine accepts (it tunes upstream's framework).
// Every other key gets a warning: a misspelled bearer_tokens or
// client_ca would turn authentication off without one.
var Keys = []string{
	"sslCertificate", "maxEventSize", "webhookMaxBatchSize", "useAsync",
	"webhookMaxInFlight", "cluster_name", "client_ca", "checkpoint_file", "start_position",
	"bearer_tokens", "spool.max_bytes", "firehose_path", "firehose_access_key",
}

// ParseConfig reads an init_config map.
func ParseConfig(m map[string]any) (Config, error) {
	c := Config{SSLCertificate: "/etc/falco/falco.pem"}
	var err error
	if v, ok := m["sslCertificate"]; ok {
		c.SSLCertificate = fmt.Sprint(v)
	}
	if c.MaxEventSize, err = intKey(m, "maxEventSize", audit.DefaultMaxEventSize); err != nil {
		return c, err
	}
	if c.MaxBatchSize, err = intKey(m, "webhookMaxBatchSize", audit.DefaultMaxDocSize); err != nil {
		return c, err
	}
	if c.MaxInFlight, err = intKey(m, "webhookMaxInFlight", webhook.DefaultMaxInFlight); err != nil {
		return c, err
	}
	c.Cluster = strKey(m, "cluster_name")
	c.ClientCA = strKey(m, "client_ca")
	c.Checkpoint = strKey(m, "checkpoint_file")
	switch sp := strKey(m, "start_position"); sp {
	case "", "end":
	case "beginning", "start":
		c.FromStart = true
	default:
		return c, fmt.Errorf("init_config.start_position: %q must be end or beginning", sp)
	}
	if c.Tokens, err = tokens(m["bearer_tokens"]); err != nil {
		return c, err
	}
	sm, ok := m["spool"].(map[string]any)
	if !ok && m["spool"] != nil {
		return c, fmt.Errorf("init_config.spool: expected a mapping such as {max_bytes: 1073741824}, got %T", m["spool"])
	}
	maxBytes, err := intKey(sm, "max_bytes", 0)
	c.SpoolMaxBytes = int64(maxBytes)
	if err != nil {
		return c, err
	}
	return c, c.firehose(m)
}

// firehose reads firehose_path and firehose_access_key. Firehose can send
// neither a bearer token nor a client certificate, so when the webhook
// requires one, the Firehose path must have its access key: otherwise it
// would let in what the webhook keeps out.
func (c *Config) firehose(m map[string]any) error {
	c.FirehosePath = strKey(m, "firehose_path")
	c.FirehoseAccessKey = strKey(m, "firehose_access_key")
	p := c.FirehosePath
	switch {
	case p == "":
		if c.FirehoseAccessKey != "" {
			return fmt.Errorf("init_config.firehose_access_key needs firehose_path")
		}
	case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t{}?#"):
		return fmt.Errorf("init_config.firehose_path: %q must be a URL path such as /firehose", p)
	case c.FirehoseAccessKey == "" && (len(c.Tokens) > 0 || c.ClientCA != ""):
		return fmt.Errorf("init_config.firehose_path: set firehose_access_key too: the webhook requires bearer_tokens or client_ca, which Firehose cannot send")
	}
	return nil
}

// tokens reads bearer_tokens: a list of tokens, a list of {token,
// cluster}, or a map of token to cluster.
func tokens(v any) (map[string]string, error) {
	out := map[string]string{}
	switch v := v.(type) {
	case nil:
	case map[string]any:
		for t, c := range v {
			out[t] = strOf(c)
		}
	case []any:
		for i, e := range v {
			switch e := e.(type) {
			case string:
				out[e] = ""
			case map[string]any:
				t := strOf(e["token"])
				if t == "" {
					return nil, fmt.Errorf("init_config.bearer_tokens[%d]: no token", i)
				}
				out[t] = strOf(e["cluster"])
			default:
				return nil, fmt.Errorf("init_config.bearer_tokens[%d]: expected a token or {token, cluster}", i)
			}
		}
	default:
		return nil, fmt.Errorf("init_config.bearer_tokens: expected a list or a map")
	}
	for t := range out {
		if t == "" {
			return nil, fmt.Errorf("init_config.bearer_tokens: empty token")
		}
	}
	return out, nil
}

func strOf(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func strKey(m map[string]any, k string) string { return strOf(m[k]) }

func intKey(m map[string]any, k string, def int) (int, error) {
	switch v := m[k].(type) {
	case nil:
		return def, nil
	case int:
		return v, nil
	case float64:
		return int(v), nil
	case string:
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("init_config.%s: %q is not an integer", k, v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("init_config.%s: expected an integer", k)
}

// plan is what Open builds for an entry, decided without opening a file
// or a port, so that Check finds what Open would refuse.
type plan struct {
	cfg Config
	op  string   // open_params, DefaultOpenParams when empty
	u   *url.URL // nil: a file or directory read once
	// addr and path are the webhook's listening address and path.
	addr, path string
}

// planEntry reads an entry's init_config and open_params.
func planEntry(initConfig map[string]any, openParams string) (plan, error) {
	cfg, err := ParseConfig(initConfig)
	if err != nil {
		return plan{}, err
	}
	p := plan{cfg: cfg, op: openParams}
	if p.op == "" {
		p.op = DefaultOpenParams
	}
	u, err := url.Parse(p.op)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // "C:\..." is a path
		return p, nil
	}
	p.u = u
	if cfg.FirehosePath != "" && u.Scheme != "http" && u.Scheme != "https" {
		return p, fmt.Errorf("init_config.firehose_path needs an http:// or https:// open_params")
	}
	switch u.Scheme {
	case "http", "https":
		return p, p.webhook()
	case "file":
		return p, nil
	}
	return p, fmt.Errorf("open_params %q: scheme %q is not supported", p.op, u.Scheme)
}

// webhook checks the webhook's open_params against init_config.
func (p *plan) webhook() error {
	host, port, err := net.SplitHostPort(p.u.Host)
	if err != nil {
		return fmt.Errorf("open_params %q: %w", p.u.Redacted(), err)
	}
	p.addr, p.path = net.JoinHostPort(host, port), p.u.Path
	if p.path == "" {
		p.path = "/"
	}
	if fp := p.cfg.FirehosePath; fp != "" && (fp == p.path || fp == p.path+"/" || fp+"/" == p.path) {
		return fmt.Errorf("init_config.firehose_path %q: the webhook is there (open_params); choose another path", fp)
	}
	if p.u.Scheme == "http" && p.cfg.ClientCA != "" {
		return fmt.Errorf("init_config.client_ca needs an https:// open_params")
	}
	return nil
}

// Check reads an entry as Open does, without opening the certificate, a
// spool, a file or a port: the warnings name unknown init_config keys.
func Check(initConfig map[string]any, openParams string) ([]string, error) {
	_, err := planEntry(initConfig, openParams)
	return source.UnknownKeys("k8saudit", initConfig, Keys), err
}

// Open builds the source of one k8saudit entry.
func Open(env source.Env) ([]source.Source, error) {
	env.Warn(source.UnknownKeys(env.Plugin, env.InitConfig, Keys))
	p, err := planEntry(env.InitConfig, env.OpenParams)
	if err != nil {
		return nil, err
	}
	switch {
	case p.u == nil:
		return []source.Source{file.NewOnce(env.Plugin, p.op,
			audit.Options{MaxEventSize: p.cfg.MaxEventSize, Cluster: p.cfg.Cluster}, env.Metrics, env.Log)}, nil
	case p.u.Scheme == "file":
		return []source.Source{openFollow(env, p.cfg, p.u)}, nil
	}
	s, err := openWebhook(env, p)
	if err != nil {
		return nil, err
	}
	return []source.Source{s}, nil
}

func openWebhook(env source.Env, p plan) (*webhook.Server, error) {
	cfg := p.cfg
	o := webhook.Options{
		Name: env.Plugin, Path: p.path, MaxEventSize: cfg.MaxEventSize, MaxBatchSize: cfg.MaxBatchSize,
		Cluster: cfg.Cluster, Tokens: cfg.Tokens, RequireClientCert: cfg.ClientCA != "",
		MaxInFlight: cfg.MaxInFlight, Metrics: env.Metrics, Log: env.Log,
		FirehosePath: cfg.FirehosePath, FirehoseAccessKey: cfg.FirehoseAccessKey,
	}
	if env.StateDir != "" {
		sp, err := spool.Open(filepath.Join(env.StateDir, env.Plugin, "spool"), cmp.Or(cfg.SpoolMaxBytes, env.SpoolMaxBytes))
		if err != nil {
			return nil, fmt.Errorf("webhook spool: %w", err)
		}
		o.Spool = sp
	}
	var tc *tls.Config
	if p.u.Scheme == "https" {
		var err error
		if tc, err = webhook.TLSConfig(cfg.SSLCertificate, cfg.ClientCA); err != nil {
			return nil, err
		}
	}
	return webhook.NewServer(p.addr, webhook.New(o), tc), nil
}

func openFollow(env source.Env, cfg Config, u *url.URL) *file.Follower {
	path := u.Path
	if u.Host != "" && u.Host != "localhost" { // file://relative/path
		path = u.Host + u.Path
	}
	cp := cfg.Checkpoint
	if cp == "" && env.StateDir != "" {
		cp = filepath.Join(env.StateDir, env.Plugin, "file.checkpoint")
	}
	return file.NewFollower(file.FollowOptions{
		Name: env.Plugin, Path: strings.TrimSpace(path), Checkpoint: cp, FromStart: cfg.FromStart,
		MaxEventSize: cfg.MaxEventSize, Cluster: cfg.Cluster, Metrics: env.Metrics, Log: env.Log,
	})
}
