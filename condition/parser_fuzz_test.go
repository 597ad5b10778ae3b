package condition

import (
	"errors"
	"strings"
	"testing"
)

// fuzzEnv gives the fuzzer a few macros and lists to expand, including a
// loop, so that Expand runs on whatever Parse accepts.
var fuzzEnv = &testEnv{
	macros: map[string]string{
		"a":    "ka.verb = x",
		"b":    "a or c.d in (l)",
		"loop": "b and loop",
	},
	lists: map[string][]string{
		"l": {"x", "m", `"q r"`},
		"m": {"l", "y"},
		"e": {},
	},
}

// FuzzParseCondition checks that Parse never panics, that errors stay inside
// the input, that every tree prints as text that parses back to it, and
// that Warnings and Expand cope with every tree Parse returns.
func FuzzParseCondition(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.in)
	}
	for _, c := range readUpstreamConditions(f) {
		f.Add(c.text)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := Parse(src)
		if err == nil {
			_ = Warnings(n)
			checkExpand(t, src, n)
		}
		checkParse(t, src, n, err)
	})
}

func checkExpand(t *testing.T, src string, n Node) {
	x, err := Expand(n, fuzzEnv)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Pos < 0 || int(e.Pos) >= len(src) {
			t.Fatalf("Expand(%q): bad error %v", src, err)
		}
		return
	}
	if _, err := Parse(x.String()); err != nil && !strings.Contains(err.Error(), "max depth") {
		t.Fatalf("Expand(%q) prints as %q, which does not parse: %v", src, x, err)
	}
}
