// Package sourcetest holds what the sources' tests share.
package sourcetest

import (
	"slices"
	"strings"
	"testing"
)

// CheckCase is one row of a source's Check table: a plugins entry and
// what checking it must give.
type CheckCase struct {
	Name       string
	InitConfig map[string]any
	OpenParams string
	Warn       []string // exactly these warnings
	Err        string   // a part of the error; "" for none
}

// RunChecks runs check, a source's Check, on each case. No warning may
// show the value "s3cret": warnings name keys, never values.
func RunChecks(t *testing.T, check func(map[string]any, string) ([]string, error), cases []CheckCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			warn, err := check(tc.InitConfig, tc.OpenParams)
			if tc.Err == "" && err != nil || tc.Err != "" && (err == nil || !strings.Contains(err.Error(), tc.Err)) {
				t.Errorf("error %v, want %q", err, tc.Err)
			}
			if !slices.Equal(warn, tc.Warn) {
				t.Errorf("warnings %q, want %q", warn, tc.Warn)
			}
			for _, w := range warn {
				if strings.Contains(w, "s3cret") {
					t.Errorf("warning shows a value: %s", w)
				}
			}
		})
	}
}
