package audit

// arena hands a Reader's events, their bytes and their indexes out of
// shared chunks, so that reading costs a few allocations per hundred events
// instead of three per event. Chunks are never reused: an event that is
// kept keeps its chunks alive (at most arenaBytes of bytes), which is the
// price of the saving. Events larger than a quarter chunk get memory of
// their own.
type arena struct {
	events  []Event
	bytes   []byte
	members []member
}

const (
	arenaEvents  = 128
	arenaBytes   = 256 << 10
	arenaMembers = 2048
)

func (a *arena) event() *Event {
	if len(a.events) == 0 {
		a.events = make([]Event, arenaEvents)
	}
	e := &a.events[0]
	a.events = a.events[1:]
	return e
}

// alloc returns n bytes with no spare capacity.
func (a *arena) alloc(n int) []byte {
	if n > arenaBytes/4 {
		return make([]byte, n)
	}
	if len(a.bytes) < n {
		a.bytes = make([]byte, arenaBytes)
	}
	b := a.bytes[:n:n]
	a.bytes = a.bytes[n:]
	return b
}

// index returns a copy of top with no spare capacity.
func (a *arena) index(top []member) []member {
	n := len(top)
	if n > arenaMembers/4 {
		return append([]member(nil), top...)
	}
	if len(a.members) < n {
		a.members = make([]member, arenaMembers)
	}
	m := a.members[:n:n]
	a.members = a.members[n:]
	copy(m, top)
	return m
}
