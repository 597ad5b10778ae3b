package condition

import (
	"strings"
	"testing"
)

// benchCondition returns the longest upstream condition (Falco's
// write_etc_common macro, about 4 KB) or, without shared/, the parse test
// inputs that parse, joined by "or".
func benchCondition(b *testing.B) string {
	var best string
	for _, c := range readUpstreamConditions(b) {
		if len(c.text) > len(best) {
			best = c.text
		}
	}
	if best != "" {
		return best
	}
	var parts []string
	for _, tc := range parseTests {
		if _, err := Parse(tc.in); err == nil {
			parts = append(parts, "("+tc.in+")")
		}
	}
	return strings.Join(parts, " or ")
}

// BenchmarkLex times tokenising alone: the lexer calls of one parse are
// recorded, then replayed (the lexer is driven by the parser's modes).
func BenchmarkLex(b *testing.B) {
	src := benchCondition(b)
	var calls []lexCall
	p := &parser{lex: lexer{src: src}, trace: &calls}
	if _, err := p.parse(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	l := lexer{src: src}
	for b.Loop() {
		for _, c := range calls {
			l.off = c.off
			l.next(c.m)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	src := benchCondition(b)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	n, err := Parse(benchCondition(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = n.String()
	}
}
