package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var binary string

// TestMain builds the real binary once; the tests run it as users do.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "peregrine-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "peregrine")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "FALCO_HOSTNAME=test-host")
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	sample    = "../../testdata/sample-audit.jsonl"
	testRules = "testdata/rules.yaml"
)

// TestReplaySample: the README's first command prints alerts (default
// rules) and a summary.
func TestReplaySample(t *testing.T) {
	out, errOut, code := run(t, "", "replay", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "mallory@example.com"); n < 5 {
		t.Errorf("%d alerts about the sample's attacker, want at least 5:\n%s", n, out)
	}
	if !strings.Contains(errOut, "Events read: 33") || !strings.Contains(errOut, "Alerts by rule:") {
		t.Errorf("summary missing:\n%s", errOut)
	}
}

// TestReplayRules: -r replaces the default rules; alerts are Falco's text
// lines.
func TestReplayRules(t *testing.T) {
	out, _, code := run(t, "", "replay", "-q", "-r", testRules, sample)
	want := "09:40:30.793919000: Warning Privileged pod created (user=mallory@example.com pod=(tools))\n" +
		"09:40:36.801710000: Notice Exec (pod=shop-api-6b7c-x1)\n" +
		"09:40:44.623241000: Error Anonymous request allowed (uri=/api/v1/secrets)\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, got:\n%s\nwant:\n%s", code, out, want)
	}
}

func TestReplayJSONAndStdin(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, string(data), "replay", "-q", "--json", "-")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 5 {
		t.Fatalf("%d alerts", len(lines))
	}
	for _, l := range lines {
		var a map[string]any
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		if a["hostname"] != "test-host" || a["source"] != "k8s_audit" {
			t.Errorf("alert %s", l)
		}
	}
}

// TestReplayMalformed: bad lines are reported with file, line and offset and
// skipped; --strict turns them into exit 1.
func TestReplayMalformed(t *testing.T) {
	data, _ := os.ReadFile(sample)
	first := strings.SplitN(string(data), "\n", 2)[0]
	p := writeFile(t, "bad.jsonl", first+"\n{not json\n"+first+"\n")
	_, errOut, code := run(t, "", "replay", p)
	if code != 0 || !strings.Contains(errOut, "bad.jsonl:2") || !strings.Contains(errOut, "Events read: 2") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if _, _, code := run(t, "", "replay", "--strict", p); code != 1 {
		t.Errorf("--strict exit %d, want 1", code)
	}
}

// TestReplayRefuses: what cannot be meant fails before anything is read: a
// usage error with 2, an input that does not exist with 1.
func TestReplayRefuses(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"replay", "nonexistent.jsonl"}, 1, "no such file"},
		{[]string{"replay", sample, "nonexistent.jsonl"}, 1, "no such file"},
		{[]string{"replay", "--since", "2h", sample}, 2, "apply to --source"},
		{[]string{"replay", "--source", "k8saudit-eks", "--since", "2h"}, 2, "give it with -c"},
		{[]string{"replay", "--workers", "0", sample}, 2, "--workers"},
		{[]string{"replay", "--max-event-size", "-1", sample}, 2, "--max-event-size"},
		{[]string{"replay"}, 2, "needs input paths"},
		{[]string{"replay", "--source", "k8saudit-eks", "--since", "2h", sample}, 2, "exclude each other"},
	}
	for _, tt := range tests {
		out, errOut, code := run(t, "", tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.msg) || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q", tt.args, code, out, errOut, tt.code, tt.msg)
		}
	}
}

func TestReplayOptions(t *testing.T) {
	out, _, _ := run(t, "", "replay", "-q", "-r", testRules, "-o", "priority=error", sample)
	if n := strings.Count(out, "\n"); n != 1 || !strings.Contains(out, "Error Anonymous") {
		t.Errorf("priority=error: %q", out)
	}
	out, _, _ = run(t, "", "replay", "-q", "-o", "time_format_iso_8601=true", "--json", sample)
	if !strings.Contains(out, `"evt.time.iso8601":`) || !strings.Contains(out, `"output":"2024-11-24T09:40:30.`) {
		t.Errorf("iso8601: %.300s", out)
	}
	if _, errOut, code := run(t, "", "replay", "-o", "rule_matching=some", sample); code != 1 || !strings.Contains(errOut, "Unknown rule matching strategy") {
		t.Errorf("bad rule_matching: exit %d %s", code, errOut)
	}
}

// TestValidate: exit 0 on good rules, 1 with FILE:LINE:COL on bad ones, 2 on
// usage errors.
func TestValidate(t *testing.T) {
	good := writeFile(t, "good.yaml", "- rule: R\n  desc: d\n  condition: ka.verb = create\n  output: o\n  priority: INFO\n  source: k8s_audit\n")
	if out, _, code := run(t, "", "validate", "-r", good); code != 0 || !strings.Contains(out, "0 errors") {
		t.Errorf("good: exit %d %s", code, out)
	}
	bad := writeFile(t, "bad.yaml", "- rule: R\n  desc: d\n  condition: >\n    ka.verb = create and\n    ka.nope = 1\n  output: o\n  priority: INFO\n  source: k8s_audit\n")
	out, _, code := run(t, "", "validate", "-r", bad)
	if code != 1 || !strings.Contains(out, "bad.yaml:5:5: rule 'R': filter_check called with nonexistent field ka.nope") {
		t.Errorf("bad: exit %d\n%s", code, out)
	}
	out, _, _ = run(t, "", "validate", "--json", "-r", bad)
	var diags []map[string]any
	if err := json.Unmarshal([]byte(out), &diags); err != nil || len(diags) != 1 || diags[0]["line"] != 5.0 {
		t.Errorf("--json: %v %s", err, out)
	}
	if _, _, code := run(t, "", "validate"); code != 2 {
		t.Errorf("no args: exit %d, want 2", code)
	}
	if _, _, code := run(t, "", "replay", "--no-such-flag", sample); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}

// TestValidateConfig: validate -c reports the configuration's problems as
// it does the rules': FILE:LINE:COL (or FILE), on stdout, as text or JSON;
// the plugin entries are checked as run reads them.
func TestValidateConfig(t *testing.T) {
	tests := []struct {
		name, doc string
		code      int
		want      []string // in the text output
		severity  string   // of the first JSON problem
	}{
		{"wrong type", "json_output: true\nwebserver:\n  listen_port: eighty\n", 1,
			[]string{"falco.yaml:3:", "webserver.listen_port", "eighty", "no rules checked"}, "error"},
		{"misspelled init_config key", "plugins:\n  - name: k8saudit\n    library_path: x\n    init_config: {bearer_token: [abc]}\n    open_params: http://:9765/k8s-audit\n", 0,
			[]string{`falco.yaml:4:5: warning: plugin k8saudit: init_config key "bearer_token"`, `did you mean "bearer_tokens"`}, "warning"},
		{"bad init_config value", "plugins:\n  - name: k8saudit\n    library_path: x\n    init_config: {maxEventSize: big}\n    open_params: http://:9765/k8s-audit\n", 1,
			[]string{"falco.yaml:4:5: plugin k8saudit: init_config.maxEventSize", "1 errors"}, "error"},
		{"unused key", "not_a_key: 1\n", 0, []string{`falco.yaml:1:1: warning: config key "not_a_key"`}, "warning"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "falco.yaml", tt.doc)
			out, errOut, code := run(t, "", "validate", "-c", p)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			out, _, _ = run(t, "", "validate", "--json", "-c", p)
			var probs []struct{ File, Severity, Message string }
			if err := json.Unmarshal([]byte(out), &probs); err != nil || len(probs) == 0 {
				t.Fatalf("--json: %v: %q", err, out)
			}
			if probs[0].File != p || probs[0].Severity != tt.severity {
				t.Errorf("--json first problem %+v, want file %s, %s", probs[0], p, tt.severity)
			}
		})
	}
}

func TestInfoCommands(t *testing.T) {
	out, _, code := run(t, "", "version")
	if code != 0 || !strings.Contains(out, "peregrine ") || !strings.Contains(out, "go: go1.") {
		t.Errorf("version: %s", out)
	}
	out, _, _ = run(t, "", "fields", "--json")
	var fs []map[string]any
	if err := json.Unmarshal([]byte(out), &fs); err != nil || len(fs) < 100 {
		t.Errorf("fields --json: %v, %d fields", err, len(fs))
	}
	out, _, _ = run(t, "", "rules", "--json")
	var rs []map[string]any
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) == 0 || rs[0]["rule"] == nil || rs[0]["tags"] == nil {
		t.Errorf("rules --json: %v %.200s", err, out)
	}
}

// TestReplayDefaultToken: -r '<default>' layers a user file over the
// embedded rules.
func TestReplayDefaultToken(t *testing.T) {
	out, _, _ := run(t, "", "rules", "--json")
	var rs []map[string]any
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) == 0 {
		t.Fatal(err)
	}
	// Disable every default rule but keep the file loadable: the layered
	// run then prints nothing.
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("- rule: " + r["rule"].(string) + "\n  enabled: false\n  override:\n    enabled: replace\n")
	}
	over := writeFile(t, "over.yaml", b.String())
	if out, errOut, code := run(t, "", "replay", "-q", "-r", "<default>", "-r", over, sample); code != 0 || out != "" {
		t.Errorf("layered run: exit %d, %d alert bytes, stderr %s", code, len(out), errOut)
	}
}
