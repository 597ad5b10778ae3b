// Package config reads a falco.yaml-compatible configuration: a Falco user's
// existing file works unchanged. It sits at the start of the data path: the
// CLI loads a Config, then builds the rules, engine and outputs from it.
//
// Loading has two stages. document.go builds the configuration as YAML
// nodes, which keep their lines: the main file, merge.go's config_files,
// config.go's -o options. The decoder (decoder.go) then reads typed keys
// from it: config.go the engine and output keys replay needs, daemon.go
// the keys of `peregrine run`, plugins.go plugins and rules selectors.
// Problems carry the file and line that set their key (diag.go). Sources
// read their init_config from Plugins.
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
	// Warnings are non-fatal findings (keys Peregrine does not use, ...),
	// each "FILE:LINE:COL: message" when its place is known.
	Warnings []string
	// Diags are the same warnings with their places apart (validate).
	Diags []Diag
	// Raw is the whole document after ${VAR} expansion and -o overrides.
	Raw map[string]any
	// doc knows where each key was written, for problems found later.
	doc *document
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
	if err := c.decode(nil); err != nil {
		panic(err) // an empty document always decodes
	}
	return c
}

// Load reads path (when not empty) with its config_files, applies the -o
// overrides (see applyOverride) and decodes the result. An invalid
// configuration is an *Error, each problem placed at the file and line
// (or the -o option) that set its key.
func Load(path string, overrides []string) (*Config, error) {
	doc, err := loadDocument(path, overrides)
	if err != nil {
		return nil, err
	}
	raw, err := doc.decodeRaw()
	if err != nil {
		return nil, err
	}
	c := &Config{Path: path, Raw: raw, Files: doc.files, doc: doc}
	for _, n := range doc.notes {
		c.warn(n)
	}
	if err := c.decode(doc); err != nil {
		return nil, err
	}
	return c, nil
}

// loadDocument builds the document the decoder reads: the files merged,
// the options applied, a legacy webserver snippet adopted.
func loadDocument(path string, overrides []string) (*document, error) {
	doc := newDocument(path)
	if path != "" {
		root, err := doc.readFile(path)
		if err != nil {
			return nil, err
		}
		doc.root = root
		doc.mark(root, path)
		doc.files = append(doc.files, path)
		if err := doc.mergeConfigFiles(); err != nil {
			return nil, err
		}
	}
	for _, o := range overrides {
		if err := doc.applyOverride(o); err != nil {
			return nil, err
		}
	}
	doc.adoptLegacyWebserver()
	return doc, nil
}

func (c *Config) warn(d Diag) {
	d.Warning = true
	c.Diags = append(c.Diags, d)
	c.Warnings = append(c.Warnings, d.String())
}

// expandNode replaces ${VAR} in every scalar with the environment
// variable's value; "$${x}" gives a literal "${x}". unset is called for
// each reference to a variable that is not set.
func expandNode(n *yaml.Node, unset func(name string, n *yaml.Node)) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = expand(n.Value, func(name string) { unset(name, n) })
	}
	for _, c := range n.Content {
		expandNode(c, unset)
	}
}

// ExpandEnv expands ${VAR} references as falco.yaml does.
func ExpandEnv(s string) string { return expand(s, func(string) {}) }

// expand is ExpandEnv, calling unset for each variable that is not set.
func expand(s string, unset func(name string)) string {
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
		v, ok := os.LookupEnv(s[i+2 : i+j])
		if !ok {
			unset(s[i+2 : i+j])
		}
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

// applyOverride sets one -o KEY=VALUE as Falco does. KEY is a path of
// names joined by dots, where a name may be followed by [N], element N
// (0-based) of a list, or by [], a new element appended to the list: so
// each -o 'rules[].disable.rule=*' adds one rules: entry, as in Falco.
// Maps and lists on the way are created. VALUE is read as YAML (true,
// 8765, [a, b]); what is not YAML stays a string.
func (d *document) applyOverride(o string) error {
	where := "-o " + o
	key, val, ok := strings.Cut(o, "=")
	if !ok || key == "" {
		return errorAt(rules.Position{File: where}, "expected KEY=VALUE")
	}
	steps, err := parseKey(key)
	if err != nil {
		return errorAt(rules.Position{File: where}, "%v", err)
	}
	v := overrideValue(val)
	d.mark(v, where)
	if err := d.set(d.root, steps, "", v, where); err != nil {
		return errorAt(rules.Position{File: where}, "%v", err)
	}
	return nil
}

// overrideValue reads an option's value as YAML, as it reads today's
// scalars; an empty value is null.
func overrideValue(val string) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(val), &doc); err != nil {
		return newNode(yaml.ScalarNode, val) // "*" and the like: not YAML, a string
	}
	if len(doc.Content) == 0 {
		return nullNode()
	}
	return doc.Content[0]
}

// step is one part of a key path: a mapping key (name), or a list element
// (index; -1 appends a new one).
type step struct {
	name  string
	index int
}

// parseKey splits a key path in Falco's -o syntax: name(.name)*, each
// name followed by any number of [N] or [].
func parseKey(key string) ([]step, error) {
	var steps []step
	for _, part := range strings.Split(key, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" {
			return nil, fmt.Errorf("%q: expected a key name before %q", key, part)
		}
		steps = append(steps, step{name: name})
		if len(part) > len(name) {
			idx, err := parseIndexes(key, "["+rest)
			if err != nil {
				return nil, err
			}
			steps = append(steps, idx...)
		}
	}
	return steps, nil
}

// parseIndexes reads "[N][]..." after a name.
func parseIndexes(key, s string) ([]step, error) {
	var steps []step
	for s != "" {
		end := strings.IndexByte(s, ']')
		if s[0] != '[' || end < 0 {
			return nil, fmt.Errorf("%q: expected [N] or [] after a key name", key)
		}
		i := -1
		if n := s[1:end]; n != "" {
			var err error
			if i, err = strconv.Atoi(n); err != nil || i < 0 {
				return nil, fmt.Errorf("%q: expected an index, found %q", key, n)
			}
		}
		steps = append(steps, step{index: i})
		s = s[end+1:]
	}
	return steps, nil
}

// set puts v at steps below n (reached by path done), creating the maps
// and list elements that are missing. A key that set replaces gets the
// option's key node, so a problem with it names the option.
func (d *document) set(n *yaml.Node, steps []step, done string, v *yaml.Node, where string) error {
	s, last := steps[0], len(steps) == 1
	slot, name, err := d.slot(n, s, done, last, where)
	if err != nil {
		return err
	}
	if last {
		*slot = v
		return nil
	}
	if isNull(*slot) { // absent or empty: make what the next step needs
		kind := yaml.MappingNode
		if steps[1].name == "" {
			kind = yaml.SequenceNode
		}
		*slot = newNode(kind, "")
		d.origin[*slot] = where
	}
	return d.set(deref(*slot), steps[1:], name, v, where)
}

// slot returns where the value of one step lives in n, adding a key or an
// element when the step asks for one that is not there.
func (d *document) slot(n *yaml.Node, s step, done string, last bool, where string) (*(*yaml.Node), string, error) {
	if s.name != "" {
		return d.keySlot(n, s.name, done, last, where)
	}
	name := fmt.Sprintf("%s[%d]", done, s.index)
	if s.index < 0 {
		name = done + "[]"
	}
	if n.Kind != yaml.SequenceNode {
		return nil, "", fmt.Errorf("%s is %s, not a list", done, kindName(n))
	}
	i := s.index
	if i < 0 || i == len(n.Content) {
		e := nullNode()
		d.origin[e] = where
		n.Content = append(n.Content, e)
		i = len(n.Content) - 1
	}
	if i >= len(n.Content) {
		return nil, "", fmt.Errorf("%s has %d elements: [%d] is past the end; [] adds one", done, len(n.Content), i)
	}
	return &n.Content[i], name, nil
}

func (d *document) keySlot(n *yaml.Node, key, done string, last bool, where string) (*(*yaml.Node), string, error) {
	name := key
	if done != "" {
		name = done + "." + key
	}
	if n.Kind == yaml.SequenceNode {
		return nil, "", fmt.Errorf("%s is a list: write %s[N] to set in element N (0-based), %s[] to add one", done, done, done)
	}
	if n.Kind != yaml.MappingNode {
		return nil, "", fmt.Errorf("%s is %s, not a mapping", done, kindName(n))
	}
	k := newNode(yaml.ScalarNode, key)
	d.origin[k] = where
	j := pairIndex(n, key)
	switch {
	case j < 0:
		e := nullNode()
		d.origin[e] = where
		n.Content = append(n.Content, k, e)
		j = len(n.Content) - 2
	case last:
		n.Content[j] = k
	}
	return &n.Content[j+1], name, nil
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

// decode reads the raw document into c. Every problem is collected, so
// one run names them all; any error makes the whole an *Error.
func (c *Config) decode(doc *document) error {
	d := newDecoder(c.Raw)
	c.decodeEngine(d)
	c.decodeSelectors(d)
	c.decodePlugins(d)
	c.decodeDaemon(d)
	if _, err := c.KafkaOutput(); err != nil { // so validate -c reports it
		d.errs = append(d.errs, problem{keyOf(err.Error()), err.Error()})
	}
	c.warnUnused(d)
	for _, w := range d.warnings {
		c.warn(Diag{Pos: doc.pos(w.key), Msg: w.msg})
	}
	if len(d.errs) == 0 {
		return nil
	}
	e := &Error{Warnings: c.Diags}
	for _, p := range d.errs {
		e.Diags = append(e.Diags, Diag{Pos: doc.pos(p.key), Msg: p.msg})
	}
	return e
}

// decodeEngine reads the keys the rules engine and the alert format use.
func (c *Config) decodeEngine(d *decoder) {
	c.RulesFiles = d.strings("rules_files")
	if old := d.strings("rules_file"); old != nil {
		if c.RulesFiles != nil {
			d.fail("rules_file", "both rules_files and rules_file are set; use rules_files")
		}
		c.RulesFiles = old
	}
	prio := d.str("priority", "debug")
	p, ok := rules.ParsePriority(prio)
	if !ok {
		d.fail("priority", "Unknown priority %q--must be one of emergency, alert, critical, error, warning, notice, informational, debug", prio)
	}
	c.Priority = p
	switch m := strings.ToLower(d.str("rule_matching", "first")); m {
	case "first", "all":
		c.MatchAll = m == "all"
	default:
		d.fail("rule_matching", "Unknown rule matching strategy %q--must be one of first, all", m)
	}
	c.JSONOutput = d.bool("json_output", false)
	c.JSONIncludeOutputProperty = d.bool("json_include_output_property", true)
	c.JSONIncludeTagsProperty = d.bool("json_include_tags_property", true)
	c.JSONIncludeMessageProperty = d.bool("json_include_message_property", false)
	c.JSONIncludeOutputFieldsProperty = d.bool("json_include_output_fields_property", true)
	c.TimeFormatISO8601 = d.bool("time_format_iso_8601", false)
	c.StdoutOutput = d.bool("stdout_output.enabled", true)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
