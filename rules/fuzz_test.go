package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"unicode/utf8"
)

// fuzzBase is loaded before the fuzzed file so appends and overrides have
// something to change.
const fuzzBase = `
- list: L
  items: [a, b]
- macro: M
  condition: ka.verb = get
- rule: R
  desc: d
  condition: M and ka.user.name in (L)
  output: o %ka.verb
  priority: INFO
  source: k8s_audit
  exceptions:
    - name: e
      fields: [ka.user.name]
      values: [[alice]]
`

// FuzzLoad checks that Load never panics and that every position it
// reports for the fuzzed file, and every position a condition or output
// maps to, lies inside that file.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("- rule: R\n  condition: >\n    and x\n  override:\n    condition: append\n"))
	f.Add([]byte("- rule: R\n  output: \"a\\x41\\\n  b\"\n  override: {output: replace}\n"))
	f.Add([]byte("- &a [x]\n- *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files := []Source{{Name: "base.yaml", Data: []byte(fuzzBase)}, {Name: "fuzz.yaml", Data: data}}
		col, rep := Load(files, Options{})
		in := newBounds("fuzz.yaml", data)
		for _, d := range append(rep.Errors(), rep.Warnings()...) {
			if d.Pos.File == "fuzz.yaml" && !in.contains(d.Pos) {
				t.Fatalf("%s outside the file: %v", d.Error(), d.Pos)
			}
		}
		for _, m := range col.Macros {
			in.checkText(t, m.Condition)
		}
		for _, r := range col.Rules {
			in.checkText(t, r.Condition)
			in.checkText(t, r.OutputText)
		}
	})
}

// bounds knows the length, in runes, of each line of a file.
type bounds struct {
	name  string
	lines []int
}

// yamlBreaks are the line breaks YAML counts: CR LF, CR, LF, NEL, LS, PS.
var yamlBreaks = regexp.MustCompile("\r\n|\r|\n|\u0085|\u2028|\u2029")

func newBounds(name string, data []byte) bounds {
	b := bounds{name: name}
	for _, l := range yamlBreaks.Split(string(utf8Text(data)), -1) {
		b.lines = append(b.lines, utf8.RuneCountInString(l))
	}
	return b
}

// contains allows one column past the end of a line (an "unexpected end")
// and line 1 of an empty file.
func (b bounds) contains(p Position) bool {
	return p.Line >= 1 && p.Line <= len(b.lines) && p.Col >= 1 && p.Col <= b.lines[p.Line-1]+1
}

// checkText checks the start and the end of a text, and each of its runes
// that is not white space (white space may be folded line breaks, which
// map past the end of their line).
func (b bounds) checkText(t *testing.T, x Text) {
	t.Helper()
	for off, r := range x.S + "." {
		if off != 0 && off != len(x.S) && isBlank(r) {
			continue
		}
		if p := x.Position(off); p.File == b.name && !b.contains(p) {
			t.Fatalf("offset %d of %q maps outside the file: %v", off, x.S, p)
		}
	}
}
