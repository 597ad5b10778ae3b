// Package replay runs recorded audit events through an engine: the whole
// data path of `peregrine replay` and of the rule test runner, without the
// command line. Sources feed events in, alerts come out to a callback, and a
// Summary counts what happened.
package replay

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/rules"
)

// EventSource yields events until io.EOF.
type EventSource interface {
	Next() (*audit.Event, error)
}

// Summary counts one replay.
type Summary struct {
	Events     uint64
	Bytes      uint64
	Skipped    map[string]uint64 // by reason
	Alerts     uint64
	ByRule     map[string]uint64
	ByPriority map[rules.Priority]uint64
}

// NewSummary returns an empty summary.
func NewSummary() *Summary {
	return &Summary{Skipped: map[string]uint64{}, ByRule: map[string]uint64{}, ByPriority: map[rules.Priority]uint64{}}
}

// Skip counts an input that was not evaluated.
func (s *Summary) Skip(reason string) { s.Skipped[reason]++ }

// Run evaluates every event of src with one worker of e and hands each
// alert to emit, in event order. It stops at the first error of src or of
// emit.
func Run(e *engine.Engine, src EventSource, sum *Summary, emit func(*engine.Alert) error) error {
	w := e.NewWorker()
	var emitErr error
	onAlert := func(a *engine.Alert) {
		sum.count(a)
		if emitErr == nil {
			emitErr = emit(a)
		}
	}
	for {
		ev, err := src.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		sum.Events++
		sum.Bytes += uint64(len(ev.Raw))
		w.Eval(ev, onAlert)
		if emitErr != nil {
			return emitErr
		}
	}
}

// Write prints the summary for people: events, skips by reason, alerts by
// rule and by priority.
func (s *Summary) Write(w io.Writer) {
	fmt.Fprintf(w, "Events read: %d (%s)\n", s.Events, humanBytes(s.Bytes))
	var skipped uint64
	for _, n := range s.Skipped {
		skipped += n
	}
	fmt.Fprintf(w, "Inputs skipped: %d%s\n", skipped, countsLine(s.Skipped))
	fmt.Fprintf(w, "Alerts: %d\n", s.Alerts)
	if s.Alerts == 0 {
		return
	}
	fmt.Fprintln(w, "Alerts by priority:")
	for p := rules.Emergency; p <= rules.Debug; p++ {
		if n := s.ByPriority[p]; n > 0 {
			fmt.Fprintf(w, "   %s: %d\n", p, n)
		}
	}
	fmt.Fprintln(w, "Alerts by rule:")
	for _, k := range sortedKeys(s.ByRule) {
		fmt.Fprintf(w, "   %s: %d\n", k, s.ByRule[k])
	}
}

func countsLine(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
