package rules

import "testing"

// TestSubstituteList pins the text substitution Falco runs before parsing,
// which decides whether a list counts as used.
func TestSubstituteList(t *testing.T) {
	tests := []struct {
		name, text string
		items      []string
		want       string
		found      bool
	}{
		{"in a value list", "ka.verb in (l)", []string{"a", "b"}, "ka.verb in ( a, b )", true},
		{"only between delimiters", "l_x l.y x=l", []string{"a"}, "l_x l.y x= a ", true},
		{"not found", "ka.verb in (ll)", []string{"a"}, "ka.verb in (ll)", false},
		{"items with a space are quoted", "x in (l)", []string{"a b", `"c d"`}, `x in ( "a b", "c d" )`, true},
		{"an empty list takes a comma", "x in (a, l)", nil, "x in (a  )", true},
		{"every occurrence", "x in (l) or y in (l)", []string{"a"}, "x in ( a ) or y in ( a )", true},
		{"at the start the next character is skipped", "l l", []string{"a"}, "a l", true},
	}
	for _, tt := range tests {
		got, found := substituteList(tt.text, "l", tt.items)
		if got != tt.want || found != tt.found {
			t.Errorf("%s: got %q %v, want %q %v", tt.name, got, found, tt.want, tt.found)
		}
	}
}
