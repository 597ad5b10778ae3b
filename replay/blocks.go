package replay

import (
	"sync/atomic"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
)

// Blocks configures RunBlocks.
type Blocks struct {
	// Workers evaluate blocks in parallel; 1 (or less) evaluates in the
	// calling goroutine.
	Workers int
	// Decode are the decoding options (as for audit.Reader).
	Decode audit.Options
	// OnProblem is told about every input skipped, in input order, from
	// the goroutine that called RunBlocks.
	OnProblem func(audit.Problem)
	// Observe, when set, sees each alert with the event that raised it,
	// from the evaluating goroutine, while the event is still valid.
	Observe func(*audit.Event, *engine.Alert)
	// Progress, when set, counts events and bytes as they are evaluated.
	Progress *Progress
}

// Progress counts what a replay has evaluated so far; another goroutine
// may read it while the replay runs.
type Progress struct {
	Events, Bytes atomic.Uint64
}

// RunBlocks evaluates every event of sp's inputs with e and hands each
// alert to emit, in input order: what Run does with an audit.Reader, but
// without copying events out of the read buffer, and with decoding as well
// as evaluation spread over the workers. It stops at the first error of
// emit.
func RunBlocks(e *engine.Engine, sp *audit.Splitter, o Blocks, sum *Summary, emit func(*engine.Alert) error) error {
	if o.Workers <= 1 {
		return runBlocks(e, sp, o, sum, emit)
	}
	return runBlocksParallel(e, sp, o, sum, emit)
}

// runBlocks is the one-goroutine loop: decode a block (continuing the
// previous one's Tail), evaluate its events, give the block back.
func runBlocks(e *engine.Engine, sp *audit.Splitter, o Blocks, sum *Summary, emit func(*engine.Alert) error) error {
	d := audit.NewBlockDecoder(o.Decode)
	w := e.NewWorker()
	var seq audit.Sequence
	var tail *audit.Tail
	var cur *audit.Event
	var emitErr error
	onAlert := func(a *engine.Alert) {
		if o.Observe != nil {
			o.Observe(cur, a)
		}
		sum.count(a)
		if emitErr == nil {
			emitErr = emit(a)
		}
	}
	for b, err := sp.Next(); err == nil; b, err = sp.Next() {
		r := d.Decode(b, tail)
		tail = r.Tail
		o.problems(sum, b.Problems, r.Problems)
		var n uint64
		for _, ev := range r.Events {
			seq.Stamp(ev)
			n += uint64(len(ev.Raw))
			cur = ev
			w.Eval(ev, onAlert)
			if emitErr != nil {
				return emitErr
			}
		}
		sum.Events += uint64(len(r.Events))
		sum.Bytes += n
		o.progress(len(r.Events), n)
		sp.Release(b)
	}
	return nil
}

func (o *Blocks) problems(sum *Summary, lists ...[]audit.Problem) {
	for _, ps := range lists {
		for _, p := range ps {
			sum.Skip(p.Reason)
			if o.OnProblem != nil {
				o.OnProblem(p)
			}
		}
	}
}

func (o *Blocks) progress(events int, bytes uint64) {
	if o.Progress != nil {
		o.Progress.Events.Add(uint64(events))
		o.Progress.Bytes.Add(bytes)
	}
}

// count adds an alert to the summary.
func (s *Summary) count(a *engine.Alert) {
	s.Alerts++
	s.ByRule[a.Rule]++
	s.ByPriority[a.Priority]++
}
