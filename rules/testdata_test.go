package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// marker is an expectation written in a testdata file: a comment
// `# ERROR "regexp"` or `# WARN "regexp"` on the line the diagnostic must
// point to. Several markers may share one comment.
type marker struct {
	line int
	warn bool
	re   *regexp.Regexp
	used bool
}

var markerRE = regexp.MustCompile(`(ERROR|WARN) "((?:[^"\\]|\\.)*)"`)

func readMarkers(t *testing.T, data []byte) []*marker {
	t.Helper()
	var ms []*marker
	for i, line := range strings.Split(string(data), "\n") {
		hash := strings.Index(line, "# ")
		if hash < 0 {
			continue
		}
		for _, m := range markerRE.FindAllStringSubmatch(line[hash:], -1) {
			re, err := regexp.Compile(m[2])
			if err != nil {
				t.Fatalf("line %d: bad marker regexp: %v", i+1, err)
			}
			ms = append(ms, &marker{line: i + 1, warn: m[1] == "WARN", re: re})
		}
	}
	return ms
}

// TestTestdata loads every testdata/*.good.yaml and *.bad.yaml file on its
// own. Every error and warning must be announced by a marker on its line,
// and every marker must be met. Good files have no ERROR markers; bad
// files have at least one.
func TestTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			checkMarkers(t, f, data)
		})
	}
}

func checkMarkers(t *testing.T, name string, data []byte) {
	markers := readMarkers(t, data)
	errs := 0
	for _, m := range markers {
		if !m.warn {
			errs++
		}
	}
	if bad := strings.HasSuffix(name, ".bad.yaml"); bad != (errs > 0) {
		t.Fatalf("a .bad.yaml file needs ERROR markers and a .good.yaml file none (found %d)", errs)
	}
	_, rep := Load([]Source{{Name: name, Data: data}}, Options{})
	for _, d := range append(rep.Errors(), rep.Warnings()...) {
		if d.Pos.File != name || d.Pos.Col < 1 {
			t.Errorf("bad position %v for %q", d.Pos, d.Msg)
		}
		if !claim(markers, d) {
			t.Errorf("unexpected %s at %v: %s (%s)", kindOf(d), d.Pos, d.Msg, d.Code)
		}
	}
	for _, m := range markers {
		if !m.used {
			t.Errorf("line %d: no %s matching %q", m.line, kindOf(Diag{Warning: m.warn}), m.re)
		}
	}
}

// claim marks the first unused marker that describes d.
func claim(markers []*marker, d Diag) bool {
	for _, m := range markers {
		if !m.used && m.line == d.Pos.Line && m.warn == d.Warning && m.re.MatchString(d.Msg) {
			m.used = true
			return true
		}
	}
	return false
}

func kindOf(d Diag) string {
	if d.Warning {
		return "warning"
	}
	return "error"
}
