// Package enginetest is the one runner for data-driven rule tests: rules and
// events go in, alerts come out, and they are compared with expectations.
// The upstream conformance corpus and `peregrine test` both go through it.
package enginetest

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/replay"
	"github.com/peregrine-sec/peregrine/rules"
)

// Result is what one run produced.
type Result struct {
	Alerts   []*engine.Alert
	Report   *rules.Report
	Problems []audit.Problem
	Summary  *replay.Summary
	// Engine is nil when the rules did not compile.
	Engine *engine.Engine
	// Rules are the loaded rules, enabled or not.
	Rules *rules.Collection
}

// Run loads the rules sources in order, compiles them with opts and replays
// the inputs (files, directories, or "-" is not allowed here). A rules
// error is not a Go error: it is in Result.Report and no event is read.
func Run(srcs []rules.Source, inputs []string, opts engine.Options) (*Result, error) {
	res := Compile(srcs, opts)
	if res.Engine == nil {
		return res, nil
	}
	return res.Replay(inputs, nil)
}

// Compile loads and compiles the rules sources once, so that several runs
// (the cases of a test file) share one engine. The Result has no alerts;
// Replay runs events through it.
func Compile(srcs []rules.Source, opts engine.Options) *Result {
	res := &Result{Summary: replay.NewSummary()}
	col, rep := rules.Load(srcs, rules.Options{})
	res.Report, res.Rules = rep, col
	if rep.Err() != nil {
		return res
	}
	res.Engine = engine.New(col, opts, rep)
	return res
}

// Replay evaluates the inputs with r's engine and returns a new Result that
// shares r's engine and report. An input "-" reads stdin. r must have
// compiled (r.Engine != nil).
func (r *Result) Replay(inputs []string, stdin io.Reader) (*Result, error) {
	res := &Result{Summary: replay.NewSummary(), Report: r.Report, Engine: r.Engine, Rules: r.Rules}
	rd := audit.NewReader(inputs, stdin, audit.Options{})
	rd.OnProblem = func(p audit.Problem) {
		res.Problems = append(res.Problems, p)
		res.Summary.Skip(p.Reason)
	}
	err := replay.Run(res.Engine, rd, res.Summary, func(a *engine.Alert) error {
		res.Alerts = append(res.Alerts, a)
		return nil
	})
	return res, err
}

// Count returns how many alerts the rule raised.
func (r *Result) Count(rule string) int {
	n := 0
	for _, a := range r.Alerts {
		if a.Rule == rule {
			n++
		}
	}
	return n
}

// Expect is what a test asserts about one run.
type Expect struct {
	// Detections: ">0" (some alert), "0" (none), or "" (not checked).
	Detections string
	// RuleCounts are exact alert counts per rule name (0 = none).
	RuleCounts map[string]int
	// Priorities are priority names that must (true) or must not (false)
	// appear; matched case-insensitively by prefix ("INFO" matches
	// "Informational").
	Priorities map[string]bool
	// LoadError, when set, is a substring the rules load error must contain.
	LoadError string
}

// Check compares the result with e and returns one line per mismatch.
func (r *Result) Check(e Expect) []string {
	var bad []string
	if e.LoadError != "" {
		return r.checkLoadError(e.LoadError)
	}
	if err := r.Report.Err(); err != nil {
		return []string{"rules did not load: " + err.Error()}
	}
	switch {
	case e.Detections == ">0" && len(r.Alerts) == 0:
		bad = append(bad, "expected alerts, got none")
	case e.Detections == "0" && len(r.Alerts) > 0:
		bad = append(bad, "expected no alert, got "+r.countsText())
	}
	for _, rule := range sortedRules(e.RuleCounts) {
		if got, want := r.Count(rule), e.RuleCounts[rule]; got != want {
			bad = append(bad, fmt.Sprintf("rule %q: %d alerts, want %d", rule, got, want))
		}
	}
	for p, want := range e.Priorities {
		if got := r.hasPriority(p); got != want {
			bad = append(bad, fmt.Sprintf("priority %s present: %v, want %v", p, got, want))
		}
	}
	return bad
}

func (r *Result) checkLoadError(sub string) []string {
	err := r.Report.Err()
	if err == nil {
		return []string{fmt.Sprintf("rules loaded; want an error containing %q", sub)}
	}
	if !strings.Contains(err.Error(), sub) {
		return []string{fmt.Sprintf("load error %q does not contain %q", err, sub)}
	}
	return nil
}

func (r *Result) hasPriority(p string) bool {
	p = strings.ToLower(p)
	for _, a := range r.Alerts {
		if strings.HasPrefix(strings.ToLower(a.Priority.String()), p) {
			return true
		}
	}
	return false
}

func (r *Result) countsText() string {
	m := map[string]int{}
	for _, a := range r.Alerts {
		m[a.Rule]++
	}
	var parts []string
	for _, k := range sortedRules(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func sortedRules(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
