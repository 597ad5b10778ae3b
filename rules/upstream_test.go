package rules

import (
	"encoding/csv"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sharedDir is ../shared seen from the repository root (DESIGN.md).
const sharedDir = "../../shared"

func needShared(t *testing.T) string {
	t.Helper()
	up := filepath.Join(sharedDir, "upstream")
	if _, err := os.Stat(up); err != nil {
		t.Skipf("skipping: upstream rules not found at %s (../shared is absent)", up)
	}
	return up
}

func readSources(t *testing.T, up string, rels ...string) []Source {
	t.Helper()
	out := make([]Source, len(rels))
	for i, rel := range rels {
		data, err := os.ReadFile(filepath.Join(up, rel))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = Source{Name: rel, Data: data}
	}
	return out
}

// overlayBase names, for upstream files that only append to lists or rules
// of other files, the files they are loaded after.
var overlayBase = map[string][]string{
	"rules/k8saudit-gke/k8s_audit_rules_gke.yaml":           {"rules/k8saudit/k8s_audit_rules.yaml"},
	"test-rules/falco/k8s_audit/allow_namespace_foo.yaml":   {"rules/k8saudit/versions/0.6.0/k8s_audit_rules.yaml"},
	"test-rules/falco/k8s_audit/allow_user_some-user.yaml":  {"rules/k8saudit/versions/0.6.0/k8s_audit_rules.yaml"},
	"test-rules/testing/allow_namespace_foo.yaml":           {"rules/k8saudit/k8s_audit_rules.yaml"},
	"test-rules/testing/allow_user_some-user.yaml":          {"rules/k8saudit/k8s_audit_rules.yaml"},
	"test-rules/testing/trust_nginx_container.yaml":         {"rules/k8saudit/k8s_audit_rules.yaml"},
	"test-rules/falco/k8s_audit/trust_nginx_container.yaml": {"rules/falco-intree-0.31/falco_rules.yaml", "rules/falco-intree-0.31/k8s_audit_rules.yaml"},
}

// TestUpstreamFiles loads every upstream rules file on its own (an overlay
// after its base) and expects no error. falco-unit files must fail; see
// TestUpstreamUnitExpectations.
func TestUpstreamFiles(t *testing.T) {
	up := needShared(t)
	n := 0
	for _, dir := range []string{"rules", "test-rules"} {
		err := filepath.WalkDir(filepath.Join(up, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
				return err
			}
			rel, _ := filepath.Rel(up, path)
			if strings.HasPrefix(rel, "test-rules/falco-unit/") {
				return nil
			}
			checkChain(t, up, append(append([]string(nil), overlayBase[rel]...), rel))
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 30 {
		t.Errorf("only %d upstream files found", n)
	}
}

func checkChain(t *testing.T, up string, chain []string) *Collection {
	t.Helper()
	col, rep := Load(readSources(t, up, chain...), Options{})
	if err := rep.Err(); err != nil {
		t.Errorf("%s:\n%v", strings.Join(chain, ";"), err)
	}
	return col
}

func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = '\t', true, -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("%s: %v", path, err)
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

// TestUpstreamChains loads every rules_files chain of
// corpus/expectations.tsv, in order, and expects no error.
func TestUpstreamChains(t *testing.T) {
	up := needShared(t)
	seen := map[string]bool{}
	for _, row := range readTSV(t, filepath.Join(sharedDir, "corpus", "expectations.tsv")) {
		chain := row["rules_files"]
		if chain == "" || seen[chain] {
			continue
		}
		seen[chain] = true
		col := checkChain(t, up, strings.Split(chain, ";"))
		if len(col.Rules) == 0 {
			t.Errorf("%s: no rules", chain)
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d chains", len(seen))
	}
}

var containsRE = regexp.MustCompile(`error message contains "([^"]+)"`)

// TestUpstreamUnitExpectations reads the rule_loader rows of
// corpus/engine_unit_expectations.tsv and checks each file fails with the
// message Falco's unit test expects.
func TestUpstreamUnitExpectations(t *testing.T) {
	up := needShared(t)
	n := 0
	for _, row := range readTSV(t, filepath.Join(sharedDir, "corpus", "engine_unit_expectations.tsv")) {
		if row["suite"] != "rule_loader" {
			continue
		}
		m := containsRE.FindStringSubmatch(row["expected"])
		if m == nil {
			t.Fatalf("%s: cannot read expectation %q", row["test_name"], row["expected"])
		}
		_, rep := Load(readSources(t, up, row["rules_file"]), Options{})
		if err := rep.Err(); err == nil || !strings.Contains(err.Error(), m[1]) {
			t.Errorf("%s: got %v, want an error containing %q", row["test_name"], err, m[1])
		}
		n++
	}
	if n != 3 {
		t.Errorf("%d rule_loader rows, want 3", n)
	}
}
