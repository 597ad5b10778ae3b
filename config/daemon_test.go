package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, doc string, overrides ...string) *Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "falco.yaml")
	os.WriteFile(p, []byte(doc), 0o644)
	c, err := Load(p, overrides)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDaemonKeys(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		opts  []string
		check func(t *testing.T, d Daemon)
	}{
		{"defaults", "{}", nil, func(t *testing.T, d Daemon) {
			if d.QueueCapacity != 0 || d.Peregrine.Overflow != "block" || d.Webserver.ListenPort != 8765 ||
				!d.Webserver.Enabled || d.OutputTimeout != 2*time.Second || d.Peregrine.DrainTimeout != 30*time.Second ||
				d.HTTPOutput.UserAgent != "falcosecurity/falco" || !d.FileOutput.KeepAlive || d.ProgramOutput.KeepAlive {
				t.Errorf("%+v", d)
			}
		}},
		{"outputs", `
file_output: {enabled: true, filename: /tmp/a.log, keep_alive: false}
program_output: {enabled: true, program: "jq ."}
http_output: {enabled: true, url: "http://x:2801/", compress_uploads: true, mtls: true}
outputs: {rate: 2.5, max_burst: 10}
outputs_queue: {capacity: 500}
`, nil, func(t *testing.T, d Daemon) {
			if !d.FileOutput.Enabled || d.FileOutput.KeepAlive || d.ProgramOutput.Program != "jq ." ||
				d.HTTPOutput.URL != "http://x:2801/" || !d.HTTPOutput.CompressUploads || !d.HTTPOutput.MTLS ||
				d.Rate != 2.5 || d.MaxBurst != 10 || d.QueueCapacity != 500 {
				t.Errorf("%+v", d)
			}
		}},
		{"peregrine block and -o", `
peregrine:
  state_dir: /var/lib/peregrine
  overflow: drop
  drain_timeout: 5s
  source_silence: {timeout: 2m, priority: critical}
  redact_outputs: true
`, []string{"peregrine.workers=3"}, func(t *testing.T, d Daemon) {
			p := d.Peregrine
			if p.StateDir != "/var/lib/peregrine" || p.Overflow != "drop" || p.DrainTimeout != 5*time.Second ||
				p.SilenceTimeout != 2*time.Minute || p.SilencePriority != "critical" || !p.RedactOutputs || p.Workers != 3 {
				t.Errorf("%+v", p)
			}
		}},
		{"static fields and append_output", `
static_fields: {env: prod, team: sec}
append_output:
  - match: {source: k8s_audit, tags: [k8s]}
    extra_output: "env=%env"
    extra_fields: [ka.user.name, {region: eu}]
`, nil, func(t *testing.T, d Daemon) {
			if len(d.StaticFields) != 2 || d.StaticFields[0] != (StaticField{"env", "prod"}) {
				t.Errorf("static %+v", d.StaticFields)
			}
			a := d.AppendOutput
			if len(a) != 1 || a[0].ExtraOutput != "env=%env" || len(a[0].ExtraFields) != 2 || !a[0].ExtraFields[1].Static {
				t.Errorf("append %+v", a)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, load(t, tc.doc, tc.opts...).Daemon) })
	}
}

func TestConfigFilesMerge(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "config.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "config.d", "10-out.yaml"), []byte("file_output: {enabled: true, filename: /tmp/x}\nrules_files: [b.yaml]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "config.d", "20-prio.yaml"), []byte("priority: warning\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "late.yaml"), []byte("priority: error\njson_output: true\n"), 0o644)
	main := filepath.Join(dir, "falco.yaml")
	os.WriteFile(main, []byte(`
rules_files: [a.yaml]
file_output: {keep_alive: false}
config_files:
  - config.d
  - {path: late.yaml, strategy: add-only}
  - /nonexistent/config.d
`), 0o644)
	c, err := Load(main, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RulesFiles; len(got) != 2 || got[1] != "b.yaml" {
		t.Errorf("rules_files %v: lists append", got)
	}
	// config.d's file_output replaced the main file's whole, so keep_alive
	// is back to its default (Falco merges at the root only).
	if !c.Daemon.FileOutput.Enabled || !c.Daemon.FileOutput.KeepAlive {
		t.Errorf("file_output %+v: a mapping is replaced whole", c.Daemon.FileOutput)
	}
	if c.Priority.String() != "Warning" || !c.JSONOutput {
		t.Errorf("priority %v json %v: add-only keeps set keys, adds new ones", c.Priority, c.JSONOutput)
	}
	if len(c.Files) != 4 {
		t.Errorf("files %v", c.Files)
	}
}

// TestConfigFilesNotNested: an included file that names config_files is
// an error at its line, as Falco refuses nested includes.
func TestConfigFilesNotNested(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "extra.yaml"), []byte("priority: error\nconfig_files: [more.yaml]\n"), 0o644)
	main := filepath.Join(dir, "falco.yaml")
	os.WriteFile(main, []byte("config_files: [extra.yaml]\n"), 0o644)
	_, err := Load(main, nil)
	if err == nil || !strings.Contains(err.Error(), "extra.yaml:2:1: config_files: an included file cannot include others") {
		t.Errorf("error %v", err)
	}
}

func TestBadDaemonKeys(t *testing.T) {
	for _, doc := range []string{
		"peregrine: {overflow: maybe}",
		"webserver: {k8s_audit_endpoint: nope}",
		"config_files: [{path: x, strategy: merge}]",
		"append_output: {a: b}",
	} {
		p := filepath.Join(t.TempDir(), "falco.yaml")
		os.WriteFile(p, []byte(doc), 0o644)
		if _, err := Load(p, nil); err == nil {
			t.Errorf("%q loaded", doc)
		}
	}
}
