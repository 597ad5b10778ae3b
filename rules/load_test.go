package rules

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// sources names the texts a.yaml, b.yaml, ... in load order.
func sources(texts ...string) []Source {
	out := make([]Source, len(texts))
	for i, s := range texts {
		out[i] = Source{Name: fmt.Sprintf("%c.yaml", 'a'+i), Data: []byte(s)}
	}
	return out
}

func load(t *testing.T, texts ...string) *Collection {
	t.Helper()
	col, rep := Load(sources(texts...), Options{})
	if err := rep.Err(); err != nil {
		t.Fatalf("unexpected error:\n%v", err)
	}
	return col
}

const k8sRule = `
- rule: R
  desc: d
  condition: ka.verb = get
  output: o
  priority: INFO
  source: k8s_audit
`

// TestLoadErrors checks whole messages, positions included, for errors
// that involve several files or options.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		opts  Options
		want  string
	}{
		{"redefine across files", []string{k8sRule, "- rule: R\n  desc: d\n  condition: x\n  output: o\n  priority: INFO\n"},
			Options{}, "b.yaml:1:3: Rule has been re-defined with a different source"},
		{"append across sources", []string{k8sRule, "- rule: R\n  condition: and x\n  source: syscall\n  append: true\n"},
			Options{}, "b.yaml:3:11: Rule has been re-defined with a different source"},
		{"first failing file stops loading", []string{"- list: l\n  items: x\n", "- bad\n"},
			Options{}, "a.yaml:2:10: Value is not a sequence"},
		{"append needs an earlier file", []string{"- list: l\n  items: [a]\n  append: true\n", "- list: l\n  items: [b]\n"},
			Options{}, "a.yaml:1:3: List uses 'append' or 'override.items: append' but no list by that name already exists"},
		{"yaml syntax", []string{"- list: l\n  items: [a]\n- rule: x\n  y: z: w\n"},
			Options{}, "a.yaml:4:1: mapping values are not allowed in this context"},
		{"syntax error past the end stays in the file", []string{"- list: [a"},
			Options{}, "a.yaml:1:1: did not find expected ',' or ']'"},
		{"engine version option", []string{"- required_engine_version: 0.40.0\n"},
			Options{EngineVersion: "0.39.2"}, "a.yaml:1:28: Rules require engine version 0.40.0, but engine version is 0.39.2"},
		{"plugin missing from options", []string{"- required_plugin_versions:\n  - name: json\n    version: 0.7.0\n"},
			Options{Plugins: map[string]string{"k8saudit": "0.18.0"}},
			"a.yaml:2:5: Plugin requirement not satisfied, must load one of: json (>= 0.7.0)"},
		{"plugin of another major", []string{"- required_plugin_versions:\n  - name: json\n    version: 0.7.0\n"},
			Options{Plugins: map[string]string{"json": "1.7.0"}},
			"a.yaml:2:5: Plugin requirement not satisfied, must load one of: json (>= 0.7.0)"},
		{"empty folded condition", []string{"- macro: m\n  condition: >\n\n- list: l\n  items: []\n"},
			Options{}, "a.yaml:2:14: Value must be non-empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rep := Load(sources(tt.files...), tt.opts)
			err := rep.Err()
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestUnitExpectationsInline repeats Falco's three rule_loader unit tests
// with the text inline, so they run without ../shared.
func TestUnitExpectationsInline(t *testing.T) {
	second := "\n- rule: R\n  desc: d\n  condition: and 1 = 2\n  output: o\n  priority: INFO\n  source: syscall\n"
	for name, text := range map[string]string{
		"redefine_rule_different_source":   k8sRule + second,
		"append_across_sources":            k8sRule + second + "  append: true\n",
		"selective_replace_across_sources": k8sRule + "- rule: R\n  condition: 1 = 2\n  override:\n    condition: replace\n  source: syscall\n",
	} {
		_, rep := Load(sources(text), Options{})
		if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "Rule has been re-defined with a different source") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestRedefinitionKeepsFirstPlace(t *testing.T) {
	col := load(t, k8sRule+`
- rule: S
  desc: s
  condition: ka.verb = list
  output: s
  priority: DEBUG
  source: k8s_audit
- list: L
  items: [a]
`, `
- rule: R
  desc: new
  condition: ka.verb = delete
  output: "  new output  "
  priority: critical
  source: k8s_audit
- list: L
  items: [b]
`)
	if got := names(col.Rules); !reflect.DeepEqual(got, []string{"R", "S"}) {
		t.Fatalf("order %v", got)
	}
	r := col.Rule("R")
	if r.Pos.String() != "a.yaml:2:3" || r.Desc != "new" || r.Condition.S != "ka.verb = delete" ||
		r.Output != "new output" || r.Priority != Critical {
		t.Errorf("redefined rule: %+v", r)
	}
	if p := r.Condition.Position(0); p.String() != "b.yaml:4:14" {
		t.Errorf("condition position %v, want the new definition's", p)
	}
	if l := col.List("L"); !reflect.DeepEqual(l.Items, []string{"b"}) || l.Pos.String() != "a.yaml:15:3" {
		t.Errorf("list %+v", l)
	}
}

func names(rs []*Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestAppendsAndOverrides(t *testing.T) {
	col := load(t, `
- list: L
  items: [a, "b c"]
- macro: M
  condition: ka.verb = a or ka.verb = b
- rule: R
  desc: d
  condition: M
  output: o
  priority: WARNING
  source: k8s_audit
  tags: [z, a]
`, `
- list: L
  items: [d]
  append: true
- list: L
  items: [e]
  override:
    items: append
- macro: M
  condition: and ka.user.name = x
  append: true
- rule: R
  condition: and not L
  desc: ignored by a legacy append
  append: true
- rule: R
  output: (more)
  desc: more
  tags: [b, a]
  priority: debug
  enabled: off
  override:
    output: append
    desc: append
    tags: append
    priority: replace
    enabled: replace
`)
	if l := col.List("L"); !reflect.DeepEqual(l.Items, []string{"a", "b c", "d", "e"}) ||
		l.ItemPos[2].String() != "b.yaml:3:11" {
		t.Errorf("list %+v", l)
	}
	if m := col.Macro("M"); m.Condition.S != "ka.verb = a or ka.verb = b and ka.user.name = x" {
		t.Errorf("macro %q", m.Condition.S)
	}
	r := col.Rule("R")
	want := Rule{Condition: Text{S: "M and not L"}, Output: "o (more)", Desc: "d more",
		Tags: []string{"a", "b", "z"}, Priority: Debug, Enabled: false}
	if r.Condition.S != want.Condition.S || r.Output != want.Output || r.Desc != want.Desc ||
		!reflect.DeepEqual(r.Tags, want.Tags) || r.Priority != want.Priority || r.Enabled {
		t.Errorf("rule %+v", r)
	}
	if p := r.Condition.Position(strings.Index(r.Condition.S, "not L")); p.String() != "b.yaml:13:18" {
		t.Errorf("appended condition maps to %v", p)
	}
	if r.Seq != (Seq{First: 3, Last: 9}) {
		t.Errorf("seq %+v", r.Seq)
	}
}

func TestReplace(t *testing.T) {
	col := load(t, k8sRule+`
  exceptions:
    - name: e
      fields: [ka.verb]
      values: [[get]]
- rule: R
  condition: ka.verb = delete
  tags: [x]
  warn_evttypes: false
  skip-if-unknown-filter: true
  capture: true
  capture_duration: 0x10
  exceptions:
    - name: f
      fields: ka.user.name
      values: [alice]
  override:
    condition: replace
    tags: replace
    warn_evttypes: replace
    skip-if-unknown-filter: replace
    capture: replace
    capture_duration: replace
    exceptions: replace
`)
	r := col.Rule("R")
	if r.Condition.S != "ka.verb = delete" || !reflect.DeepEqual(r.Tags, []string{"x"}) ||
		r.WarnEvttypes || !r.SkipIfUnknownFilter || !r.Capture || r.CaptureDuration != 16 {
		t.Errorf("rule %+v", r)
	}
	want := []Exception{{Name: "f", Scalar: true, Fields: []string{"ka.user.name"}, Comps: []string{"in"},
		Values: [][]Cell{{{Text: "alice"}}}}}
	if got := stripPos(r.Exceptions); !reflect.DeepEqual(got, want) {
		t.Errorf("exceptions %+v", got)
	}
}

func stripPos(exs []Exception) []Exception {
	out := make([]Exception, len(exs))
	for i, e := range exs {
		e.Pos, e.FieldPos = Position{}, nil
		var rows [][]Cell
		for _, row := range e.Values {
			cells := make([]Cell, len(row))
			for k, c := range row {
				c.Pos = Position{}
				cells[k] = c
			}
			rows = append(rows, cells)
		}
		e.Values = rows
		out[i] = e
	}
	return out
}

func TestExceptions(t *testing.T) {
	col := load(t, k8sRule+`
  exceptions:
    - name: pair
      fields: [ka.user.name, ka.target.namespace]
      comps: [" = ", in]
      values:
        - [alice, [ns1, ns2]]
    - name: ns
      fields: ka.target.namespace
    - name: empty
      fields: [ka.verb]
`, `
- rule: R
  exceptions:
    - name: pair
      values:
        - [bob, my_list]
    - name: new
      fields: [ka.verb, ka.uri]
      values: [[get, /healthz]]
  append: true
`)
	want := []Exception{
		{Name: "pair", Fields: []string{"ka.user.name", "ka.target.namespace"}, Comps: []string{"=", "in"},
			Values: [][]Cell{
				{{Text: "alice"}, {IsList: true, List: []string{"ns1", "ns2"}}},
				{{Text: "bob"}, {Text: "my_list"}},
			}},
		{Name: "ns", Scalar: true, Fields: []string{"ka.target.namespace"}, Comps: []string{"in"}},
		{Name: "empty", Fields: []string{"ka.verb"}, Comps: []string{"="}},
		{Name: "new", Fields: []string{"ka.verb", "ka.uri"}, Comps: []string{"=", "="},
			Values: [][]Cell{{{Text: "get"}, {Text: "/healthz"}}}},
	}
	got := col.Rule("R").Exceptions
	if !reflect.DeepEqual(stripPos(got), want) {
		t.Errorf("got  %#v\nwant %#v", stripPos(got), want)
	}
	if p := got[0].Values[1][1].Pos.String(); p != "b.yaml:6:17" {
		t.Errorf("cell position %s", p)
	}
}

func TestScalars(t *testing.T) {
	tests := []struct {
		key, value string
		check      func(*Rule) bool
	}{
		{"priority", "info", func(r *Rule) bool { return r.Priority == Informational }},
		{"priority", "EMERGENCY", func(r *Rule) bool { return r.Priority == Emergency }},
		{"priority", "Notice", func(r *Rule) bool { return r.Priority == Notice }},
		{"enabled", "no", func(r *Rule) bool { return !r.Enabled }},
		{"enabled", "False", func(r *Rule) bool { return !r.Enabled }},
		{"enabled", "ON", func(r *Rule) bool { return r.Enabled }},
		{"enabled", `"y"`, func(r *Rule) bool { return r.Enabled }},
		{"source", "k8s_audit", func(r *Rule) bool { return r.Source == "k8s_audit" }},
		{"tags", "[b, a, b]", func(r *Rule) bool { return reflect.DeepEqual(r.Tags, []string{"a", "b"}) }},
		{"capture_duration", "010", func(r *Rule) bool { return r.CaptureDuration == 8 }},
		{"warn_evttypes", "true", func(r *Rule) bool { return r.WarnEvttypes && r.Source == "syscall" }},
	}
	for _, tt := range tests {
		text := "- rule: R\n  desc: d\n  condition: c\n  output: o\n"
		if tt.key != "priority" {
			text += "  priority: INFO\n"
		}
		text += "  " + tt.key + ": " + tt.value + "\n"
		col := load(t, text)
		if r := col.Rule("R"); !tt.check(r) {
			t.Errorf("%s: %s gave %+v", tt.key, tt.value, r)
		}
	}
}

func TestEngineVersions(t *testing.T) {
	col := load(t, "- required_engine_version: 15\n", "- required_engine_version: 0.31.0\n- required_engine_version: 2\n")
	if col.RequiredEngineVersion != "0.31.0" {
		t.Errorf("required %q", col.RequiredEngineVersion)
	}
	if len(col.PluginRequirements) != 0 {
		t.Errorf("plugins %+v", col.PluginRequirements)
	}
}

// TestConditionPosition is the pitfall STYLE.md §3 names: an offset on the
// second line of a folded condition must map to that file line and column.
func TestConditionPosition(t *testing.T) {
	src := `- rule: R
  desc: d
  condition: >
    ka.verb = create and
      ka.nope = x and
    ka.user.name = "a\tb"
  output: "user=%ka.user.name \"q\" %ka.verb"
  priority: INFO
- macro: M
  condition: ka.verb = get or
    ka.verb = 'list'   # comment
- macro: Q
  condition: 'it''s ka.verb'
`
	col, rep := Load([]Source{{Name: "f.yaml", Data: []byte(src)}}, Options{})
	if rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	r := col.Rule("R")
	tests := []struct {
		t    Text
		find string
		want string
	}{
		{r.Condition, "ka.verb", "f.yaml:4:5"},
		{r.Condition, "ka.nope", "f.yaml:5:7"},
		{r.Condition, "= x", "f.yaml:5:15"},
		{r.Condition, `\tb`, "f.yaml:6:22"},
		{r.OutputText, "%ka.verb", "f.yaml:7:37"},
		{r.OutputText, "user", "f.yaml:7:12"},
		{col.Macro("M").Condition, "'list'", "f.yaml:11:15"},
		{col.Macro("Q").Condition, "s ka.verb", "f.yaml:13:19"},
	}
	for _, tt := range tests {
		off := strings.Index(tt.t.S, tt.find)
		if off < 0 {
			t.Fatalf("%q not in %q", tt.find, tt.t.S)
		}
		if got := tt.t.Position(off).String(); got != tt.want {
			t.Errorf("%q in %q: got %s, want %s", tt.find, tt.t.S, got, tt.want)
		}
	}
	if r.OutputPos.String() != "f.yaml:7:12" {
		t.Errorf("OutputPos %v", r.OutputPos)
	}
}

func TestKindOrderAndUnknown(t *testing.T) {
	col, rep := Load(sources(`
- rule: R
  macro: M
  list: L
  items: [a]
- unknown: x
`), Options{})
	if rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if len(col.Lists) != 1 || len(col.Macros) != 0 || len(col.Rules) != 0 {
		t.Errorf("kinds: %d lists %d macros %d rules", len(col.Lists), len(col.Macros), len(col.Rules))
	}
	var got []string
	for _, w := range rep.Warnings() {
		got = append(got, w.Error()+" "+w.Code)
	}
	want := []string{
		"a.yaml:2:3: Unknown key 'rule'. The key will be ignored. LOAD_UNKNOWN_KEY",
		"a.yaml:3:3: Unknown key 'macro'. The key will be ignored. LOAD_UNKNOWN_KEY",
		"a.yaml:6:3: Unknown top level item LOAD_UNKNOWN_ITEM",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestPriority(t *testing.T) {
	for i, name := range []string{"emergency", "ALERT", "Critical", "error", "warning", "notice", "INFO", "debug"} {
		p, ok := ParsePriority(name)
		if !ok || p != Priority(i) {
			t.Errorf("%s: %v %v", name, p, ok)
		}
	}
	if _, ok := ParsePriority("informationa"); ok {
		t.Error("prefix accepted")
	}
	if Informational.String() != "Informational" || Priority(9).String() != "Priority(9)" {
		t.Error("String")
	}
}

func TestDecoders(t *testing.T) {
	for s, want := range map[string]int{"y": 1, "Yes": 1, "TRUE": 1, "on": 1, "n": 0, "OFF": 0, "False": 0,
		"tRue": -1, "1": -1, "enabled": -1} {
		b, ok := parseCppBool(s)
		if got := map[bool]int{true: 0, false: -1}[ok] + map[bool]int{true: 1}[b && ok]; got != want {
			t.Errorf("bool %q: %v %v", s, b, ok)
		}
	}
	for s, want := range map[string]int64{"15": 15, "+15": 15, "0x1f": 31, "017": 15, "15 ": 15,
		"-1": -1, " 15": -1, "1_0": -1, "4294967296": -1, "": -1} {
		u, ok := parseCppUint(s, 32)
		if (ok && int64(u) != want) || (!ok && want != -1) {
			t.Errorf("uint %q: %d %v", s, u, ok)
		}
	}
	for s, want := range map[string]string{"0.63.0": "0.63.0", " 1.2.3-rc1": "1.2.3", "1.2": "", "a.b.c": "", "1..3": ""} {
		v, ok := parseVersion(s)
		if (ok && v.String() != want) || (!ok && want != "") {
			t.Errorf("version %q: %v %v", s, v, ok)
		}
	}
}

// TestAliasBomb: aliases may repeat a large sequence many times; the
// loader stops instead of doing quadratic (or worse) work.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("- list: big\n  items: &big [")
	for i := 0; i < 2000; i++ {
		b.WriteString("x,")
	}
	b.WriteString("x]\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "- list: l%d\n  items: *big\n", i)
	}
	_, rep := Load(sources(b.String()), Options{})
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "document contains excessive aliasing") {
		t.Fatalf("got %v", err)
	}
	// A few reuses are fine.
	load(t, "- list: a\n  items: &i [x, y]\n- list: b\n  items: *i\n- list: c\n  items: *i\n")
}

func TestEncodings(t *testing.T) {
	text := "- macro: m\n  condition: >\n    a and\n    b\n"
	utf16le := []byte{0xFF, 0xFE}
	for _, r := range text {
		utf16le = append(utf16le, byte(r), 0)
	}
	for name, data := range map[string][]byte{
		"bom":      append([]byte{0xEF, 0xBB, 0xBF}, text...),
		"utf16le":  utf16le,
		"crlf":     []byte(strings.ReplaceAll(text, "\n", "\r\n")),
		"cr alone": []byte(strings.ReplaceAll(text, "\n", "\r")),
	} {
		col, rep := Load([]Source{{Name: "e.yaml", Data: data}}, Options{})
		if rep.Err() != nil {
			t.Fatalf("%s: %v", name, rep.Err())
		}
		c := col.Macro("m").Condition
		if got := c.Position(strings.Index(c.S, "b")).String(); got != "e.yaml:4:5" {
			t.Errorf("%s: %s", name, got)
		}
	}
}

func TestLegacyIndentPositions(t *testing.T) {
	data, err := os.ReadFile("testdata/legacy_indent.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	col, _ := Load([]Source{{Name: "l.yaml", Data: data}}, Options{})
	c := col.Rule("Legacy").Condition
	if got := c.Position(strings.Index(c.S, "proc.name")).String(); got != "l.yaml:9:9" {
		t.Errorf("got %s", got)
	}
}
