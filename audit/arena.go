package audit

// arena hands events, their bytes and their indexes out of shared chunks,
// so that decoding costs a few allocations per hundred events instead of
// three per event.
//
// A Reader's arena never reuses a chunk: its events may be kept, and a
// kept event keeps its chunks alive (at most arenaBytes of bytes), which is
// the price of the saving. Events larger than a quarter chunk get memory of
// their own.
//
// A block decoder's arena is rewound before each block, when the events
// of the previous one are dead: its chunks are handed out again, so that
// decoding allocates nothing once they are large enough for a block.
type arena struct {
	events  []Event
	bytes   []byte
	members []member

	// For a rewinding arena: the whole current chunks; a chunk that runs
	// out is replaced by one twice its size rather than one of the same.
	reuse      bool
	allEvents  []Event
	allMembers []member
}

const (
	arenaEvents  = 128
	arenaBytes   = 256 << 10
	arenaMembers = 2048
)

// event returns a zeroed Event.
func (a *arena) event() *Event {
	if len(a.events) == 0 {
		n := arenaEvents
		if a.reuse {
			n = max(n, 2*len(a.allEvents))
		}
		a.events = make([]Event, n)
		a.allEvents = a.events
	}
	e := &a.events[0]
	a.events = a.events[1:]
	*e = Event{}
	return e
}

// copy returns a copy of b with no spare capacity.
func (a *arena) copy(b []byte) []byte {
	n := len(b)
	if n > arenaBytes/4 {
		return append([]byte(nil), b...)
	}
	if len(a.bytes) < n {
		a.bytes = make([]byte, arenaBytes)
	}
	c := a.bytes[:n:n]
	a.bytes = a.bytes[n:]
	copy(c, b)
	return c
}

// index returns a copy of top with no spare capacity.
func (a *arena) index(top []member) []member {
	n := len(top)
	if n > arenaMembers/4 {
		return append([]member(nil), top...)
	}
	if len(a.members) < n {
		size := arenaMembers
		if a.reuse {
			size = max(size, 2*len(a.allMembers))
		}
		a.members = make([]member, size)
		a.allMembers = a.members
	}
	m := a.members[:n:n]
	a.members = a.members[n:]
	copy(m, top)
	return m
}

// rewind makes the current chunks available again: every event handed out
// since the last rewind must be dead. A chunk that ran out during the last
// block was replaced by one twice its size, which is kept; the earlier,
// smaller one is left to the collector.
func (a *arena) rewind() {
	a.events = a.allEvents
	a.members = a.allMembers
}
