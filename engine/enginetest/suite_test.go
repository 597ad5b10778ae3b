package enginetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/rules"
)

const suiteRules = `
- rule: Exec
  desc: exec into a pod
  condition: ka.verb = create and ka.target.subresource = exec
  output: exec (user=%ka.user.name pod=%ka.target.name)
  priority: NOTICE
  source: k8s_audit
- rule: Privileged
  desc: privileged pod
  condition: ka.verb = create and ka.req.pod.containers.privileged intersects (true)
  output: privileged (user=%ka.user.name)
  priority: WARNING
  source: k8s_audit
- rule: Off
  desc: disabled
  condition: ka.verb = delete
  output: deleted (user=%ka.user.name)
  priority: INFO
  enabled: false
  source: k8s_audit
`

// writeSuite writes a test file and the rules it names into a temporary
// directory and parses it.
func writeSuite(t *testing.T, body string) *Suite {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(suiteRules), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x_test.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSuite(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSuitePassAndFail(t *testing.T) {
	s := writeSuite(t, `
rules: [rules.yaml]
defaults:
  user: {username: alice}
cases:
  - name: exec fires
    events:
      - {verb: create, objectRef: {resource: pods, subresource: exec, name: web}}
    expect:
      - {rule: Exec, output: ["user=alice", "pod=web"], priority: notice}
  - name: shorthand and silence of others
    events:
      - {verb: create, objectRef: {resource: pods, subresource: exec, name: web}}
    expect: [Exec]
  - name: silence
    events:
      - {verb: get, objectRef: {resource: pods, name: web}}
  - name: wrong count, wrong output, unexpected rule
    events:
      - {verb: create, objectRef: {resource: pods, subresource: exec, name: web}}
      - verb: create
        objectRef: {resource: pods}
        requestObject: {spec: {containers: [{securityContext: {privileged: true}}]}}
    expect:
      - {rule: Exec, count: 2, output: [pod=db]}
  - name: ignore other rules
    ignore_other_rules: true
    events:
      - verb: create
        objectRef: {resource: pods}
        requestObject: {spec: {containers: [{securityContext: {privileged: true}}]}}
    expect:
      - {rule: Exec, count: 0}
  - name: a disabled rule may be named; a misspelled one fails
    events:
      - {verb: delete, objectRef: {resource: pods, name: web}}
    expect:
      - {rule: Off, count: 0}
      - {rule: Exce, count: 0}
`)
	res := s.Run(SuiteOptions{})
	if res.LoadErr != nil {
		t.Fatal(res.LoadErr)
	}
	if len(res.Cases) != 6 {
		t.Fatalf("%d cases", len(res.Cases))
	}
	if diff := strings.Join(res.Cases[5].Diff, "\n"); diff != `expect names rule "Exce", which no loaded rules file defines` {
		t.Errorf("misspelled rule: diff %q", diff)
	}
	for i, want := range []bool{true, true, true, false, true, false} {
		if got := res.Cases[i].Passed(); got != want {
			t.Errorf("case %q passed=%v, want %v: %v", res.Cases[i].Case.Name, got, want, res.Cases[i].Diff)
		}
	}
	diff := strings.Join(res.Cases[3].Diff, "\n")
	for _, want := range []string{
		"- Exec: 2 alerts", "+ Exec: 1 alert", `Exec: alert 1 output lacks "pod=db"`,
		"- Privileged: 0 alerts", "+ Privileged: 1 alert", "Warning privileged (user=alice)",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if res.Failed() != 2 {
		t.Errorf("Failed() = %d", res.Failed())
	}
}

func TestSuiteAppendAndMatchAll(t *testing.T) {
	s := writeSuite(t, `
rules: [rules.yaml]
rule_matching: all
append: |
  - rule: Off
    enabled: true
    override: {enabled: replace}
  - rule: Also exec
    desc: a second rule on the same event
    condition: ka.target.subresource = exec
    output: again
    priority: DEBUG
    source: k8s_audit
cases:
  - name: every matching rule
    events:
      - {verb: create, user: {username: bob}, objectRef: {resource: pods, subresource: exec}}
      - {verb: delete, user: {username: bob}, objectRef: {resource: pods, name: web}}
    expect: [Exec, Also exec, Off]
`)
	res := s.Run(SuiteOptions{})
	if res.LoadErr != nil || res.Failed() != 0 {
		t.Fatalf("%v %v", res.LoadErr, res.Cases[0].Diff)
	}
}

func TestSuiteDefaultRulesAndFiles(t *testing.T) {
	dir := t.TempDir()
	ev := `{"kind":"Event","auditID":"1","stage":"ResponseComplete","stageTimestamp":"2024-01-01T00:00:00Z","verb":"create","user":{"username":"carol"},"objectRef":{"resource":"pods","subresource":"exec"}}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte(ev), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "d_test.yaml")
	body := "cases:\n  - name: from a file\n    files: [events.jsonl]\n    expect: [{rule: Exec, output: [user=carol]}]\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSuite(path)
	if err != nil {
		t.Fatal(err)
	}
	if res := s.Run(SuiteOptions{}); res.LoadErr == nil {
		t.Error("no default rules given, yet the suite loaded")
	}
	res := s.Run(SuiteOptions{DefaultRules: []rules.Source{{Name: "default.yaml", Data: []byte(suiteRules)}}})
	if res.LoadErr != nil || res.Failed() != 0 {
		t.Fatalf("%v %v", res.LoadErr, res.Cases)
	}
}

// TestSuiteEvents: defaults merge under events key by key in written order,
// null deletes a default, YAML merge keys work, and a string is raw JSON.
func TestSuiteEvents(t *testing.T) {
	s, err := ParseSuite("t_test.yaml", []byte(`
defaults:
  user: {username: alice, groups: [a]}
  sourceIPs: [10.0.0.1]
  responseStatus: {code: 200}
cases:
  - name: merge
    defaults:
      userAgent: kubectl
    events:
      - &pod
        verb: create
        user: {username: bob}
        sourceIPs: null
        responseStatus: {code: 201, reason: null}
        requestObject: {spec: {hostPID: true, n: 1.5, z: null, t: 2024-01-01T00:00:00Z}}
      - <<: *pod
        verb: patch
      - '{"raw": true}'
`))
	if err != nil {
		t.Fatal(err)
	}
	ev := s.Cases[0].Events
	want := []string{
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"test-1-1","stage":"ResponseComplete",` +
			`"requestReceivedTimestamp":"2024-01-01T00:00:00.000000Z","stageTimestamp":"2024-01-01T00:00:00.000000Z",` +
			`"user":{"username":"bob","groups":["a"]},"responseStatus":{"code":201,"reason":null},"userAgent":"kubectl","verb":"create",` +
			`"requestObject":{"spec":{"hostPID":true,"n":1.5,"z":null,"t":"2024-01-01T00:00:00Z"}}}`,
		`"verb":"patch"`,
		`{"raw": true}`,
	}
	if string(ev[0]) != want[0] {
		t.Errorf("event 1:\n got %s\nwant %s", ev[0], want[0])
	}
	if !strings.Contains(string(ev[1]), want[1]) || !strings.Contains(string(ev[1]), `"auditID":"test-1-2"`) {
		t.Errorf("event 2: %s", ev[1])
	}
	if string(ev[2]) != want[2] {
		t.Errorf("event 3: %s", ev[2])
	}
}

func TestSuiteParseErrors(t *testing.T) {
	for _, c := range []struct{ body, err string }{
		{"cases: []", "t_test.yaml:1:1: a test file needs a non-empty cases list"},
		{"rulez: [x]\ncases: []", `t_test.yaml:1:1: unknown key "rulez" in test file`},
		{"cases:\n  - name: a\n    events: [{verb: get}]\n    expekt: []", `t_test.yaml:4:5: unknown key "expekt" in case`},
		{"cases:\n  - name: a\n    expect: []", `t_test.yaml:2:5: case "a" has neither events nor files`},
		{"cases:\n  - events: [{verb: get}]", "t_test.yaml:2:5: case 1 has no name"},
		{"cases:\n  - {name: a, events: [{}]}\n  - {name: a, events: [{}]}", `t_test.yaml:3:5: two cases are named "a"`},
		{"cases:\n  - name: a\n    events: [{}]\n    expect: [{rule: X, count: -1}]", "t_test.yaml:4:31: count must be a whole number"},
		{"cases:\n  - name: a\n    events: [{}]\n    expect: [X, X]", `t_test.yaml:4:17: rule "X" is expected twice`},
		{"rule_matching: most\ncases:\n  - {name: a, events: [{}]}", "t_test.yaml:1:16: rule_matching must be first or all"},
		{"cases:\n  - name: a\n    events: [[1]]", "t_test.yaml:3:14: an event is a mapping, or a string of raw JSON"},
		{"cases:\n  - {name: a, events: [\n", "t_test.yaml:2: did not find expected node content"},
	} {
		_, err := ParseSuite("t_test.yaml", []byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: error %v, want %q", c.body, err, c.err)
		}
	}
}

func TestFindSuites(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a_test.yaml", "sub/b_test.yml", "rules.yaml", "events.jsonl"} {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := FindSuites([]string{dir, filepath.Join(dir, "rules.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a_test.yaml"), filepath.Join(dir, "sub", "b_test.yml"), filepath.Join(dir, "rules.yaml")}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := FindSuites([]string{filepath.Join(dir, "sub", "none")}); err == nil {
		t.Error("a missing path is no error")
	}
	empty := t.TempDir()
	if _, err := FindSuites([]string{empty}); err == nil {
		t.Error("a directory without test files is no error")
	}
}
