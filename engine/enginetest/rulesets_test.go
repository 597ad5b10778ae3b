package enginetest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/engine"
)

// TestUpstreamRulesetsCompile: every upstream ruleset loads and compiles
// with no error, alone when it stands alone and after its base when it is an
// overlay, and so does every chain of rules files that a row of
// expectations.tsv loads.
func TestUpstreamRulesetsCompile(t *testing.T) {
	shared := sharedDir(t)
	up := filepath.Join(shared, "upstream")
	chains := [][]string{
		{"rules/k8saudit/k8s_audit_rules.yaml"},
		{"rules/k8saudit/versions/0.16.0/k8s_audit_rules.yaml"},
		{"rules/k8saudit/versions/0.6.0/k8s_audit_rules.yaml"},
		{"rules/k8saudit/k8s_audit_rules.yaml", "rules/k8saudit-gke/k8s_audit_rules_gke.yaml"},
		{"rules/k8saudit-gke/hack/rules.yaml"},
		{"rules/history/k8saudit-aks/falco_aks_audit.yaml"},
		{"rules/history/k8saudit-eks/k8s_audit_rules.yaml"},
		{"rules/falco-rules-1.0.1/falco_rules.yaml"},
		{"rules/falco-intree-0.31/falco_rules.yaml"},
		{"rules/falco-intree-0.31/k8s_audit_rules.yaml"},
	}
	seen := map[string]bool{}
	for _, c := range chains {
		seen[strings.Join(c, ";")] = true
	}
	for _, row := range readTSV(t, filepath.Join(shared, "corpus", "expectations.tsv")) {
		if k := row["rules_files"]; !seen[k] {
			seen[k] = true
			chains = append(chains, strings.Split(k, ";"))
		}
	}
	for _, chain := range chains {
		t.Run(strings.Join(chain, "+"), func(t *testing.T) {
			res, err := Run(readRules(t, up, chain), nil, engine.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Report.Err(); err != nil {
				t.Fatal(err)
			}
			if res.Engine == nil {
				t.Fatal("engine did not compile")
			}
		})
	}
}
