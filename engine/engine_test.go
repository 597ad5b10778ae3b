package engine

import (
	"fmt"
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
	want := []string{"f.yaml:2:30 filter_check called with nonexistent field ka.bad", "f.yaml:7:5 filter_check called with nonexistent field ka.nope"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// loadDiags loads the texts as a.yaml, b.yaml, ..., compiles them and
// returns every error and warning as "FILE:LINE:COL CODE CONTEXT: MSG",
// then "rules: NAMES" (the compiled rules) or "no engine".
func loadDiags(files ...string) []string {
	srcs := make([]rules.Source, len(files))
	for i, f := range files {
		srcs[i] = rules.Source{Name: fmt.Sprintf("%c.yaml", 'a'+i), Data: []byte(f)}
	}
	col, rep := rules.Load(srcs, rules.Options{})
	e := New(col, DefaultOptions(), rep)
	var out []string
	for _, d := range append(rep.Errors(), rep.Warnings()...) {
		out = append(out, fmt.Sprintf("%v %s %s: %s", d.Pos, d.Code, d.Context, d.Msg))
	}
	if e == nil {
		return append(out, "no engine")
	}
	var names []string
	for _, r := range e.Rules() {
		names = append(names, r.Name)
	}
	return append(out, "rules: "+strings.Join(names, ","))
}

// ruleItem is a k8s_audit rule with the given condition, output and extra
// item lines.
func ruleItem(name, cond, output string, extra ...string) string {
	s := fmt.Sprintf("- rule: %s\n  desc: d\n  condition: %s\n  output: %s\n  priority: INFO\n  source: k8s_audit\n", name, cond, output)
	for _, x := range extra {
		s += "  " + x + "\n"
	}
	return s
}

func macroItem(name, cond string, extra ...string) string {
	s := fmt.Sprintf("- macro: %s\n  condition: %s\n", name, cond)
	for _, x := range extra {
		s += "  " + x + "\n"
	}
	return s
}

// TestLoadDiagnostics is the specification of the load errors and
// warnings the engine adds, after Falco's rule compiler: every macro is
// parsed and resolved before any rule, a macro sees only the macros
// defined before it, and skip-if-unknown-filter checks the output first.
func TestLoadDiagnostics(t *testing.T) {
	const skip = "skip-if-unknown-filter: true"
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		// Every macro is parsed, used or not.
		{"unused macro with a syntax error",
			[]string{macroItem("bad", "ka.verb = (") + ruleItem("R", "ka.verb = get", "o")},
			[]string{"a.yaml:2:24 LOAD_ERR_COMPILE_CONDITION macro 'bad': expected a string, val(field) or a transformer after '=', found '('", "no engine"}},
		{"a macro's error is not repeated for the rules using it",
			[]string{macroItem("bad", "ka.verb = (") + ruleItem("R", "bad", "o") + ruleItem("S", "ka.verb = get and not bad", "o")},
			[]string{"a.yaml:2:24 LOAD_ERR_COMPILE_CONDITION macro 'bad': expected a string, val(field) or a transformer after '=', found '('", "no engine"}},
		{"rules not using the broken macro still report their own errors",
			[]string{macroItem("bad", "ka.verb = (") + ruleItem("R", "ka.nope = 1", "o")},
			[]string{"a.yaml:2:24 LOAD_ERR_COMPILE_CONDITION macro 'bad': expected a string, val(field) or a transformer after '=', found '('",
				"a.yaml:5:14 LOAD_ERR_COMPILE_CONDITION rule 'R': filter_check called with nonexistent field ka.nope", "no engine"}},
		{"unused macro with an unknown field loads: fields are checked in rules only",
			[]string{macroItem("m", "ka.nope = 1") + ruleItem("R", "ka.verb = get", "o")},
			[]string{"a.yaml:1:3 LOAD_UNUSED_MACRO macro 'm': Macro not referred to by any other rule/macro", "rules: R"}},

		// A macro sees the macros first defined before its latest define or append.
		{"macro using a macro defined after it",
			[]string{macroItem("m", "ka.verb = get and later") + macroItem("later", "ka.user.name = bob") + ruleItem("R", "m", "o")},
			[]string{"a.yaml:2:32 LOAD_ERR_VALIDATE macro 'm': Undefined macro 'later' used in filter.", "no engine"}},
		{"macro using a macro of a later file",
			[]string{macroItem("m", "later") + ruleItem("R", "m", "o"), macroItem("later", "ka.verb = get")},
			[]string{"a.yaml:2:14 LOAD_ERR_VALIDATE macro 'm': Undefined macro 'later' used in filter.", "no engine"}},
		{"an append after the later macro makes it visible",
			[]string{macroItem("m", "ka.verb = get") + macroItem("later", "ka.user.name = bob") +
				macroItem("m", "or later", "override:", "  condition: append") + ruleItem("R", "m", "o")},
			[]string{"rules: R"}},
		{"so does a redefinition",
			[]string{macroItem("m", "ka.verb = get") + macroItem("later", "ka.user.name = bob") + macroItem("m", "later") + ruleItem("R", "m", "o")},
			[]string{"rules: R"}},
		{"only the final definitions count (Falco fails on a.yaml alone: COMPATIBILITY.md)",
			[]string{macroItem("m", "later") + macroItem("later", "ka.user.name = bob"), macroItem("m", "later") + ruleItem("R", "m", "o")},
			[]string{"rules: R"}},
		{"a macro defined once does not see itself",
			[]string{macroItem("m", "ka.verb = get or m") + ruleItem("R", "m", "o")},
			[]string{"a.yaml:2:31 LOAD_ERR_VALIDATE macro 'm': Undefined macro 'm' used in filter.", "no engine"}},
		{"a redefined macro sees itself: a loop",
			[]string{macroItem("m", "ka.verb = get") + macroItem("m", "ka.verb = list or m") + ruleItem("R", "m", "o")},
			[]string{"a.yaml:4:32 LOAD_ERR_VALIDATE macro 'm': reference loop in macro 'm'", "no engine"}},
		{"a loop is reported before an undefined macro",
			[]string{macroItem("m", "ka.verb = get") + macroItem("m", "nope or m") + ruleItem("R", "m", "o")},
			[]string{"a.yaml:4:22 LOAD_ERR_VALIDATE macro 'm': reference loop in macro 'm'", "no engine"}},
		{"a macro not resolved yet is entered with the user's visibility",
			[]string{macroItem("m", "ka.verb = get") + macroItem("b", "ka.verb = list") + macroItem("m", "b") +
				macroItem("c", "ka.verb = watch") + macroItem("b", "or c", "append: true") + ruleItem("R", "m", "o")},
			[]string{"a.yaml:6:14 LOAD_ERR_VALIDATE macro 'm': Undefined macro 'c' used in filter.",
				"a.yaml:11:3 LOAD_DEPRECATED_ITEM macro 'b': 'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.", "no engine"}},

		// Rules see every macro, but Falco compiles after each file.
		{"rule using a macro defined after it in its file",
			[]string{ruleItem("R", "m", "o") + macroItem("m", "ka.verb = get")}, []string{"rules: R"}},
		{"rule using a macro of a later file",
			[]string{ruleItem("R", "ka.verb = get and m", "o"), macroItem("m", "ka.verb = get")},
			[]string{"a.yaml:3:32 LOAD_ERR_VALIDATE rule 'R': Undefined macro 'm' used in filter.", "no engine"}},
		{"an append in the macro's file may use it",
			[]string{ruleItem("R", "ka.verb = get", "o"), macroItem("m", "ka.user.name = bob") +
				"- rule: R\n  condition: and m\n  override:\n    condition: append\n"},
			[]string{"rules: R"}},
		{"undefined macro in a rule",
			[]string{ruleItem("R", "ka.verb = get and nope", "o")},
			[]string{"a.yaml:3:32 LOAD_ERR_VALIDATE rule 'R': Undefined macro 'nope' used in filter.", "no engine"}},

		// skip-if-unknown-filter: the output is checked first.
		{"unknown output field, skipped",
			[]string{ruleItem("R", "ka.verb = get", "'%ka.nope'", skip) + ruleItem("S", "ka.verb = get", "o")},
			[]string{"a.yaml:4:12 LOAD_UNKNOWN_FILTER rule 'R': unknown filter: ka.nope", "rules: S"}},
		{"unknown output field, skipped before its condition is looked at",
			[]string{ruleItem("R", "ka.verb = (", "'%ka.nope'", skip) + ruleItem("S", "ka.verb = get", "o")},
			[]string{"a.yaml:4:12 LOAD_UNKNOWN_FILTER rule 'R': unknown filter: ka.nope", "rules: S"}},
		{"unknown output field without skip",
			[]string{ruleItem("R", "ka.verb = get", "'%ka.nope'")},
			[]string{"a.yaml:4:12 LOAD_ERR_COMPILE_OUTPUT rule 'R': unknown filter: ka.nope", "no engine"}},
		{"the output error comes first",
			[]string{ruleItem("R", "ka.bad = 1", "'%ka.nope'")},
			[]string{"a.yaml:4:12 LOAD_ERR_COMPILE_OUTPUT rule 'R': unknown filter: ka.nope", "no engine"}},
		{"an output syntax error is not skipped",
			[]string{ruleItem("R", "ka.verb = get", "'x %'", skip)},
			[]string{"a.yaml:4:12 LOAD_ERR_COMPILE_OUTPUT rule 'R': invalid formatting syntax: formatting cannot end with a %", "no engine"}},
		{"unknown condition field, skipped",
			[]string{ruleItem("R", "ka.verb = get and ka.nope = 1", "o", skip) + ruleItem("S", "ka.verb = get", "o")},
			[]string{"a.yaml:3:32 LOAD_UNKNOWN_FILTER rule 'R': filter_check called with nonexistent field ka.nope", "rules: S"}},
		{"unknown field in a macro: one warning per rule skipped",
			[]string{macroItem("m", "ka.nope = 1") + ruleItem("R", "m", "o", skip) + ruleItem("S", "ka.verb = get and m", "o", skip)},
			[]string{"a.yaml:2:14 LOAD_UNKNOWN_FILTER rule 'R': filter_check called with nonexistent field ka.nope", "a.yaml:2:14 LOAD_UNKNOWN_FILTER rule 'S': filter_check called with nonexistent field ka.nope", "rules: "}},
		{"unknown condition field without skip",
			[]string{ruleItem("R", "ka.nope = 1", "o")},
			[]string{"a.yaml:3:14 LOAD_ERR_COMPILE_CONDITION rule 'R': filter_check called with nonexistent field ka.nope", "no engine"}},
		{"a condition syntax error is not skipped",
			[]string{ruleItem("R", "ka.verb = (", "o", skip)},
			[]string{"a.yaml:3:24 LOAD_ERR_COMPILE_CONDITION rule 'R': expected a string, val(field) or a transformer after '=', found '('", "no engine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loadDiags(tt.files...); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}
