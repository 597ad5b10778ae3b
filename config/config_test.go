package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/rules"
)

// loadIn writes files (name: content) into a temporary directory, loads
// its falco.yaml with the options and returns the configuration and the
// error text, with the directory cut from both so that the tables read
// as a user sees them.
func loadIn(t *testing.T, files map[string]string, opts ...string) (*Config, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(filepath.Join(dir, "falco.yaml"), opts)
	if err != nil {
		return nil, strings.ReplaceAll(err.Error(), dir+"/", "")
	}
	for i, w := range c.Warnings {
		c.Warnings[i] = strings.ReplaceAll(w, dir+"/", "")
		c.Diags[i].Pos.File = strings.TrimPrefix(c.Diags[i].Pos.File, dir+"/")
	}
	return c, ""
}

// TestWrongTypes: a value of the wrong type is an error naming the key
// and where it was written, never a warning with the default used.
func TestWrongTypes(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"bool", "json_output: yes-please\n",
			`falco.yaml:1:1: json_output: expected a bool (true or false), got "yes-please"`},
		{"port", "webserver:\n  enabled: true\n  listen_port: eighty\n",
			`falco.yaml:3:3: webserver.listen_port: expected an integer, got "eighty"`},
		{"not a port", "webserver: {listen_port: 70000}\n",
			`falco.yaml:1:13: webserver.listen_port: 70000 is not a port`},
		{"fraction", "outputs: {max_burst: 1.5}\n",
			`falco.yaml:1:11: outputs.max_burst: expected an integer, got 1.5`},
		{"float", "outputs:\n  rate: fast\n",
			`falco.yaml:2:3: outputs.rate: expected a number, got "fast"`},
		{"duration", "peregrine:\n  source_silence:\n    timeout: soon\n",
			`falco.yaml:3:5: peregrine.source_silence.timeout: expected a duration (30s, 10m) or a number, got "soon"`},
		{"block", "webserver: true\n",
			`falco.yaml:1:1: webserver: expected a mapping, got true`},
		{"list of strings", "rules_files: {a: b}\n",
			`falco.yaml:1:1: rules_files: expected a list of strings, got a mapping`},
		{"list element", "rules_files:\n  - a.yaml\n  - [b.yaml]\n",
			`falco.yaml:3:5: rules_files[1]: expected a string, got a list`},
		{"list required", "append_output: {a: b}\n",
			`falco.yaml:1:1: append_output: expected a list, got a mapping`},
		{"string", "plugins:\n  - name: k8saudit\n    open_params: [a]\n",
			`falco.yaml:3:5: plugins[0].open_params: expected a string, got a list`},
		{"selector", "rules:\n  - enable: {rule: [x]}\n",
			`falco.yaml:2:14: rules[0].enable.rule: expected a string, got a list`},
		{"every problem at once", "json_output: 2\nbuffered_outputs: sometimes\n",
			"falco.yaml:1:1: json_output: expected a bool (true or false), got 2\n" +
				`falco.yaml:2:1: buffered_outputs: expected a bool (true or false), got "sometimes"`},
		{"Falco's own words", "priority: loud\n",
			`falco.yaml:1:1: priority: Unknown priority "loud"--must be one of emergency, alert, critical, error, warning, notice, informational, debug`},
		{"kafka_output", "kafka_output:\n  enabled: true\n  brokers: k:9092\n  topic: a\n  key: user\n",
			`falco.yaml:5:3: kafka_output.key: "user" must be rule, priority, hostname, cluster, none or field:NAME`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := loadIn(t, map[string]string{"falco.yaml": tc.doc})
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestAcceptedValues: what Falco's yaml-cpp reads as a bool or a number
// is read alike.
func TestAcceptedValues(t *testing.T) {
	tests := []struct {
		doc  string
		want func(c *Config) bool
	}{
		{"json_output: yes", func(c *Config) bool { return c.JSONOutput }},
		{"json_output: ON", func(c *Config) bool { return c.JSONOutput }},
		{"json_output: True", func(c *Config) bool { return c.JSONOutput }},
		{"json_include_tags_property: off", func(c *Config) bool { return !c.JSONIncludeTagsProperty }},
		{"json_include_tags_property: n", func(c *Config) bool { return !c.JSONIncludeTagsProperty }},
		{`webserver: {listen_port: "9000"}`, func(c *Config) bool { return c.Daemon.Webserver.ListenPort == 9000 }},
		{"outputs: {rate: 2}", func(c *Config) bool { return c.Daemon.Rate == 2 }},
		{"rules_files: /etc/falco/rules.d", func(c *Config) bool { return len(c.RulesFiles) == 1 }},
		{"static_fields: {port: 80}", func(c *Config) bool { return c.Daemon.StaticFields[0].Value == "80" }},
	}
	for _, tc := range tests {
		c, err := loadIn(t, map[string]string{"falco.yaml": tc.doc})
		if err != "" || !tc.want(c) {
			t.Errorf("%s: %s", tc.doc, err)
		}
	}
	if _, err := loadIn(t, map[string]string{"falco.yaml": "json_output: yEs"}); err == "" {
		t.Error("yEs read as a bool; yaml-cpp takes lower, upper or capitalised only")
	}
}

// TestOverrides: -o options in Falco's syntax give the same document as
// the YAML beside them. Each key[] appends a new element, as in Falco;
// key[N] sets inside element N.
func TestOverrides(t *testing.T) {
	tests := []struct {
		name string
		doc  string // falco.yaml before the options
		opts []string
		yaml string // the document the options amount to
	}{
		{"dotted keys", "webserver: {enabled: true}", []string{"webserver.listen_port=9000", "json_output=true"},
			"webserver: {enabled: true, listen_port: 9000}\njson_output: true"},
		{"a key[] per selector", "", []string{"rules[].disable.rule=*", "rules[].enable.rule=Privileged container in a pod"},
			`rules: [{disable: {rule: "*"}}, {enable: {rule: Privileged container in a pod}}]`},
		{"[] appends to the file's list", "rules: [{disable: {tag: k8s}}]", []string{"rules[].enable.rule=R"},
			"rules: [{disable: {tag: k8s}}, {enable: {rule: R}}]"},
		{"[N] sets inside element N", "rules: [{disable: {rule: a}}]", []string{"rules[0].disable.rule=b"},
			"rules: [{disable: {rule: b}}]"},
		{"[N] one past the end appends", "rules: [{disable: {rule: a}}]", []string{"rules[1].enable.rule=b"},
			"rules: [{disable: {rule: a}}, {enable: {rule: b}}]"},
		{"two key[] are two entries", "", []string{"append_output[].match.source=k8s_audit", "append_output[].extra_output=x"},
			"append_output: [{match: {source: k8s_audit}}, {extra_output: x}]"},
		{"key[] then key[0] fill one entry", "", []string{"append_output[].match.source=k8s_audit", "append_output[0].extra_output=x"},
			"append_output: [{match: {source: k8s_audit}, extra_output: x}]"},
		{"scalar elements", "rules_files: [a.yaml]", []string{"rules_files[]=b.yaml"},
			"rules_files: [a.yaml, b.yaml]"},
		{"inside a plugin", "plugins: [{name: k8saudit, init_config: {maxEventSize: 1}}]", []string{"plugins[0].init_config.maxEventSize=2048"},
			"plugins: [{name: k8saudit, init_config: {maxEventSize: 2048}}]"},
		{"an empty block", "webserver:\n", []string{"webserver.enabled=false"},
			"webserver: {enabled: false}"},
		{"values are YAML", "", []string{"rules_files=[a.yaml, b.yaml]", "static_fields.n=5", "log_level="},
			"rules_files: [a.yaml, b.yaml]\nstatic_fields: {n: 5}\nlog_level:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadIn(t, map[string]string{"falco.yaml": tc.doc}, tc.opts...)
			want, werr := loadIn(t, map[string]string{"falco.yaml": tc.yaml})
			if err != "" || werr != "" {
				t.Fatalf("%s %s", err, werr)
			}
			if !reflect.DeepEqual(got.Raw, want.Raw) {
				t.Errorf("document\n got  %v\n want %v", got.Raw, want.Raw)
			}
		})
	}
	got, _ := loadIn(t, map[string]string{"falco.yaml": ""}, "rules[].disable.rule=*", "rules[].enable.rule=Privileged container in a pod")
	if want := []rules.Selector{{Rule: "*"}, {Enable: true, Rule: "Privileged container in a pod"}}; !reflect.DeepEqual(got.Selectors, want) {
		t.Errorf("selectors %+v, want %+v", got.Selectors, want)
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct{ doc, opt, want string }{
		{"", "json_output", `-o json_output: expected KEY=VALUE`},
		{"rules: [{disable: {rule: a}}]", "rules.0.disable.rule=*",
			`-o rules.0.disable.rule=*: rules is a list: write rules[N] to set in element N (0-based), rules[] to add one`},
		{"rules: [{disable: {rule: a}}]", "rules[3].disable.rule=*",
			`-o rules[3].disable.rule=*: rules has 1 elements: [3] is past the end; [] adds one`},
		{"json_output: true", "json_output[]=true", `-o json_output[]=true: json_output is a value, not a list`},
		{"json_output: true", "json_output.x=true", `-o json_output.x=true: json_output is a value, not a mapping`},
		{"", "rules[x].enable.rule=a", `-o rules[x].enable.rule=a: "rules[x].enable.rule": expected an index, found "x"`},
		{"", "rules[0.enable=a", `-o rules[0.enable=a: "rules[0.enable": expected [N] or [] after a key name`},
		{"", "a..b=1", `-o a..b=1: "a..b": expected a key name before ""`},
		{"", "webserver.listen_port=eighty", `-o webserver.listen_port=eighty: webserver.listen_port: expected an integer, got "eighty"`},
	}
	for _, tc := range tests {
		if _, got := loadIn(t, map[string]string{"falco.yaml": tc.doc}, tc.opt); got != tc.want {
			t.Errorf("-o %s\n got  %s\n want %s", tc.opt, got, tc.want)
		}
	}
}

// TestPositions: a problem names the file and line that set the final
// value: a later config_files file, or the -o option.
func TestPositions(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		opts  []string
		want  string // the error, or the warnings joined by newlines
	}{
		{"set in a config_files file", map[string]string{
			"falco.yaml": "config_files: [extra.yaml]\n",
			"extra.yaml": "# extra\nwebserver:\n  listen_port: eighty\n"},
			nil, `extra.yaml:3:3: webserver.listen_port: expected an integer, got "eighty"`},
		{"replaced by a config_files file", map[string]string{
			"falco.yaml": "webserver:\n  listen_port: 80\nconfig_files: [extra.yaml]\n",
			"extra.yaml": "webserver: {listen_port: eighty}\n"},
			nil, `extra.yaml:1:13: webserver.listen_port: expected an integer, got "eighty"`},
		{"add-only keeps the main file's", map[string]string{
			"falco.yaml": "json_output: maybe\nconfig_files: [{path: extra.yaml, strategy: add-only}]\n",
			"extra.yaml": "json_output: true\n"},
			nil, `falco.yaml:1:1: json_output: expected a bool (true or false), got "maybe"`},
		{"appended list element", map[string]string{
			"falco.yaml": "rules: [{enable: {rule: a}}]\nconfig_files: [extra.yaml]\n",
			"extra.yaml": "rules:\n  - enable: {tag: [b]}\n"},
			nil, `extra.yaml:2:14: rules[1].enable.tag: expected a string, got a list`},
		{"replaced by an option", map[string]string{"falco.yaml": "webserver:\n  listen_port: 80\n"},
			[]string{"webserver.listen_port=x"}, `-o webserver.listen_port=x: webserver.listen_port: expected an integer, got "x"`},
		{"warnings", map[string]string{
			"falco.yaml": "config_files:\n  - extra.yaml\n  - missing.d\nplugins:\n  - name: cloudtrail\n",
			"extra.yaml": "\nengine: {kind: modern_ebpf}\n"},
			nil, "falco.yaml:3:5: config_files: missing.d does not exist; skipped\n" +
				`falco.yaml:5:5: plugin "cloudtrail" is not part of the k8saudit family; Peregrine cannot run it` + "\n" +
				`extra.yaml:2:1: config key "engine" is not used by Peregrine; ignored`},
		{"legacy webserver keys", map[string]string{"falco.yaml": "enabled: true\nlisten_port: x\nk8s_audit_endpoint: /k8s_audit\n"},
			nil, `falco.yaml:2:1: webserver.listen_port: expected an integer, got "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, got := loadIn(t, tc.files, tc.opts...)
			if c != nil {
				got = strings.ReplaceAll(strings.Join(c.Warnings, "\n"), filepath.Dir(c.Path)+"/", "")
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestDiags: warnings carry their place apart too, for validate --json.
func TestDiags(t *testing.T) {
	c, _ := loadIn(t, map[string]string{"falco.yaml": "# comment\n\n  # indented\nmetrics: {enabled: true}\n"})
	want := []Diag{{Pos: rules.Position{File: "falco.yaml", Line: 4, Col: 1}, Warning: true,
		Msg: `config key "metrics" is not used by Peregrine; ignored`}}
	if !reflect.DeepEqual(c.Diags, want) {
		t.Errorf("diags %+v", c.Diags)
	}
}

// TestUnusedNestedKeys: inside the blocks of known shape, a key nothing
// reads gets a warning at its line, with the key probably meant; blocks
// of user data are not looked into.
func TestUnusedNestedKeys(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"typo in http_output", "http_output:\n  enabled: false\n  insecur: true\n",
			[]string{`falco.yaml:3:3: config key "http_output.insecur" is not used by Peregrine; ignored (did you mean "http_output.insecure"?)`}},
		{"Falco key without use here", "webserver:\n  threadiness: 4\n",
			[]string{`falco.yaml:2:3: config key "webserver.threadiness" is not used by Peregrine; ignored`}},
		{"two levels down", "peregrine:\n  source_silence: {timout: 5m}\n",
			[]string{`falco.yaml:2:20: config key "peregrine.source_silence.timout" is not used by Peregrine; ignored (did you mean "peregrine.source_silence.timeout"?)`}},
		{"kafka_output", "kafka_output:\n  enabled: false\n  brokers: [k:9092]\n  topc: alerts\n",
			[]string{`falco.yaml:4:3: config key "kafka_output.topc" is not used by Peregrine; ignored (did you mean "kafka_output.topic"?)`}},
		{"user data not walked", "static_fields:\n  anything: x\nappend_output:\n  - match: {source: k8s_audit}\n    extra_output: x\n", nil},
		{"all known", "webserver: {enabled: true, listen_port: 8765}\nhttp_output: {enabled: false, url: http://x}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, errText := loadIn(t, map[string]string{"falco.yaml": tt.doc})
			if errText != "" {
				t.Fatal(errText)
			}
			if !reflect.DeepEqual(c.Warnings, tt.want) && !(len(c.Warnings) == 0 && len(tt.want) == 0) {
				t.Errorf("warnings\n%q\nwant\n%q", c.Warnings, tt.want)
			}
		})
	}
}

// TestUnsetVariables: ${VAR} of a variable that is not set reads as "" and
// is said where it is written; a set one, even empty, says nothing.
func TestUnsetVariables(t *testing.T) {
	t.Setenv("PG_TEST_SET", "")
	doc := "plugins:\n  - name: k8saudit-aks\n    init_config:\n      event_hub_name: ${PG_TEST_UNSET}\n      blob_storage_container_name: x${PG_TEST_SET}\n"
	c, errText := loadIn(t, map[string]string{"falco.yaml": doc})
	if errText != "" {
		t.Fatal(errText)
	}
	want := []string{"falco.yaml:4:23: environment variable PG_TEST_UNSET is not set: ${PG_TEST_UNSET} reads as the empty string"}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Errorf("warnings %q, want %q", c.Warnings, want)
	}
	ic, _ := c.Plugins[0].InitMap()
	if ic["event_hub_name"] != "" || ic["blob_storage_container_name"] != "x" {
		t.Errorf("init_config %v", ic)
	}
}

// TestYAMLErrors: a file that is not YAML is FILE:LINE: message, with
// yaml.v3's own line.
func TestYAMLErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"rules:\n  - a\n b: c\n", "falco.yaml:2: did not find expected key"},
		{"a: [b\n", "falco.yaml:1: did not find expected ',' or ']'"},
		{"a: b\na: c\n", `falco.yaml:2: mapping key "a" already defined at line 1`},
		{"- a\n", "falco.yaml:1:1: expected a mapping of configuration keys, got a list"},
	}
	for _, tc := range tests {
		if _, got := loadIn(t, map[string]string{"falco.yaml": tc.doc}); got != tc.want {
			t.Errorf("%q\n got  %s\n want %s", tc.doc, got, tc.want)
		}
	}
	if _, got := loadIn(t, map[string]string{"falco.yaml": "config_files: [x.yaml]", "x.yaml": "a: [b\n"}); got != "x.yaml:1: did not find expected ',' or ']'" {
		t.Errorf("config_files file: %s", got)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml"), nil); err == nil || !strings.HasSuffix(err.Error(), "none.yaml: no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
}
