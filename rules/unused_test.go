package rules_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/rules"
)

// rule is a k8s_audit rule item with the given condition and extra keys
// (each a YAML line at item level).
func rule(name, cond string, extra ...string) string {
	s := fmt.Sprintf("- rule: %s\n  desc: d\n  condition: %s\n  output: o\n  priority: INFO\n  source: k8s_audit\n", name, cond)
	for _, e := range extra {
		s += "  " + e + "\n"
	}
	return s
}

// unusedWarnings loads the files (a.yaml, b.yaml, ...), compiles them and
// returns the unused-item warnings as "FILE:LINE:COL CODE CONTEXT".
func unusedWarnings(t *testing.T, files []string, opts engine.Options) []string {
	t.Helper()
	srcs := make([]rules.Source, len(files))
	for i, f := range files {
		srcs[i] = rules.Source{Name: fmt.Sprintf("%c.yaml", 'a'+i), Data: []byte(f)}
	}
	col, rep := rules.Load(srcs, rules.Options{})
	engine.New(col, opts, rep)
	var got []string
	for _, d := range rep.Warnings() {
		if d.Code == rules.WarnUnusedMacro || d.Code == rules.WarnUnusedList {
			got = append(got, d.Pos.String()+" "+d.Code+" "+d.Context)
		}
	}
	return got
}

const (
	unusedMacro = " LOAD_UNUSED_MACRO macro '"
	unusedList  = " LOAD_UNUSED_LIST list '"
)

// TestUnused is the specification of LOAD_UNUSED_MACRO and
// LOAD_UNUSED_LIST, after Falco's rule compiler: what counts as a use, and
// where each warning points. Every case is also run with a minimum priority
// above every rule's, since priority does not matter.
func TestUnused(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		// Macros.
		{"macro used by a rule", []string{"- macro: m\n  condition: ka.verb = get\n" + rule("R", "m")}, nil},
		{"macro used by a macro a rule uses",
			[]string{"- macro: inner\n  condition: ka.verb = get\n- macro: outer\n  condition: inner\n" + rule("R", "outer")}, nil},
		{"macro used only by an unused macro counts as used",
			[]string{"- macro: inner\n  condition: ka.verb = get\n- macro: outer\n  condition: inner\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:3:3" + unusedMacro + "outer'"}},
		{"macro nothing names", []string{"- macro: m\n  condition: ka.verb = get\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:1:3" + unusedMacro + "m'"}},
		{"a name in an output or an exception value is not a macro reference",
			[]string{"- macro: m\n  condition: ka.verb = get\n- rule: R\n  desc: d\n  condition: ka.verb = get\n  output: m %ka.verb\n  priority: INFO\n  source: k8s_audit\n" +
				"  exceptions:\n  - name: e\n    fields: [ka.user.name]\n    comps: [=]\n    values: [[m]]\n"},
			[]string{"a.yaml:1:3" + unusedMacro + "m'"}},
		{"macro used from a later file", []string{"- macro: m\n  condition: ka.verb = get\n", rule("R", "m")}, nil},

		// Lists.
		{"list used by a rule", []string{"- list: l\n  items: [get]\n" + rule("R", "ka.verb in (l)")}, nil},
		{"list nothing names", []string{"- list: l\n  items: [get]\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:1:3" + unusedList + "l'"}},
		{"list used only by an unused macro counts as used",
			[]string{"- list: l\n  items: [get]\n- macro: m\n  condition: ka.verb in (l)\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:3:3" + unusedMacro + "m'"}},
		{"list used only by an exception",
			[]string{"- list: l\n  items: [bob]\n" + rule("R", "ka.verb = get",
				"exceptions:\n  - name: e\n    fields: ka.user.name\n    values: [l]")}, nil},
		{"list named by a later list's items counts as used, even when that list is not",
			[]string{"- list: inner\n  items: [get]\n- list: outer\n  items: [inner, list]\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:3:3" + unusedList + "outer'"}},
		{"list named by an earlier list's items is used only through it",
			[]string{"- list: outer\n  items: [inner]\n- list: inner\n  items: [get]\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:1:3" + unusedList + "outer'", "a.yaml:3:3" + unusedList + "inner'"}},
		{"list named by an earlier list that a rule uses",
			[]string{"- list: outer\n  items: [inner]\n- list: inner\n  items: [get]\n" + rule("R", "ka.verb in (outer)")}, nil},
		{"an append makes the earlier list see later lists",
			[]string{"- list: outer\n  items: [inner]\n- list: inner\n  items: [get]\n- list: outer\n  items: [x]\n  override:\n    items: append\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:1:3" + unusedList + "outer'"}},
		{"list that names itself counts as used once appended to (Falco quirk)",
			[]string{"- list: l\n  items: [l]\n- list: l\n  items: [x]\n  append: true\n" + rule("R", "ka.verb = get")}, nil},
		{"list name in a quoted string or after = counts (text substitution)",
			[]string{"- list: q\n  items: [a]\n- list: eq\n  items: [get]\n" + rule("R", `ka.user.name = "x q y" and ka.verb=eq`)}, nil},
		{"list name inside a longer word does not count",
			[]string{"- list: get\n  items: [a]\n" + rule("R", "ka.verb = get_x or ka.verb = x.get")},
			[]string{"a.yaml:1:3" + unusedList + "get'"}},

		// Which rules count.
		{"disabled rule counts",
			[]string{"- macro: m\n  condition: ka.verb = get\n" + rule("R", "m", "enabled: false")}, nil},
		{"syscall rule counts: Falco always knows the syscall source",
			[]string{"- list: l\n  items: [sh]\n- macro: m\n  condition: proc.name in (l)\n- rule: S\n  desc: d\n  condition: m\n  output: o\n  priority: INFO\n" + rule("R", "ka.verb = get")}, nil},
		{"rule of an unknown source does not count",
			[]string{"- macro: m\n  condition: ct.name = x\n- rule: C\n  desc: d\n  condition: m\n  output: o\n  priority: INFO\n  source: aws_cloudtrail\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:1:3" + unusedMacro + "m'"}},
		{"rule skipped for an unknown field in its condition counts",
			[]string{"- macro: m\n  condition: ka.verb = get\n" + rule("R", "m and ka.nope = 1", "skip-if-unknown-filter: true")}, nil},
		{"rule skipped for an unknown field in its output does not count: Falco checks the output first",
			[]string{"- macro: m\n  condition: ka.verb = get\n- rule: R\n  desc: d\n  condition: m and ka.nope = 1\n  output: '%ka.nope'\n  priority: INFO\n  source: k8s_audit\n  skip-if-unknown-filter: true\n"},
			[]string{"a.yaml:1:3" + unusedMacro + "m'"}},
		{"no warning when the rules do not compile: Falco warns after a successful compile",
			[]string{"- macro: m\n  condition: ka.verb = get\n" + rule("R", "ka.nope = 1")}, nil},

		// Appends, overrides and duplicates: one warning per name, at its latest definition.
		{"redefinition: the warning points at it",
			[]string{"- macro: m\n  condition: ka.verb = get\n- list: l\n  items: [a]\n", "- macro: m\n  condition: ka.verb = list\n- list: l\n  items: [b]\n" + rule("R", "ka.verb = get")},
			[]string{"b.yaml:1:3" + unusedMacro + "m'", "b.yaml:3:3" + unusedList + "l'"}},
		{"replace override is a redefinition",
			[]string{"- macro: m\n  condition: ka.verb = get\n- macro: m\n  condition: ka.verb = list\n  override:\n    condition: replace\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:3:3" + unusedMacro + "m'"}},
		{"append: the warning stays at the definition",
			[]string{"- macro: m\n  condition: ka.verb = get\n- list: l\n  items: [a]\n", "- macro: m\n  condition: or ka.verb = list\n  override:\n    condition: append\n- list: l\n  items: [b]\n  override:\n    items: append\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:1:3" + unusedMacro + "m'", "a.yaml:3:3" + unusedList + "l'"}},
		{"references added by an append count",
			[]string{"- macro: inner\n  condition: ka.verb = get\n- macro: m\n  condition: ka.verb = list\n- macro: m\n  condition: or inner\n  append: true\n" + rule("R", "m")}, nil},
		{"redefinition that drops a reference leaves the target unused",
			[]string{"- macro: inner\n  condition: ka.verb = get\n- macro: m\n  condition: inner\n- macro: m\n  condition: ka.verb = list\n" + rule("R", "m")},
			[]string{"a.yaml:1:3" + unusedMacro + "inner'"}},
		{"warnings are sorted by position, like every warning",
			[]string{"- list: l1\n  items: [a]\n- macro: m1\n  condition: ka.verb = get\n- list: l2\n  items: [a]\n- macro: m2\n  condition: ka.verb = get\n" + rule("R", "ka.verb = get")},
			[]string{"a.yaml:1:3" + unusedList + "l1'", "a.yaml:3:3" + unusedMacro + "m1'", "a.yaml:5:3" + unusedList + "l2'", "a.yaml:7:3" + unusedMacro + "m2'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			high := engine.DefaultOptions()
			high.MinPriority = rules.Emergency
			for _, opts := range []engine.Options{engine.DefaultOptions(), high} {
				if got := unusedWarnings(t, tt.files, opts); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("min priority %v:\ngot  %q\nwant %q", opts.MinPriority, got, tt.want)
				}
			}
		})
	}
}

// TestUnusedFormat: the warnings read like every other load warning.
func TestUnusedFormat(t *testing.T) {
	col, rep := rules.Load([]rules.Source{{Name: "a.yaml", Data: []byte("- macro: m\n  condition: ka.verb = get\n")}}, rules.Options{})
	engine.New(col, engine.DefaultOptions(), rep)
	w := rep.Warnings()
	if len(w) != 1 {
		t.Fatalf("warnings: %v", w)
	}
	got := w[0].Error() + " [" + w[0].Code + "] " + w[0].Context
	want := "a.yaml:1:3: Macro not referred to by any other rule/macro [LOAD_UNUSED_MACRO] macro 'm'"
	if !strings.EqualFold(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestUnusedBounded: lists whose items name later lists twice over double
// a condition's text at each step (Falco runs out of memory); the check
// stays bounded, and stops seeing lists past the bound.
func TestUnusedBounded(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "- list: l%d\n  items: [l%d, l%d]\n", i, i+1, i+1)
	}
	b.WriteString("- list: l40\n  items: [get]\n- macro: m\n  condition: ka.verb in (l0)\n" + rule("R", "ka.verb = get"))
	done := make(chan []string)
	go func() { done <- unusedWarnings(t, []string{b.String()}, engine.DefaultOptions()) }()
	select {
	case got := <-done:
		if len(got) == 0 || got[len(got)-1] != "a.yaml:83:3"+unusedMacro+"m'" {
			t.Errorf("got %q", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("unused check did not finish")
	}
}
