package bench

import (
	"runtime"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
)

// QuietAllocs counts the allocations of events that raise no alert, the
// measure of issue 5's allocation target. After the timed one-core run
// has named the events that alerted, a second, untimed pass decodes the
// whole input again and evaluates every other event, as the timed run
// did; its allocations over those events are the figure. Decoding the
// alerting events is charged to the quiet ones, so it can only overstate.
type QuietAllocs struct {
	Events         uint64  `json:"events"` // events without an alert
	Allocs         uint64  `json:"allocs"` // the whole pass
	AllocsPerEvent float64 `json:"allocs_per_event"`
	Bytes          uint64  `json:"alloc_bytes"`
}

func measureQuietAllocs(eng *engine.Engine, input string, alerting map[uint64]bool) *QuietAllocs {
	sp := audit.NewSplitter([]string{input}, nil, 0)
	defer sp.Close()
	d := audit.NewBlockDecoder(audit.Options{})
	w := eng.NewWorker()
	var q QuietAllocs
	var seq audit.Sequence
	var tail *audit.Tail
	discard := func(*engine.Alert) {}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for b, err := sp.Next(); err == nil; b, err = sp.Next() {
		r := d.Decode(b, tail)
		tail = r.Tail
		for _, ev := range r.Events {
			seq.Stamp(ev)
			if !alerting[ev.Num] {
				q.Events++
				w.Eval(ev, discard)
			}
		}
		sp.Release(b)
	}
	runtime.ReadMemStats(&m1)
	q.Allocs, q.Bytes = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	if q.Events > 0 {
		q.AllocsPerEvent = float64(q.Allocs) / float64(q.Events)
	}
	return &q
}
