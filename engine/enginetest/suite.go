package enginetest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/rules"
)

// DefaultRulesName stands for the embedded default rules in a test file's
// rules list.
const DefaultRulesName = "<default>"

// SuiteSuffixes are the name endings that make a file in a directory a
// test file; other files there (rules, event data) are left alone.
var SuiteSuffixes = []string{"_test.yaml", "_test.yml"}

// Suite is one rule test file: which rules to load and the cases to run
// against them. The format is documented in README.md of this package.
type Suite struct {
	Path string
	// Rules are the rules files to load in order, relative to the test
	// file, or DefaultRulesName. Empty means the default rules alone.
	Rules []string
	// Append is rules text loaded after Rules, e.g. to enable an opt-in
	// rule or fill a list.
	Append string
	// MatchAll is rule_matching: all.
	MatchAll bool
	// Defaults are merged under every inline event of the file.
	Defaults *jsonValue
	Cases    []*Case
}

// Case is one run: events in, expected alerts out.
type Case struct {
	Name string
	Line int
	// Events are the inline events in order, each one JSON line.
	Events [][]byte
	// Files are event files, relative to the test file, read after Events.
	Files []string
	// Expect lists the rules that must fire (Count > 0) or must not
	// (Count 0). Unless IgnoreOtherRules, no other rule may fire, so a case
	// with no expectations expects silence.
	Expect           []Expectation
	IgnoreOtherRules bool
}

// Expectation is what one rule must do in a case.
type Expectation struct {
	Rule  string
	Count int
	// Priority, when set, is the priority every alert of the rule must
	// have (case-insensitive, long or short form).
	Priority string
	// Output lists substrings every alert's output must contain, and
	// NotOutput substrings none may contain.
	Output    []string
	NotOutput []string
	Line      int
}

// LoadSuite reads and parses one test file.
func LoadSuite(path string) (*Suite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSuite(path, b)
}

// FindSuites expands the command line's FILE|DIR arguments: a file is
// taken whatever its name, a directory gives every file below it whose
// name ends in one of SuiteSuffixes, sorted.
func FindSuites(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && isSuiteName(d.Name()) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no test files (*%s) found", p, strings.Join(SuiteSuffixes, ", *"))
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

func isSuiteName(n string) bool {
	for _, s := range SuiteSuffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// SuiteOptions configure Suite.Run.
type SuiteOptions struct {
	// DefaultRules are the rules DefaultRulesName stands for.
	DefaultRules []rules.Source
	// Filter, when set, selects the cases to run by name.
	Filter func(name string) bool
}

// SuiteResult is the outcome of one test file.
type SuiteResult struct {
	Suite *Suite
	// LoadErr is set when the rules did not load or compile; no case ran.
	LoadErr error
	Cases   []*CaseResult
}

// Failed counts the failed cases (every case when the rules did not load).
func (r *SuiteResult) Failed() int {
	if r.LoadErr != nil {
		return len(r.Suite.Cases)
	}
	n := 0
	for _, c := range r.Cases {
		if !c.Passed() {
			n++
		}
	}
	return n
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Case   *Case
	Alerts []*engine.Alert
	// Diff is one line per mismatch, empty when the case passed.
	Diff []string
}

// Passed reports whether the case met every expectation.
func (c *CaseResult) Passed() bool { return len(c.Diff) == 0 }

// Run compiles the suite's rules once and runs every case through them.
func (s *Suite) Run(o SuiteOptions) *SuiteResult {
	res := &SuiteResult{Suite: s}
	compiled, err := s.Compile(o)
	if err != nil {
		res.LoadErr = err
		return res
	}
	for _, c := range s.Cases {
		if o.Filter != nil && !o.Filter(c.Name) {
			continue
		}
		res.Cases = append(res.Cases, s.runCase(compiled, c))
	}
	return res
}

// Compile loads and compiles the suite's rules (its rules files, then its
// append text) as its cases see them. The Result's Replay runs events
// through them.
func (s *Suite) Compile(o SuiteOptions) (*Result, error) {
	srcs, err := s.sources(o.DefaultRules)
	if err != nil {
		return nil, err
	}
	opts := engine.DefaultOptions()
	opts.MatchAll = s.MatchAll
	compiled := Compile(srcs, opts)
	if err := compiled.Report.Err(); err != nil {
		return nil, fmt.Errorf("rules did not load:\n%w", err)
	}
	if compiled.Engine == nil {
		return nil, errors.New("rules did not compile")
	}
	return compiled, nil
}

func (s *Suite) sources(defaults []rules.Source) ([]rules.Source, error) {
	names := s.Rules
	if len(names) == 0 {
		names = []string{DefaultRulesName}
	}
	var srcs []rules.Source
	for _, n := range names {
		if n == DefaultRulesName {
			if len(defaults) == 0 {
				return nil, fmt.Errorf("%s: no default rules to load", s.Path)
			}
			srcs = append(srcs, defaults...)
			continue
		}
		got, _, err := rules.ReadPaths([]string{s.rel(n)}, false)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, got...)
	}
	if s.Append != "" {
		srcs = append(srcs, rules.Source{Name: s.Path + "#append", Data: []byte(s.Append)})
	}
	return srcs, nil
}

// rel resolves a path written in the test file against its directory.
func (s *Suite) rel(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(s.Path), p)
}

func (s *Suite) runCase(compiled *Result, c *Case) *CaseResult {
	cr := &CaseResult{Case: c}
	var inline bytes.Buffer
	for _, ev := range c.Events {
		inline.Write(ev)
		inline.WriteByte('\n')
	}
	var inputs []string
	if inline.Len() > 0 {
		inputs = append(inputs, "-")
	}
	for _, f := range c.Files {
		inputs = append(inputs, s.rel(f))
	}
	got, err := compiled.Replay(inputs, &inline)
	if err != nil {
		cr.Diff = append(cr.Diff, "replay: "+err.Error())
		return cr
	}
	cr.Alerts = got.Alerts
	for _, p := range got.Problems {
		msg := p.Error()
		if p.File == audit.StdinName {
			// The inline events are one JSON line each, in order.
			msg = "inline event " + strings.TrimPrefix(msg, audit.StdinName+":")
		}
		cr.Diff = append(cr.Diff, "input problem: "+msg)
	}
	for _, e := range c.Expect {
		if got.Rules.Rule(e.Rule) == nil {
			cr.Diff = append(cr.Diff, fmt.Sprintf("expect names rule %q, which no loaded rules file defines", e.Rule))
		}
	}
	cr.Diff = append(cr.Diff, c.check(got.Alerts)...)
	return cr
}

// check compares the alerts with the case's expectations. Counts are shown
// as a diff: "-" lines are wanted and missing, "+" lines came and were not
// wanted, each with the first unexpected alert's output.
func (c *Case) check(alerts []*engine.Alert) []string {
	byRule := map[string][]*engine.Alert{}
	var order []string
	for _, a := range alerts {
		if _, ok := byRule[a.Rule]; !ok {
			order = append(order, a.Rule)
		}
		byRule[a.Rule] = append(byRule[a.Rule], a)
	}
	var diff []string
	named := map[string]bool{}
	for _, e := range c.Expect {
		named[e.Rule] = true
		got := byRule[e.Rule]
		if len(got) != e.Count {
			diff = append(diff, fmt.Sprintf("- %s: %d alert%s", e.Rule, e.Count, plural(e.Count)))
			diff = append(diff, fmt.Sprintf("+ %s: %d alert%s", e.Rule, len(got), plural(len(got))))
			for _, a := range got {
				diff = append(diff, "    "+a.Output)
			}
		}
		for i, a := range got {
			if e.Priority != "" && !samePriority(a.Priority, e.Priority) {
				diff = append(diff, fmt.Sprintf("  %s: alert %d has priority %s, want %s", e.Rule, i+1, a.Priority, e.Priority))
			}
			for _, sub := range e.Output {
				if !strings.Contains(a.Output, sub) {
					diff = append(diff, fmt.Sprintf("  %s: alert %d output lacks %q\n    %s", e.Rule, i+1, sub, a.Output))
				}
			}
			for _, sub := range e.NotOutput {
				if strings.Contains(a.Output, sub) {
					diff = append(diff, fmt.Sprintf("  %s: alert %d output contains %q\n    %s", e.Rule, i+1, sub, a.Output))
				}
			}
		}
	}
	if c.IgnoreOtherRules {
		return diff
	}
	for _, r := range order {
		if named[r] {
			continue
		}
		got := byRule[r]
		diff = append(diff, fmt.Sprintf("- %s: 0 alerts", r))
		diff = append(diff, fmt.Sprintf("+ %s: %d alert%s", r, len(got), plural(len(got))))
		for _, a := range got {
			diff = append(diff, "    "+a.Output)
		}
	}
	return diff
}

func samePriority(p rules.Priority, want string) bool {
	w, ok := rules.ParsePriority(want)
	return ok && w == p
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
