package enginetest

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/rules"
)

// sharedDir finds ../shared beside the repository (or $PEREGRINE_SHARED)
// and skips the test when it is absent, so the project also passes when
// cloned alone.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("PEREGRINE_SHARED"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	shared := filepath.Join(filepath.Dir(dir), "shared")
	if _, err := os.Stat(filepath.Join(shared, "corpus")); err != nil {
		t.Skipf("../shared is absent (%s): upstream corpus tests skipped", shared)
	}
	return shared
}

// readTSV reads a tab-separated file with a header into maps.
func readTSV(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			if i < len(rec) {
				row[h] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// readRules reads rules files named relative to dir, in order.
func readRules(t testing.TB, dir string, names []string) []rules.Source {
	t.Helper()
	var paths []string
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			paths = append(paths, filepath.Join(dir, n))
		}
	}
	srcs, _, err := rules.ReadPaths(paths, false)
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}
