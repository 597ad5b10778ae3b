package condition

import (
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWarningsUpstream runs the filter_warning_resolver rows of the shared
// corpus: each condition is parsed (not compiled; the field names are
// placeholders) and must warn, or not, as Falco's unit test says.
func TestWarningsUpstream(t *testing.T) {
	dir := sharedDir()
	if dir == "" {
		t.Skip("shared/corpus not found (set PEREGRINE_SHARED); skipping engine_unit_expectations.tsv")
	}
	f, err := os.Open(filepath.Join(dir, "corpus", "engine_unit_expectations.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = '\t', true, -1
	rows := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec[0] != "filter_warning_resolver" {
			continue
		}
		rows++
		cond, want := rec[2], rec[4]
		n, err := Parse(cond)
		if err != nil {
			t.Errorf("%q: %s (%s)", cond, err.(*Error).Render(cond), rec[5])
			continue
		}
		got := "no warning"
		if len(Warnings(n)) > 0 {
			got = "warning"
		}
		if got != want {
			t.Errorf("%q: %s, want %s (%s)", cond, got, want, rec[5])
		}
	}
	if rows == 0 {
		t.Fatal("no filter_warning_resolver rows in engine_unit_expectations.tsv")
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		in   string
		want string // "CODE@offset" joined by spaces
	}{
		{"ka.field exists", ""},
		{"ka.field = <NA>", "LOAD_UNSAFE_NA_CHECK@11"},
		{`jevt.value[/a] != "<NA>"`, "LOAD_UNSAFE_NA_CHECK@18"},
		{"ka.field in (a, <NA>, b, <NA>)", "LOAD_UNSAFE_NA_CHECK@16 LOAD_UNSAFE_NA_CHECK@25"},
		{"ka.field startswith <NA>", ""},
		{"ka.field = oneof (<NA>)", "LOAD_UNSAFE_NA_CHECK@18"},
		{"kafoo.field = <NA>", ""},
		{"tolower(ka.field) = <NA>", ""},
		{"ka.field = NA", ""},
		{"not (x and ka.a = <NA>) or ka.b intersects (<NA>)", "LOAD_UNSAFE_NA_CHECK@18 LOAD_UNSAFE_NA_CHECK@44"},
		{"evt.dir = <", "LOAD_COMPILE_CONDITION@10"},
		{"evt.dir=>", "LOAD_COMPILE_CONDITION@8"},
		{"evt.dir in (<, >)", "LOAD_COMPILE_CONDITION@12 LOAD_COMPILE_CONDITION@15"},
		{"evt.dir exists", ""},
		{"evt.type = <", ""},
	}
	for _, tc := range tests {
		n, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		var got []string
		for _, w := range Warnings(n) {
			if w.Msg == "" {
				t.Errorf("%q: warning %s without a message", tc.in, w.Code)
			}
			got = append(got, w.Code+"@"+strconv.Itoa(int(w.Pos)))
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("Warnings(%q) = %q, want %q", tc.in, s, tc.want)
		}
	}
}
