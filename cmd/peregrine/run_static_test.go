package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
)

// TestStaticFieldsAndAppendOutput: rules may use static_fields, and
// append_output's extra_output lands in the selected rules' outputs.
func TestStaticFieldsAndAppendOutput(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(`
- rule: Get
  desc: d
  condition: ka.verb = get
  output: got %ka.target.name in %static.env
  priority: NOTICE
  source: k8s_audit
  tags: [k8s]
`), 0o644)
	cfg := filepath.Join(dir, "falco.yaml")
	os.WriteFile(cfg, []byte(`
rules_files: [`+filepath.Join(dir, "r.yaml")+`]
static_fields: {static.env: prod}
append_output:
  - match: {tags: [k8s]}
    extra_output: "(team=sec)"
`), 0o644)
	l, err := buildLoaded(&engineFlags{config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	audit.DecodePayload([]byte(`{"kind":"Event","auditID":"x","verb":"get","objectRef":{"resource":"pods","name":"p"},"stageTimestamp":"2024-01-01T00:00:00Z"}`),
		func(ev *audit.Event) {
			l.Engine.NewWorker().Eval(ev, func(a *engine.Alert) { got = append(got, a.Message) })
		}, nil)
	if len(got) != 1 || got[0] != "got p in prod (team=sec)" {
		t.Fatalf("alerts %q", got)
	}
	if !strings.Contains(strings.Join(l.Watch, ","), "r.yaml") {
		t.Errorf("rules file not watched: %v", l.Watch)
	}
}
