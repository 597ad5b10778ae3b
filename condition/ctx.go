package condition

import (
	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/fields"
	"unsafe"
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

	// Transformers' results for the current event: text and lists reused
	// from event to event, so that transformers allocate nothing once
	// these have grown to fit.
	text  []byte
	lists []string
}

// Reset points the context at a new event, forgetting extracted values.
func (x *Ctx) Reset(ev *audit.Event) {
	x.Ev = ev
	x.text, x.lists = x.text[:0], x.lists[:0]
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

// list returns an empty list with room for n values, valid until Reset.
func (x *Ctx) list(n int) []string {
	if cap(x.lists)-len(x.lists) < n {
		// The old memory stays with the lists handed out from it.
		x.lists = make([]string, 0, max(2*cap(x.lists), n, 16))
	}
	k := len(x.lists)
	x.lists = x.lists[:k+n]
	return x.lists[k : k : k+n]
}

// textFrom returns the text appended since from as a string, valid until
// Reset. Appending never moves text already handed out: a full buffer is
// replaced, not overwritten.
func (x *Ctx) textFrom(from int) string {
	if from == len(x.text) {
		return ""
	}
	return unsafe.String(&x.text[from], len(x.text)-from)
}
