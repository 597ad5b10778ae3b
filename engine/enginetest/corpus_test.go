package enginetest

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/engine"
)

// builtinExceptions are falco-python-builtin rows that depend on Falco's
// pre-plugin (<= 0.31) behaviour, each with the reason. docs/COMPATIBILITY.md
// lists the same rows; every other row of every generation must pass.
var builtinExceptions = map[string]string{
	"fal_01_003": "the pre-plugin reader printed \"Could not read k8s audit event line #1 ... stopping\"; the plugin era (and Peregrine) report \"data not recognized as a k8s audit event\"",
}

// TestUpstreamExpectations runs every row of corpus/expectations.tsv: the
// assertions of upstream's own test suites, through the same runner as
// `peregrine test`.
func TestUpstreamExpectations(t *testing.T) {
	shared := sharedDir(t)
	up := filepath.Join(shared, "upstream")
	passed, skipped := 0, 0
	for _, row := range readTSV(t, filepath.Join(shared, "corpus", "expectations.tsv")) {
		name := row["generation"] + "/" + row["test_name"]
		if reason, ok := builtinExceptions[row["test_name"]]; ok && row["generation"] == "falco-python-builtin" {
			t.Logf("skip %s: %s", name, reason)
			skipped++
			continue
		}
		t.Run(name, func(t *testing.T) {
			res, err := Run(readRules(t, up, strings.Split(row["rules_files"], ";")), []string{filepath.Join(up, row["trace"])}, engine.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range res.Check(expectFromRow(row)) {
				t.Error(bad)
			}
			checkStderr(t, res, row["expect_stderr"])
			if !t.Failed() {
				passed++
			}
		})
	}
	t.Logf("upstream expectations: %d passed, %d skipped (pre-plugin behaviour)", passed, skipped)
}

func expectFromRow(row map[string]string) Expect {
	e := Expect{RuleCounts: map[string]int{}, Priorities: map[string]bool{}}
	if d := row["expect_detections"]; d == ">0" || d == "0" {
		e.Detections = d
	}
	for _, spec := range strings.Split(row["expect_rule_counts"], "|") {
		if i := strings.LastIndexByte(spec, '='); i > 0 {
			n, _ := strconv.Atoi(spec[i+1:])
			e.RuleCounts[spec[:i]] = n
		}
	}
	for _, spec := range strings.Split(row["expect_priorities"], "|") {
		switch {
		case strings.HasSuffix(spec, ">0"):
			e.Priorities[strings.TrimSuffix(spec, ">0")] = true
		case strings.HasSuffix(spec, "=0"):
			e.Priorities[strings.TrimSuffix(spec, "=0")] = false
		}
	}
	return e
}

// checkStderr: upstream matched its stderr; Peregrine's equivalent is the
// problems the reader reported.
func checkStderr(t *testing.T, res *Result, pattern string) {
	if pattern == "" {
		return
	}
	re := regexp.MustCompile(pattern)
	for _, p := range res.Problems {
		if re.MatchString(p.Error()) {
			return
		}
	}
	t.Errorf("no reported problem matches %q (problems: %v)", pattern, res.Problems)
}

// TestEngineUnitLoader runs the rule_loader rows of
// corpus/engine_unit_expectations.tsv: loads that must fail.
func TestEngineUnitLoader(t *testing.T) {
	shared := sharedDir(t)
	for _, row := range readTSV(t, filepath.Join(shared, "corpus", "engine_unit_expectations.tsv")) {
		if row["suite"] != "rule_loader" {
			continue // filter_warning_resolver rows are tested on the syntax tree in package condition
		}
		t.Run(row["test_name"], func(t *testing.T) {
			m := regexp.MustCompile(`contains "([^"]+)"`).FindStringSubmatch(row["expected"])
			if m == nil {
				t.Fatalf("cannot read expectation %q", row["expected"])
			}
			res, err := Run(readRules(t, filepath.Join(shared, "upstream"), []string{row["rules_file"]}), nil, engine.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range res.Check(Expect{LoadError: m[1]}) {
				t.Error(bad)
			}
		})
	}
}
