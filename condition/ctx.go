package condition

import (
	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/fields"
)

// slot is one (field, argument) pair. Every rule compiled by one Compiler
// shares the slots, so a field is extracted at most once per event however
// many rules read it.
type slot struct {
	f   *fields.Field
	arg fields.Arg
}

// Ctx holds one event and the values extracted from it so far. A Ctx is
// reused from event to event and is not safe for concurrent use; each worker
// has its own.
type Ctx struct {
	Ev    *audit.Event
	slots *[]slot
	vals  [][]string
	seen  []uint32 // seen[i] == gen when vals[i] holds this event's values
	gen   uint32
	buf   []string // scratch for transformers
}

// Reset points the context at a new event, forgetting extracted values.
func (x *Ctx) Reset(ev *audit.Event) {
	x.Ev = ev
	x.gen++
	if x.gen == 0 { // wrapped: clear so stale generations cannot match
		clear(x.seen)
		x.gen = 1
	}
}

// Values returns the values of slot i for the current event, extracting
// them on first use.
func (x *Ctx) Values(i int) []string {
	if i >= len(x.seen) {
		x.grow(len(*x.slots))
	}
	if x.seen[i] == x.gen {
		return x.vals[i]
	}
	s := &(*x.slots)[i]
	x.vals[i] = s.f.Extract(x.Ev, &s.arg, x.vals[i][:0])
	x.seen[i] = x.gen
	return x.vals[i]
}

func (x *Ctx) grow(n int) {
	x.vals = append(x.vals, make([][]string, n-len(x.vals))...)
	x.seen = append(x.seen, make([]uint32, n-len(x.seen))...)
}
