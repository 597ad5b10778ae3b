package audit

import (
	"github.com/buger/jsonparser"
)

// Event is one Kubernetes audit event (audit.k8s.io/v1 Event): its raw JSON
// bytes plus a lazily built index of its top-level members. Fields read only
// the members they need; nothing decodes the whole event.
//
// An Event and its bytes are immutable once decoded, and strings extracted
// from it may share its memory.
type Event struct {
	// Raw is the event object's JSON exactly as received (already validated).
	Raw []byte
	// Time is the event time in nanoseconds since the Unix epoch, UTC: the
	// stageTimestamp, as the k8saudit plugin uses.
	Time int64
	// Num is the event's 1-based sequence number in its stream.
	Num uint64
	// Cluster is the cluster name the source gives the event; ka.cluster.name
	// falls back to it when the event has no annotations.cluster_name.
	Cluster string
	// Start is the time of the first event of the event's stream (for
	// evt.reltime); 0 means this event is the first.
	Start int64
	// Source says where the event came from, for messages (e.g. "file.json:12").
	Source string

	top     []member
	indexed bool
}

type member struct {
	key string // as written; audit keys never need unescaping
	val Value
}

// New returns an event over raw, which must be a valid JSON object.
func New(raw []byte, time int64) *Event {
	return &Event{Raw: raw, Time: time}
}

// Reset makes e an event over raw, reusing e's index storage.
func (e *Event) Reset(raw []byte, time int64) {
	*e = Event{Raw: raw, Time: time, top: e.top[:0]}
}

// Root returns the whole event as a Value.
func (e *Event) Root() Value { return Value{b: e.Raw, k: Object} }

// Top returns the top-level member key, or a Missing value.
func (e *Event) Top(key string) Value {
	if !e.indexed {
		e.index()
	}
	for i := range e.top {
		if e.top[i].key == key {
			return e.top[i].val
		}
	}
	return Value{}
}

// Get follows a path of object keys from the event's top level.
func (e *Event) Get(key string, rest ...string) Value {
	return e.Top(key).Get(rest...)
}

// index records every top-level member once, so that later lookups of
// top-level keys cost a short scan of the index instead of the bytes.
func (e *Event) index() {
	e.indexed = true
	_ = jsonparser.ObjectEach(e.Raw, func(k, b []byte, t jsonparser.ValueType, _ int) error {
		if e.lookupIndexed(k) {
			return nil // first occurrence wins, as a direct key lookup would find it
		}
		e.top = append(e.top, member{key: bytesString(k), val: Value{b: b, k: kindOf(t)}})
		return nil
	})
}

func (e *Event) lookupIndexed(k []byte) bool {
	for i := range e.top {
		if e.top[i].key == string(k) {
			return true
		}
	}
	return false
}

// indexWith builds e's index, as index does (first occurrence of a key
// wins), in scratch, a decoder's reusable storage, and keeps an exact-size
// copy, so that events share no index memory and carry no spare capacity.
// It returns scratch (perhaps grown) for the next event. Past a few members
// it finds repeated keys with a map: decoders index every event they accept,
// and a hostile one with a million top-level keys must not cost a million
// squared comparisons.
func (e *Event) indexWith(scratch []member) []member {
	const linear = 32
	top := scratch[:0]
	var seen map[string]struct{}
	_ = jsonparser.ObjectEach(e.Raw, func(k, b []byte, t jsonparser.ValueType, _ int) error {
		if seen == nil && len(top) == linear {
			seen = make(map[string]struct{}, 2*linear)
			for i := range top {
				seen[top[i].key] = struct{}{}
			}
		}
		if seen != nil {
			if _, dup := seen[string(k)]; dup {
				return nil
			}
			seen[bytesString(k)] = struct{}{}
		} else {
			for i := range top {
				if top[i].key == string(k) {
					return nil
				}
			}
		}
		top = append(top, member{key: bytesString(k), val: Value{b: b, k: kindOf(t)}})
		return nil
	})
	e.top = append([]member(nil), top...)
	e.indexed = true
	return top[:0]
}
