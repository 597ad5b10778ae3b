package rules

import (
	"reflect"
	"testing"
)

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "Create Disallowed Pod", true},
		{"Create*", "Create Disallowed Pod", true},
		{"*Pod", "Create Disallowed Pod", true},
		{"*Disallowed*", "Create Disallowed Pod", true},
		{"Create?Disallowed Pod", "Create Disallowed Pod", true},
		{"create*", "Create Disallowed Pod", false},
		{"Create", "Create Disallowed Pod", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"?", "é", true},
		{"[ab]", "a", false}, // no classes: '[' is literal
		{"[ab]", "[ab]", true},
	}
	for _, tt := range tests {
		if got := wildcard(tt.pattern, tt.name); got != tt.want {
			t.Errorf("wildcard(%q, %q) = %v", tt.pattern, tt.name, got)
		}
	}
}

func TestApply(t *testing.T) {
	col := load(t, `
- rule: Create Pod
  desc: d
  condition: c
  output: o
  priority: INFO
  tags: [k8s, pod]
- rule: Delete Pod
  desc: d
  condition: c
  output: o
  priority: INFO
  enabled: false
  tags: [k8s]
- rule: Other
  desc: d
  condition: c
  output: o
  priority: INFO
`)
	enabled := func() []bool {
		var out []bool
		for _, r := range col.Rules {
			out = append(out, r.Enabled)
		}
		return out
	}
	steps := []struct {
		sel  []Selector
		want []bool
	}{
		{[]Selector{{Enable: false, Rule: "*"}}, []bool{false, false, false}},
		{[]Selector{{Enable: true, Tag: "k8s"}}, []bool{true, true, false}},
		{[]Selector{{Enable: false, Rule: "Delete*"}, {Enable: true, Rule: "Oth?r"}}, []bool{true, false, true}},
		{[]Selector{{Enable: false, Rule: "Create Pod", Tag: "pod"}}, []bool{false, false, true}},
		{[]Selector{{Enable: true, Tag: "po"}}, []bool{false, false, true}},
	}
	for i, s := range steps {
		col.Apply(s.sel)
		if got := enabled(); !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: %v, want %v", i, got, s.want)
		}
	}
	if got := names(col.Rules); !reflect.DeepEqual(got, []string{"Create Pod", "Delete Pod", "Other"}) {
		t.Errorf("order changed: %v", got)
	}
}
