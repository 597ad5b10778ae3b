package condition

import (
	"fmt"
	"strings"
	"testing"
)

// testEnv is an Env over macro texts and list items. Macros are parsed
// once and the same tree is handed out every time, as the loader will.
type testEnv struct {
	macros map[string]string
	lists  map[string][]string
	parsed map[string]Node
}

func (e *testEnv) Macro(name string) (Node, bool) {
	if n, ok := e.parsed[name]; ok {
		return n, true
	}
	src, ok := e.macros[name]
	if !ok {
		return nil, false
	}
	n, err := Parse(src)
	if err != nil {
		panic(fmt.Sprintf("macro %s: %v", name, err))
	}
	if e.parsed == nil {
		e.parsed = map[string]Node{}
	}
	e.parsed[name] = n
	return n, true
}

func (e *testEnv) List(name string) ([]string, bool) {
	items, ok := e.lists[name]
	return items, ok
}

var expandEnv = &testEnv{
	macros: map[string]string{
		"is_admin":   "ka.user.name = admin",
		"create":     "ka.verb = create",
		"any_write":  "create or ka.verb in (write_verbs)",
		"both":       "ka.verb = a and ka.verb = b",
		"uses_nope":  "ka.verb = x and nope",
		"loop_a":     "loop_b and ka.verb exists",
		"loop_b":     "(loop_a)",
		"self":       "not self",
		"reads_list": `ka.target.resource in (sensitive, "sensitive")`,
	},
	lists: map[string][]string{
		"write_verbs": {"create", "update", "patch"},
		"sensitive":   {"secrets", "configmaps"},
		"all":         {"sensitive", "pods"},
		"empty":       {},
		"cycle_a":     {"cycle_b", "a"},
		"cycle_b":     {"cycle_a", "b"},
		"quoted":      {`"10.0.0.0/8"`, "'x y'", "a b", "x,y", "(p)", "", `"esc\"aped"`},
		"bad_quote":   {`"open`},
		"trailing":    {`"a"b`},
		"one":         {"only"},
		"prefixes":    {"/api", "/apis"},
	},
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // String() of the result
		tree     string // sexpr of the result, when the shape matters
	}{
		{name: "macro", in: "is_admin and ka.verb = get", want: "ka.user.name = admin and ka.verb = get"},
		{name: "nested macros and lists", in: "not any_write",
			want: "not (ka.verb = create or ka.verb in (create, update, patch))"},
		{name: "macro tree kept whole", in: "both and ka.uri exists",
			tree: "(and (and (= ka.verb a) (= ka.verb b)) (exists ka.uri))"},
		{name: "macro used twice", in: "is_admin or not is_admin", want: "ka.user.name = admin or not ka.user.name = admin"},
		{name: "list in parens", in: `ka.verb in (write_verbs, "write_verbs", get)`,
			tree: `(in ka.verb [create update patch "write_verbs" get])`},
		{name: "list without parens", in: "ka.verb in write_verbs", want: "ka.verb in (create, update, patch)"},
		{name: "one-item list without parens", in: "ka.verb in one", tree: "(in ka.verb [only])"},
		{name: "unknown name stays", in: "ka.verb in nothing", tree: "(in ka.verb {nothing})"},
		{name: "nested lists", in: "ka.target.resource intersects (all)", want: "ka.target.resource intersects (secrets, configmaps, pods)"},
		{name: "empty list", in: "ka.verb in (a, empty, b) or ka.verb in (empty)", want: "ka.verb in (a, b) or ka.verb in ()"},
		{name: "list cycle is literal", in: "ka.verb in (cycle_a)", tree: "(in ka.verb [cycle_a b a])"},
		{name: "raw items", in: "ka.verb pmatch (quoted)",
			tree: `(pmatch ka.verb ["10.0.0.0/8" "x y" "a b" "x,y" "(p)" "" "esc\"aped"])`},
		{name: "modifier list", in: "ka.uri startswith oneof (prefixes)", want: "ka.uri startswith oneof (/api, /apis)"},
		{name: "single value is not a list name", in: "ka.verb = write_verbs", want: "ka.verb = write_verbs"},
		{name: "transformer list is not expanded", in: "concat(ka.verb, (\"x\", 1)) in (one)", want: "concat(ka.verb, (\"x\", 1)) in (only)"},
		{name: "lists inside macros", in: "reads_list", tree: `(in ka.target.resource [secrets configmaps "sensitive"])`},
		{name: "no names", in: "tolower(ka.x) = val(ka.y) and jevt.value[/a] exists", want: "tolower(ka.x) = val(ka.y) and jevt.value[/a] exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			before := n.String()
			x, err := Expand(n, expandEnv)
			if err != nil {
				t.Fatalf("Expand(%q): %v", tc.in, err)
			}
			if n.String() != before {
				t.Fatalf("Expand changed its input: %q became %q", before, n.String())
			}
			if tc.want != "" && x.String() != tc.want {
				t.Errorf("Expand(%q) =\n  %s\nwant\n  %s", tc.in, x, tc.want)
			}
			if tc.tree != "" && sexpr(x) != tc.tree {
				t.Errorf("Expand(%q) =\n  %s\nwant\n  %s", tc.in, sexpr(x), tc.tree)
			}
			Inspect(x, func(m Node) bool {
				if _, ok := m.(*MacroRef); ok {
					t.Errorf("Expand(%q) left a macro reference: %s", tc.in, x)
				}
				return true
			})
			if _, err := Parse(x.String()); err != nil {
				t.Errorf("expanded %q prints as %q, which does not parse: %v", tc.in, x, err)
			}
		})
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"undefined", "ka.verb = x and nope", `1:17: Undefined macro 'nope' used in filter.
   | ka.verb = x and nope
   |                 ^`},
		{"undefined inside a macro points at the reference", "ka.verb = x or\n  not uses_nope", `2:7: Undefined macro 'nope' used in filter.
   |   not uses_nope
   |       ^`},
		{"loop", "ka.verb exists and loop_a", `1:20: reference loop in macro 'loop_a'
   | ka.verb exists and loop_a
   |                    ^`},
		{"self loop", "self", `1:1: reference loop in macro 'self'
   | self
   | ^`},
		{"malformed quoted list item", "ka.verb in (x, bad_quote)", `1:16: list 'bad_quote': item "open: unterminated quoted string
   | ka.verb in (x, bad_quote)
   |                ^`},
		{"text after quoted list item", "ka.verb in trailing", `1:12: list 'trailing': item "a"b: unexpected text after the closing quote
   | ka.verb in trailing
   |            ^`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Expand(n, expandEnv)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("Expand(%q) error = %v, want *Error", tc.in, err)
			}
			if got := e.Render(tc.in); got != tc.err {
				t.Errorf("Expand(%q) error:\n%s\nwant\n%s", tc.in, got, tc.err)
			}
		})
	}
}

// TestExpandPositions checks that nodes copied from a macro keep their
// positions in the macro's own text (callers give each text its own range
// of offsets), and list items take the position of the name they replace.
func TestExpandPositions(t *testing.T) {
	src := "ka.uri exists and any_write and ka.x in (write_verbs)"
	n, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	x, err := Expand(n, expandEnv)
	if err != nil {
		t.Fatal(err)
	}
	terms := x.(*And).Terms
	if got, want := terms[1].Position(), expandEnv.parsed["any_write"].Position(); got != want {
		t.Errorf("macro copy at %d, want the macro's own position %d", got, want)
	}
	for _, v := range terms[2].(*Check).Right.(*List).Items {
		if v.At != 41 {
			t.Errorf("item %s at %d, want 41 (the list name)", v.Text, v.At)
		}
	}
	if terms[0].Position() != 0 || terms[2].Position() != 32 {
		t.Errorf("rule positions moved: %d, %d", terms[0].Position(), terms[2].Position())
	}
}

// TestExpandSharesNothing checks that two expansions of the same macro share
// no node with each other or with the macro's tree.
func TestExpandSharesNothing(t *testing.T) {
	env := &testEnv{macros: expandEnv.macros, lists: expandEnv.lists}
	n, _ := Parse("any_write")
	a, err := Expand(n, env)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Expand(n, env)
	seen := map[Node]bool{}
	Inspect(env.parsed["any_write"], func(m Node) bool { seen[m] = true; return true })
	Inspect(env.parsed["create"], func(m Node) bool { seen[m] = true; return true })
	Inspect(a, func(m Node) bool { seen[m] = true; return true })
	Inspect(b, func(m Node) bool {
		if seen[m] {
			t.Errorf("%T %s is shared", m, m)
		}
		return true
	})
	// Mutating one result must leave the macro and the other result alone.
	a.(*Or).Terms[0].(*Check).Right.(*Value).Text = "changed"
	if got := b.String(); strings.Contains(got, "changed") {
		t.Errorf("second expansion changed: %s", got)
	}
	if got := env.parsed["create"].String(); got != "ka.verb = create" {
		t.Errorf("macro changed: %s", got)
	}
}

// TestExpandTooLarge checks the node budget on macros that double at each level.
func TestExpandTooLarge(t *testing.T) {
	env := &testEnv{macros: map[string]string{"m0": "a.b exists"}}
	for i := 1; i <= 30; i++ {
		env.macros[fmt.Sprintf("m%d", i)] = fmt.Sprintf("m%d and m%d", i-1, i-1)
	}
	n, _ := Parse("x.y exists or m30")
	_, err := Expand(n, env)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Expand = %v, want a size error", err)
	}
}
