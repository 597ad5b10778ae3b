package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/rules"
)

const testEvent = `{"kind":"Event","auditID":"a1","stage":"ResponseComplete","verb":"create",
 "requestURI":"/api/v1/namespaces/ns1/configmaps?fieldManager=kubectl",
 "user":{"username":"bob","groups":["devs","ops"]},
 "objectRef":{"resource":"configmaps","namespace":"ns1","name":"cm1"},
 "responseStatus":{"code":201},
 "stageTimestamp":"2018-10-25T14:09:12.581541000Z"}`

const testTime = 1540476552581541000

// compile loads one rules file and compiles it.
func compile(t *testing.T, yaml string, opts Options) *Engine {
	t.Helper()
	col, rep := rules.Load([]rules.Source{{Name: "test.yaml", Data: []byte(yaml)}}, rules.Options{})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	e := New(col, opts, rep)
	if e == nil {
		t.Fatal(rep.Err())
	}
	return e
}

func eval(e *Engine, ev string) []*Alert {
	var out []*Alert
	e.NewWorker().Eval(audit.New([]byte(ev), testTime), func(a *Alert) { out = append(out, a) })
	return out
}

func rule(name, cond, output string) string {
	return "- rule: " + name + "\n  desc: d\n  condition: " + cond + "\n  output: '" + strings.ReplaceAll(output, "'", "''") + "'\n  priority: WARNING\n  source: k8s_audit\n"
}

// TestOutputFormat is the specification of output strings.
func TestOutputFormat(t *testing.T) {
	time.Local = time.UTC
	tests := []struct{ output, want string }{
		{`user=%ka.user.name`, `user=bob`},
		{`%ka.user.namex`, `bobx`},
		{`groups=%ka.user.groups`, `groups=(devs,ops)`},
		{`name=%ka.resp.name`, `name=<NA>`},
		{`[%6ka.verb]`, `[create]`},
		{`[%8ka.verb]`, `[create  ]`},
		{`[%3ka.verb]`, `[cre]`},
		{`%ka.uri.param[fieldManager]`, `kubectl`},
		{`%jevt.value[/objectRef/name]!`, `cm1!`},
		{`%toupper(ka.verb)`, `CREATE`},
		{`100%ka.verb`, `100create`},
		{`%evt.time.iso8601`, `2018-10-25T14:09:12.581541000+0000`},
	}
	for _, tt := range tests {
		t.Run(tt.output, func(t *testing.T) {
			e := compile(t, rule("R", "ka.verb=create", tt.output), DefaultOptions())
			as := eval(e, testEvent)
			if len(as) != 1 {
				t.Fatalf("%d alerts", len(as))
			}
			if as[0].Message != tt.want {
				t.Errorf("message %q, want %q", as[0].Message, tt.want)
			}
			if want := "14:09:12.581541000: Warning " + tt.want; as[0].Output != want {
				t.Errorf("output %q, want %q", as[0].Output, want)
			}
		})
	}
}

func TestOutputFormatErrors(t *testing.T) {
	for _, tt := range []struct{ output, err string }{
		{`x %`, "formatting cannot end with a %"},
		{`%nope.field`, "unknown filter: nope.field"},
	} {
		col, rep := rules.Load([]rules.Source{{Name: "t.yaml", Data: []byte(rule("R", "ka.verb=create", tt.output))}}, rules.Options{})
		if New(col, DefaultOptions(), rep) != nil {
			t.Fatalf("%q compiled", tt.output)
		}
		if err := rep.Err(); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: error %v, want %q", tt.output, err, tt.err)
		}
	}
}

// TestOutputFields: keys sorted, evt.time as integer ns, lists as arrays,
// missing as null, transformers contribute their inner fields.
func TestOutputFields(t *testing.T) {
	e := compile(t, rule("R", "ka.verb=create", "%ka.user.groups %tolower(ka.verb) %ka.resp.name %ka.uri.param[fieldManager]"), DefaultOptions())
	a := eval(e, testEvent)[0]
	var names []string
	for _, f := range a.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "evt.time ka.resp.name ka.uri.param[fieldManager] ka.user.groups ka.verb" {
		t.Fatalf("keys %q", got)
	}
	if f := a.Fields[0]; f.Kind != ValueNumber || f.Num != testTime {
		t.Errorf("evt.time %+v", f)
	}
	if a.Fields[1].Kind != ValueMissing || a.Fields[3].Kind != ValueList || a.Fields[4].Str != "create" {
		t.Errorf("fields %+v", a.Fields)
	}
}

// TestRuleMatching: first stops at the first match, all reports every
// rule; the priority threshold disables less severe rules.
func TestRuleMatching(t *testing.T) {
	file := rule("A", "ka.verb=create", "a") + rule("B", "ka.user.name=bob", "b") +
		strings.Replace(rule("C", "ka.verb exists", "c"), "WARNING", "DEBUG", 1)
	tests := []struct {
		opts Options
		want string
	}{
		{DefaultOptions(), "A"},
		{Options{MatchAll: true, MinPriority: rules.Debug}, "A B C"},
		{Options{MatchAll: true, MinPriority: rules.Warning}, "A B"},
		{Options{MatchAll: true, MinPriority: rules.Error}, ""},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range eval(compile(t, file, tt.opts), testEvent) {
			got = append(got, a.Rule)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%+v: %v, want %s", tt.opts, got, tt.want)
		}
	}
}

// TestExceptions: scalar and list forms, list values, and values naming
// lists, as Falco turns them into "and not" clauses.
func TestExceptions(t *testing.T) {
	base := rule("R", "ka.verb=create", "x")
	tests := []struct {
		name, exc string
		fires     bool
	}{
		{"no values", "    - name: e\n      fields: [ka.user.name]\n", true},
		{"list form match", "    - name: e\n      fields: [ka.user.name, ka.target.namespace]\n      values:\n        - [bob, ns1]\n", false},
		{"list form partial", "    - name: e\n      fields: [ka.user.name, ka.target.namespace]\n      values:\n        - [bob, ns2]\n", true},
		{"inner list", "    - name: e\n      fields: [ka.user.name, ka.target.namespace]\n      comps: [=, in]\n      values:\n        - [bob, [ns2, ns1]]\n", false},
		{"scalar form", "    - name: e\n      fields: ka.target.namespace\n      values: [ns0, ns1]\n", false},
		{"list reference", "    - name: e\n      fields: ka.target.namespace\n      values: [my_namespaces]\n", false},
		{"startswith", "    - name: e\n      fields: [ka.user.name]\n      comps: [startswith]\n      values:\n        - [b]\n", false},
		{"value with space", "    - name: e\n      fields: [ka.user.name]\n      values:\n        - [\"bob smith\"]\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "- list: my_namespaces\n  items: [ns1]\n" + base + "  exceptions:\n" + tt.exc
			if got := len(eval(compile(t, file, DefaultOptions()), testEvent)) == 1; got != tt.fires {
				t.Errorf("fires %v, want %v", got, tt.fires)
			}
		})
	}
}

// TestConditionErrorPosition: an error inside a folded condition points at
// its file line and column, also inside a macro.
func TestConditionErrorPosition(t *testing.T) {
	file := "- macro: m\n  condition: ka.verb = x and ka.bad = y\n" +
		"- rule: R\n  desc: d\n  condition: >\n    ka.verb = create and\n    ka.nope = 1\n  output: o\n  priority: INFO\n  source: k8s_audit\n" +
		"- rule: S\n  desc: d\n  condition: m\n  output: o\n  priority: INFO\n  source: k8s_audit\n"
	col, rep := rules.Load([]rules.Source{{Name: "f.yaml", Data: []byte(file)}}, rules.Options{})
	if New(col, DefaultOptions(), rep) != nil {
		t.Fatal("compiled")
	}
	var got []string
	for _, d := range rep.Errors() {
		got = append(got, d.Pos.String()+" "+d.Msg)
	}
	want := []string{"f.yaml:2:30 unknown field ka.bad", "f.yaml:7:5 unknown field ka.nope"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
