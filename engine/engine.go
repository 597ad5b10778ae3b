package engine

import (
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/condition"
	"github.com/peregrine-sec/peregrine/fields"
	"github.com/peregrine-sec/peregrine/rules"
)

// Source is the only event source this engine evaluates.
const Source = "k8s_audit"

// Options tune compilation and evaluation.
type Options struct {
	// Fields resolves field names; nil means fields.Builtin().
	Fields *fields.Table
	// MatchAll evaluates every rule per event (rule_matching: all) instead of
	// stopping at the first match (Falco's default).
	MatchAll bool
	// MinPriority: rules less severe than this are loaded but never enabled.
	MinPriority rules.Priority
	// TimeISO8601 prefixes outputs with evt.time.iso8601 instead of evt.time.
	TimeISO8601 bool
	// NoIndex evaluates every rule for every event instead of only the
	// candidates the rule index picks; alerts are the same either way.
	NoIndex bool
}

// DefaultOptions are Falco's defaults.
func DefaultOptions() Options {
	return Options{MinPriority: rules.Debug}
}

// Rule is a compiled, enabled rule.
type Rule struct {
	Name     string
	Desc     string
	Priority rules.Priority
	Tags     []string
	eval     condition.Evaluator
	out      *Format
	prefix   string    // ": <Priority> " between the time and the message
	keys     indexKeys // the verbs and resources the rule requires
}

// Engine evaluates events against a compiled rule set. It is immutable and
// safe for concurrent use; each goroutine evaluates through its own Worker.
type Engine struct {
	rules []*Rule
	comp  *condition.Compiler
	opts  Options
	time  *condition.Expr
	index *index
	// Skipped counts rules not compiled because their source is not
	// k8s_audit, by source.
	Skipped map[string]int
}

// Rules returns the enabled rules in evaluation order.
func (e *Engine) Rules() []*Rule { return e.rules }

// Worker evaluates events for one goroutine.
type Worker struct {
	e *Engine
	x *condition.Ctx
	b strings.Builder
}

// NewWorker returns a worker; workers are cheap and not safe for concurrent
// use.
func (e *Engine) NewWorker() *Worker {
	return &Worker{e: e, x: e.comp.NewCtx()}
}

// Eval evaluates ev against the enabled rules in order and calls emit for
// each alert: at most one unless MatchAll. The Alert is freshly allocated
// and owns its memory (nothing in it points into ev.Raw).
func (w *Worker) Eval(ev *audit.Event, emit func(*Alert)) int {
	w.x.Reset(ev)
	n := 0
	rs := w.e.rules
	if !w.e.opts.NoIndex {
		rs = w.e.index.candidates(w.x)
	}
	for _, r := range rs {
		if !r.eval.Eval(w.x) {
			continue
		}
		emit(w.alert(r))
		n++
		if !w.e.opts.MatchAll {
			break
		}
	}
	return n
}
