package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Daemon holds the keys `peregrine run` reads beyond the engine's: the
// outputs, the webserver and Peregrine's own block. Config.Daemon has them
// decoded with Falco's defaults (RULES-LANGUAGE.md §3.6, §5.7) and
// DESIGN.md's where Peregrine differs.
type Daemon struct {
	BufferedOutputs bool
	// OutputTimeout is output_timeout (Falco: 2000 ms): the longest one
	// HTTP delivery attempt may take.
	OutputTimeout time.Duration
	// Rate and MaxBurst are outputs.rate (alerts/s; 0: no limit) and
	// outputs.max_burst.
	Rate     float64
	MaxBurst int
	// QueueCapacity is outputs_queue.capacity; 0 (Falco's "unbounded")
	// means Peregrine's bounded default.
	QueueCapacity int

	FileOutput    FileOutput
	ProgramOutput ProgramOutput
	HTTPOutput    HTTPOutput
	SyslogOutput  bool

	Webserver Webserver

	// StaticFields are static_fields, in name order.
	StaticFields []StaticField
	AppendOutput []AppendOutput

	WatchConfigFiles bool
	LogLevel         string

	Peregrine Peregrine
}

// FileOutput is file_output.
type FileOutput struct {
	Enabled   bool
	Filename  string
	KeepAlive bool
}

// ProgramOutput is program_output.
type ProgramOutput struct {
	Enabled   bool
	Program   string
	KeepAlive bool
}

// HTTPOutput is http_output.
type HTTPOutput struct {
	Enabled         bool
	URL             string
	UserAgent       string
	Insecure        bool
	CACert          string
	CABundle        string
	CAPath          string
	MTLS            bool
	ClientCert      string
	ClientKey       string
	CompressUploads bool
	KeepAlive       bool
	Echo            bool // print the receiver's answers to stdout
}

// Webserver is webserver: the health and metrics server, and with the
// legacy k8s_audit_endpoint key (Falco <= 0.31) an audit webhook too.
type Webserver struct {
	Enabled           bool
	ListenAddress     string
	ListenPort        int
	SSLEnabled        bool
	SSLCertificate    string
	HealthzEndpoint   string
	MetricsEnabled    bool
	K8sAuditEndpoint  string // "" when absent
	LegacyAuditSource bool   // k8s_audit_endpoint is set
}

// Addr is the webserver's listen address, host:port.
func (w Webserver) Addr() string {
	return w.ListenAddress + ":" + strconv.Itoa(w.ListenPort)
}

// StaticField is one static_fields entry.
type StaticField struct{ Name, Value string }

// AppendOutput is one append_output entry: rules it matches (every given
// criterion must hold) and what it adds to their output.
type AppendOutput struct {
	Source string
	Tags   []string
	Rule   string
	// ExtraOutput is appended to the output text, after a space.
	ExtraOutput string
	// ExtraFields are fields added to output_fields: a field name (its
	// value per event) or a name with a static value.
	ExtraFields []ExtraField
}

// ExtraField is a field name (Value empty, Static false) or a static
// name: value pair.
type ExtraField struct {
	Name   string
	Value  string
	Static bool
}

// Peregrine is the top-level peregrine: block, settings of the process
// itself (DESIGN.md).
type Peregrine struct {
	// StateDir holds each source's checkpoint and the webhook's spool;
	// "" keeps no state.
	StateDir string
	// Overflow is what a full output queue does: "block" or "drop".
	Overflow string
	// RateLimit is what outputs.rate does over the rate: "delay" or "drop".
	RateLimit string
	// DrainTimeout bounds the graceful stop (SIGTERM/SIGINT).
	DrainTimeout time.Duration
	// SilenceTimeout raises an alert when a source received nothing for
	// that long; 0 disables it. SilencePriority is that alert's priority.
	SilenceTimeout  time.Duration
	SilencePriority string
	// RedactOutputs masks credential-like values in alert outputs.
	RedactOutputs bool
	// SpoolMaxBytes bounds the webhook spool; past it POSTs get 429.
	SpoolMaxBytes int64
	// Workers is the number of engine workers (0: one per CPU).
	Workers int
	// LogFormat is "text" (default) or "json".
	LogFormat string
}

func (c *Config) decodeDaemon(d *decoder) error {
	dm := &c.Daemon
	dm.BufferedOutputs = d.bool("buffered_outputs", false)
	dm.OutputTimeout = d.durationIn(d.raw, "output_timeout", 2*time.Second, time.Millisecond)
	out := d.block("outputs")
	dm.Rate = d.floatIn(out, "outputs.rate", 0)
	dm.MaxBurst = d.intIn(out, "outputs.max_burst", 1000)
	dm.QueueCapacity = d.intIn(d.block("outputs_queue"), "outputs_queue.capacity", 0)
	d.decodeSinks(dm)
	if err := d.decodeWebserver(&dm.Webserver); err != nil {
		return err
	}
	dm.StaticFields = d.staticFields()
	var err error
	if dm.AppendOutput, err = d.appendOutput(); err != nil {
		return err
	}
	dm.WatchConfigFiles = d.bool("watch_config_files", true)
	dm.LogLevel = d.str("log_level", "info")
	return d.decodePeregrine(&dm.Peregrine)
}

func (d *decoder) decodeSinks(dm *Daemon) {
	f := d.block("file_output")
	dm.FileOutput = FileOutput{
		Enabled:   d.boolValue("file_output.enabled", f["enabled"], false),
		Filename:  d.strIn(f, "filename", ""),
		KeepAlive: d.boolValue("file_output.keep_alive", f["keep_alive"], true),
	}
	p := d.block("program_output")
	dm.ProgramOutput = ProgramOutput{
		Enabled:   d.boolValue("program_output.enabled", p["enabled"], false),
		Program:   d.strIn(p, "program", ""),
		KeepAlive: d.boolValue("program_output.keep_alive", p["keep_alive"], false),
	}
	h := d.block("http_output")
	dm.HTTPOutput = HTTPOutput{
		Enabled:         d.boolValue("http_output.enabled", h["enabled"], false),
		URL:             d.strIn(h, "url", ""),
		UserAgent:       d.strIn(h, "user_agent", "falcosecurity/falco"),
		Insecure:        d.boolValue("http_output.insecure", h["insecure"], false),
		CACert:          d.strIn(h, "ca_cert", ""),
		CABundle:        d.strIn(h, "ca_bundle", ""),
		CAPath:          d.strIn(h, "ca_path", "/etc/ssl/certs"),
		MTLS:            d.boolValue("http_output.mtls", h["mtls"], false),
		ClientCert:      d.strIn(h, "client_cert", "/etc/ssl/certs/client.crt"),
		ClientKey:       d.strIn(h, "client_key", "/etc/ssl/certs/client.key"),
		CompressUploads: d.boolValue("http_output.compress_uploads", h["compress_uploads"], false),
		KeepAlive:       d.boolValue("http_output.keep_alive", h["keep_alive"], false),
		Echo:            d.boolValue("http_output.echo", h["echo"], false),
	}
	dm.SyslogOutput = d.boolValue("syslog_output.enabled", d.block("syslog_output")["enabled"], false)
}

func (d *decoder) decodeWebserver(w *Webserver) error {
	m := d.block("webserver")
	w.Enabled = d.boolValue("webserver.enabled", m["enabled"], true)
	w.ListenAddress = d.strIn(m, "listen_address", "")
	w.ListenPort = d.intIn(m, "webserver.listen_port", 8765)
	if w.ListenPort < 0 || w.ListenPort > 65535 {
		return fmt.Errorf("webserver.listen_port: %d is not a port", w.ListenPort)
	}
	w.SSLEnabled = d.boolValue("webserver.ssl_enabled", m["ssl_enabled"], false)
	w.SSLCertificate = d.strIn(m, "ssl_certificate", "/etc/falco/falco.pem")
	w.HealthzEndpoint = d.strIn(m, "k8s_healthz_endpoint", "/healthz")
	w.MetricsEnabled = d.boolValue("webserver.prometheus_metrics_enabled", m["prometheus_metrics_enabled"], true)
	if ep, ok := m["k8s_audit_endpoint"]; ok && ep != nil {
		w.K8sAuditEndpoint = fmt.Sprint(ep)
		w.LegacyAuditSource = true
		if !strings.HasPrefix(w.K8sAuditEndpoint, "/") {
			return fmt.Errorf("webserver.k8s_audit_endpoint: %q must start with /", w.K8sAuditEndpoint)
		}
	}
	return nil
}

func (d *decoder) staticFields() []StaticField {
	m := d.block("static_fields")
	var out []StaticField
	for _, k := range sortedKeys(m) {
		out = append(out, StaticField{Name: k, Value: fmt.Sprint(m[k])})
	}
	return out
}

func (d *decoder) appendOutput() ([]AppendOutput, error) {
	v, ok := d.raw["append_output"]
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("append_output: expected a list")
	}
	var out []AppendOutput
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("append_output[%d]: expected a mapping", i)
		}
		a, err := appendEntry(m)
		if err != nil {
			return nil, fmt.Errorf("append_output[%d]: %w", i, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func appendEntry(m map[string]any) (AppendOutput, error) {
	var a AppendOutput
	if match, ok := m["match"].(map[string]any); ok {
		a.Source = str(match["source"])
		a.Rule = str(match["rule"])
		switch t := match["tags"].(type) {
		case []any:
			for _, x := range t {
				a.Tags = append(a.Tags, fmt.Sprint(x))
			}
		case string:
			a.Tags = []string{t}
		}
	}
	a.ExtraOutput = str(m["extra_output"])
	if ef, ok := m["extra_fields"].([]any); ok {
		for _, f := range ef {
			switch f := f.(type) {
			case string:
				a.ExtraFields = append(a.ExtraFields, ExtraField{Name: f})
			case map[string]any:
				for _, k := range sortedKeys(f) {
					a.ExtraFields = append(a.ExtraFields, ExtraField{Name: k, Value: fmt.Sprint(f[k]), Static: true})
				}
			default:
				return a, fmt.Errorf("extra_fields: expected field names or name: value pairs")
			}
		}
	}
	return a, nil
}

func (d *decoder) decodePeregrine(p *Peregrine) error {
	m := d.block("peregrine")
	p.StateDir = d.strIn(m, "state_dir", "")
	p.Overflow = d.strIn(m, "overflow", "block")
	if p.Overflow != "block" && p.Overflow != "drop" {
		return fmt.Errorf("peregrine.overflow: %q must be block or drop", p.Overflow)
	}
	p.RateLimit = d.strIn(m, "rate_limit", "delay")
	if p.RateLimit != "delay" && p.RateLimit != "drop" {
		return fmt.Errorf("peregrine.rate_limit: %q must be delay or drop", p.RateLimit)
	}
	p.DrainTimeout = d.durationIn(m, "drain_timeout", 30*time.Second, time.Second)
	s := asMap(m["source_silence"])
	p.SilenceTimeout = d.durationIn(s, "timeout", 10*time.Minute, time.Second)
	p.SilencePriority = d.strIn(s, "priority", "warning")
	p.RedactOutputs = d.boolValue("peregrine.redact_outputs", m["redact_outputs"], false)
	p.SpoolMaxBytes = int64(d.intIn(asMap(m["spool"]), "peregrine.spool.max_bytes", 1<<30))
	p.Workers = d.intIn(m, "peregrine.workers", 0)
	p.LogFormat = d.strIn(m, "log_format", "text")
	return nil
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// block returns a top-level mapping, or nil.
func (d *decoder) block(key string) map[string]any { return asMap(d.raw[key]) }

func (d *decoder) strIn(m map[string]any, key, def string) string {
	v, ok := m[key]
	if !ok || v == nil {
		return def
	}
	return fmt.Sprint(v)
}

func (d *decoder) intIn(m map[string]any, name string, def int) int {
	key := name[strings.LastIndexByte(name, '.')+1:]
	switch v := m[key].(type) {
	case nil:
		return def
	case int:
		return v
	case float64:
		return int(v)
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	d.errs = append(d.errs, fmt.Sprintf("config key %s: %v is not an integer; using %d", name, m[key], def))
	return def
}

func (d *decoder) floatIn(m map[string]any, name string, def float64) float64 {
	key := name[strings.LastIndexByte(name, '.')+1:]
	switch v := m[key].(type) {
	case nil:
		return def
	case int:
		return float64(v)
	case float64:
		return v
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	d.errs = append(d.errs, fmt.Sprintf("config key %s: %v is not a number; using %v", name, m[key], def))
	return def
}

// durationIn reads a Go duration ("30s", "10m") or a bare number in unit.
func (d *decoder) durationIn(m map[string]any, key string, def, unit time.Duration) time.Duration {
	switch v := m[key].(type) {
	case nil:
		return def
	case int:
		return time.Duration(v) * unit
	case float64:
		return time.Duration(v * float64(unit))
	case string:
		if dur, err := time.ParseDuration(v); err == nil {
			return dur
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Duration(n * float64(unit))
		}
	}
	d.errs = append(d.errs, fmt.Sprintf("config key %s: %v is not a duration; using %v", key, m[key], def))
	return def
}

// Matches reports whether the append_output entry selects a rule of
// source k8s_audit: every criterion given must hold, tags all present.
func (ao AppendOutput) Matches(rule string, tags []string) bool {
	if ao.Source != "" && ao.Source != "k8s_audit" {
		return false
	}
	if ao.Rule != "" && ao.Rule != rule {
		return false
	}
	for _, t := range ao.Tags {
		if !slices.Contains(tags, t) {
			return false
		}
	}
	return true
}
