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

func (c *Config) decodeDaemon(d *decoder) {
	dm := &c.Daemon
	dm.BufferedOutputs = d.bool("buffered_outputs", false)
	dm.OutputTimeout = d.duration("output_timeout", 2*time.Second, time.Millisecond)
	dm.Rate = d.float("outputs.rate", 0)
	dm.MaxBurst = d.int("outputs.max_burst", 1000)
	dm.QueueCapacity = d.int("outputs_queue.capacity", 0)
	d.decodeSinks(dm)
	d.decodeWebserver(&dm.Webserver)
	dm.StaticFields = d.staticFields()
	dm.AppendOutput = d.appendOutput()
	dm.WatchConfigFiles = d.bool("watch_config_files", true)
	dm.LogLevel = d.str("log_level", "info")
	d.decodePeregrine(&dm.Peregrine)
}

func (d *decoder) decodeSinks(dm *Daemon) {
	dm.FileOutput = FileOutput{
		Enabled:   d.bool("file_output.enabled", false),
		Filename:  d.str("file_output.filename", ""),
		KeepAlive: d.bool("file_output.keep_alive", true),
	}
	dm.ProgramOutput = ProgramOutput{
		Enabled:   d.bool("program_output.enabled", false),
		Program:   d.str("program_output.program", ""),
		KeepAlive: d.bool("program_output.keep_alive", false),
	}
	dm.HTTPOutput = HTTPOutput{
		Enabled:         d.bool("http_output.enabled", false),
		URL:             d.str("http_output.url", ""),
		UserAgent:       d.str("http_output.user_agent", "falcosecurity/falco"),
		Insecure:        d.bool("http_output.insecure", false),
		CACert:          d.str("http_output.ca_cert", ""),
		CABundle:        d.str("http_output.ca_bundle", ""),
		CAPath:          d.str("http_output.ca_path", "/etc/ssl/certs"),
		MTLS:            d.bool("http_output.mtls", false),
		ClientCert:      d.str("http_output.client_cert", "/etc/ssl/certs/client.crt"),
		ClientKey:       d.str("http_output.client_key", "/etc/ssl/certs/client.key"),
		CompressUploads: d.bool("http_output.compress_uploads", false),
		KeepAlive:       d.bool("http_output.keep_alive", false),
		Echo:            d.bool("http_output.echo", false),
	}
	dm.SyslogOutput = d.bool("syslog_output.enabled", false)
}

func (d *decoder) decodeWebserver(w *Webserver) {
	w.Enabled = d.bool("webserver.enabled", true)
	w.ListenAddress = d.str("webserver.listen_address", "")
	w.ListenPort = d.int("webserver.listen_port", 8765)
	if w.ListenPort < 0 || w.ListenPort > 65535 {
		d.fail("webserver.listen_port", "%d is not a port", w.ListenPort)
	}
	w.SSLEnabled = d.bool("webserver.ssl_enabled", false)
	w.SSLCertificate = d.str("webserver.ssl_certificate", "/etc/falco/falco.pem")
	w.HealthzEndpoint = d.str("webserver.k8s_healthz_endpoint", "/healthz")
	w.MetricsEnabled = d.bool("webserver.prometheus_metrics_enabled", true)
	if v := d.get("webserver.k8s_audit_endpoint"); v != nil {
		ep := d.strAt("webserver.k8s_audit_endpoint", v, "")
		w.K8sAuditEndpoint = ep
		w.LegacyAuditSource = true
		if !strings.HasPrefix(ep, "/") {
			d.fail("webserver.k8s_audit_endpoint", "%q must start with /", ep)
		}
	}
}

func (d *decoder) staticFields() []StaticField {
	m := d.mapping("static_fields")
	var out []StaticField
	for _, k := range sortedKeys(m) {
		out = append(out, StaticField{Name: k, Value: d.strAt("static_fields."+k, m[k], "")})
	}
	return out
}

func (d *decoder) appendOutput() []AppendOutput {
	var out []AppendOutput
	for i, e := range d.list("append_output") {
		key := fmt.Sprintf("append_output[%d]", i)
		if m := d.mappingAt(key, e); m != nil {
			out = append(out, d.appendEntry(key, m))
		}
	}
	return out
}

func (d *decoder) appendEntry(key string, m map[string]any) AppendOutput {
	var a AppendOutput
	match := d.mappingAt(key+".match", m["match"])
	a.Source = d.strAt(key+".match.source", match["source"], "")
	a.Rule = d.strAt(key+".match.rule", match["rule"], "")
	switch t := match["tags"].(type) {
	case []any:
		for j, x := range t {
			a.Tags = append(a.Tags, d.strAt(fmt.Sprintf("%s.match.tags[%d]", key, j), x, ""))
		}
	case nil:
	default:
		a.Tags = []string{d.strAt(key+".match.tags", t, "")}
	}
	a.ExtraOutput = d.strAt(key+".extra_output", m["extra_output"], "")
	ef, ok := m["extra_fields"].([]any)
	if m["extra_fields"] != nil && !ok {
		d.fail(key+".extra_fields", "expected a list of field names or name: value pairs, got %s", show(m["extra_fields"]))
	}
	for j, f := range ef {
		a.ExtraFields = append(a.ExtraFields, d.extraField(fmt.Sprintf("%s.extra_fields[%d]", key, j), f)...)
	}
	return a
}

// extraField is a field name, or name: value pairs (static values).
func (d *decoder) extraField(key string, f any) []ExtraField {
	switch f := f.(type) {
	case string:
		return []ExtraField{{Name: f}}
	case map[string]any:
		var out []ExtraField
		for _, k := range sortedKeys(f) {
			out = append(out, ExtraField{Name: k, Value: d.strAt(key+"."+k, f[k], ""), Static: true})
		}
		return out
	}
	d.fail(key, "expected a field name or name: value pairs, got %s", show(f))
	return nil
}

func (d *decoder) decodePeregrine(p *Peregrine) {
	p.StateDir = d.str("peregrine.state_dir", "")
	p.Overflow = d.str("peregrine.overflow", "block")
	if p.Overflow != "block" && p.Overflow != "drop" {
		d.fail("peregrine.overflow", "%q must be block or drop", p.Overflow)
	}
	p.RateLimit = d.str("peregrine.rate_limit", "delay")
	if p.RateLimit != "delay" && p.RateLimit != "drop" {
		d.fail("peregrine.rate_limit", "%q must be delay or drop", p.RateLimit)
	}
	p.DrainTimeout = d.duration("peregrine.drain_timeout", 30*time.Second, time.Second)
	p.SilenceTimeout = d.duration("peregrine.source_silence.timeout", 10*time.Minute, time.Second)
	p.SilencePriority = d.str("peregrine.source_silence.priority", "warning")
	p.RedactOutputs = d.bool("peregrine.redact_outputs", false)
	p.SpoolMaxBytes = int64(d.int("peregrine.spool.max_bytes", 1<<30))
	p.Workers = d.int("peregrine.workers", 0)
	p.LogFormat = d.str("peregrine.log_format", "text")
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
