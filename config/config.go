// Package config reads a falco.yaml-compatible configuration: a Falco user's
// existing file works unchanged. It sits at the start of the data path: the
// CLI loads a Config, then builds the rules, engine and outputs from it.
//
// config.go holds the engine and output keys replay needs, daemon.go the
// keys of `peregrine run`, merge.go config_files; sources read their
// init_config from Plugins.
package config

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/peregrine-sec/peregrine/rules"
)

// Config is the parsed configuration.
type Config struct {
	// Path is the file the configuration came from ("" for defaults).
	Path string
	// RulesFiles are the rules_files entries (paths, files or directories).
	RulesFiles []string
	Priority   rules.Priority
	// MatchAll is rule_matching: all.
	MatchAll bool
	// Selectors are the rules: enable/disable entries, in order.
	Selectors []rules.Selector

	JSONOutput                      bool
	JSONIncludeOutputProperty       bool
	JSONIncludeTagsProperty         bool
	JSONIncludeMessageProperty      bool
	JSONIncludeOutputFieldsProperty bool
	TimeFormatISO8601               bool
	StdoutOutput                    bool

	Plugins     []Plugin
	LoadPlugins []string // nil: every entry of Plugins
	// Daemon holds the keys only `peregrine run` reads.
	Daemon Daemon
	// Files are the configuration files read, main file first, then the
	// config_files in merge order (what watch_config_files watches).
	Files []string
	// Warnings are non-fatal findings (keys Peregrine does not use, ...).
	Warnings []string
	// Raw is the whole document after ${VAR} expansion and -o overrides.
	Raw map[string]any
}

// Plugin is one entry of plugins:.
type Plugin struct {
	Name        string
	LibraryPath string
	InitConfig  any // a string, or a map as written
	OpenParams  string
}

// Default returns Falco's defaults.
func Default() *Config {
	c := &Config{Raw: map[string]any{}}
	if err := c.decode(); err != nil {
		panic(err) // an empty document always decodes
	}
	return c
}

// Load reads path (when not empty), applies the -o overrides (KEY=VALUE,
// dotted keys, YAML values) and decodes the result.
func Load(path string, overrides []string) (*Config, error) {
	raw := map[string]any{}
	var files, notes []string
	if path != "" {
		var err error
		if raw, err = readFile(path); err != nil {
			return nil, err
		}
		files = append(files, path)
		if files, notes, err = mergeConfigFiles(raw, path, files); err != nil {
			return nil, err
		}
	}
	for _, o := range overrides {
		if err := applyOverride(raw, o); err != nil {
			return nil, err
		}
	}
	c := &Config{Path: path, Raw: raw, Files: files, Warnings: notes}
	if err := c.decode(); err != nil {
		if path != "" {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, err
	}
	return c, nil
}

// readFile reads one YAML configuration file, with ${VAR} expanded.
func readFile(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var node yaml.Node
	if err := yaml.Unmarshal(b, &node); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	expandNode(&node)
	raw := map[string]any{}
	if err := node.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return raw, nil
}

// expandNode replaces ${VAR} in every scalar with the environment
// variable's value; "$${x}" gives a literal "${x}".
func expandNode(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = ExpandEnv(n.Value)
	}
	for _, c := range n.Content {
		expandNode(c)
	}
}

// ExpandEnv expands ${VAR} references as falco.yaml does.
func ExpandEnv(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(os.Getenv(s[i+2 : i+j]))
		s = s[i+j+1:]
	}
}

// applyOverride sets one KEY=VALUE, creating intermediate maps.
func applyOverride(raw map[string]any, o string) error {
	key, val, ok := strings.Cut(o, "=")
	if !ok || key == "" {
		return fmt.Errorf("-o %q: expected KEY=VALUE", o)
	}
	var v any
	if err := yaml.Unmarshal([]byte(val), &v); err != nil {
		v = val
	}
	parts := strings.Split(key, ".")
	m := raw
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
	return nil
}

// keys Peregrine reads; every other top-level key gets one warning.
var usedKeys = map[string]bool{
	"rules_files": true, "rules_file": true, "priority": true, "rule_matching": true, "rules": true,
	"json_output": true, "json_include_output_property": true, "json_include_tags_property": true,
	"json_include_message_property": true, "json_include_output_fields_property": true,
	"time_format_iso_8601": true, "stdout_output": true, "plugins": true, "load_plugins": true,
	"webserver": true, "file_output": true, "http_output": true, "program_output": true,
	"syslog_output": true, "outputs_queue": true, "outputs": true, "append_output": true,
	"static_fields": true, "config_files": true, "watch_config_files": true, "peregrine": true,
	"buffered_outputs": true, "output_timeout": true, "log_level": true,
}

// laterKeys are read by parts other issues build (the Kafka sink); they
// are accepted silently here.
var laterKeys = map[string]bool{
	"kafka_output": true,
}

func (c *Config) decode() error {
	d := decoder{raw: c.Raw}
	c.RulesFiles = d.strings("rules_files")
	if old := d.strings("rules_file"); old != nil {
		if c.RulesFiles != nil {
			return fmt.Errorf("both rules_files and rules_file are set; use rules_files")
		}
		c.RulesFiles = old
	}
	prio := d.str("priority", "debug")
	p, ok := rules.ParsePriority(prio)
	if !ok {
		return fmt.Errorf("Unknown priority %q--must be one of emergency, alert, critical, error, warning, notice, informational, debug", prio)
	}
	c.Priority = p
	switch m := strings.ToLower(d.str("rule_matching", "first")); m {
	case "first", "all":
		c.MatchAll = m == "all"
	default:
		return fmt.Errorf("Unknown rule matching strategy %q--must be one of first, all", m)
	}
	c.JSONOutput = d.bool("json_output", false)
	c.JSONIncludeOutputProperty = d.bool("json_include_output_property", true)
	c.JSONIncludeTagsProperty = d.bool("json_include_tags_property", true)
	c.JSONIncludeMessageProperty = d.bool("json_include_message_property", false)
	c.JSONIncludeOutputFieldsProperty = d.bool("json_include_output_fields_property", true)
	c.TimeFormatISO8601 = d.bool("time_format_iso_8601", false)
	c.StdoutOutput = d.boolIn("stdout_output", "enabled", true)
	if err := c.decodeSelectors(d); err != nil {
		return err
	}
	if err := c.decodePlugins(d); err != nil {
		return err
	}
	c.adoptLegacyWebserver()
	if err := c.decodeDaemon(&d); err != nil {
		return err
	}
	if _, err := c.KafkaOutput(); err != nil { // so validate -c reports it
		return err
	}
	c.Warnings = append(c.Warnings, d.errs...)
	c.warnUnused()
	return nil
}

func (c *Config) warnUnused() {
	var keys []string
	for k := range c.Raw {
		if !usedKeys[k] && !laterKeys[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if legacyWebserverKeys[k] {
			continue // adoptLegacyWebserver warned about these
		}
		c.Warnings = append(c.Warnings, fmt.Sprintf("config key %q is not used by Peregrine; ignored", k))
	}
}

// decoder reads typed values from the raw document, collecting type errors
// as warnings (the default is used instead).
type decoder struct {
	raw  map[string]any
	errs []string
}

func (d *decoder) str(key, def string) string {
	v, ok := d.raw[key]
	if !ok || v == nil {
		return def
	}
	return fmt.Sprint(v)
}

func (d *decoder) bool(key string, def bool) bool {
	return d.boolValue(key, d.raw[key], def)
}

func (d *decoder) boolIn(block, key string, def bool) bool {
	m, ok := d.raw[block].(map[string]any)
	if !ok {
		return def
	}
	return d.boolValue(block+"."+key, m[key], def)
}

func (d *decoder) boolValue(name string, v any, def bool) bool {
	switch v := v.(type) {
	case nil:
		return def
	case bool:
		return v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	d.errs = append(d.errs, fmt.Sprintf("config key %s: %v is not a bool; using %v", name, v, def))
	return def
}

func (d *decoder) strings(key string) []string {
	switch v := d.raw[key].(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	default:
		d.errs = append(d.errs, fmt.Sprintf("config key %s: expected a list of strings", key))
		return nil
	}
}

// legacyWebserverKeys are the keys of seed 004's snippet (Falco <= 0.31's
// webserver block, whose "webserver:" line the scraped page lost).
var legacyWebserverKeys = map[string]bool{
	"listen_port": true, "k8s_audit_endpoint": true, "ssl_enabled": true, "ssl_certificate": true,
}

// adoptLegacyWebserver moves top-level webserver keys under webserver:
// when the document has a top-level k8s_audit_endpoint and no webserver
// block says otherwise: a pasted snippet then does what its author meant,
// with one warning that says where the keys belong.
func (c *Config) adoptLegacyWebserver() {
	if _, ok := c.Raw["k8s_audit_endpoint"]; !ok {
		return
	}
	ws, _ := c.Raw["webserver"].(map[string]any)
	if ws == nil {
		ws = map[string]any{}
		c.Raw["webserver"] = ws
	}
	var moved []string
	for _, k := range append(sortedKeys(legacyWebserverKeys), "enabled") {
		v, ok := c.Raw[k]
		if !ok {
			continue
		}
		if _, set := ws[k]; !set {
			ws[k] = v
		}
		delete(c.Raw, k)
		moved = append(moved, k)
	}
	c.Warnings = append(c.Warnings, fmt.Sprintf(
		"config keys %s belong under webserver: (Falco <= 0.31 layout); read as webserver.%s",
		strings.Join(moved, ", "), strings.Join(moved, ", webserver.")))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
