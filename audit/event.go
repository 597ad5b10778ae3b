package audit

import (
	"bytes"
	"strconv"

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
	// Source says where the event came from, for messages: the input's
	// name for files ("<stdin>" for standard input), or what a cloud source
	// names the record by. Empty for payloads.
	Source string
	// Line is the 1-based line of the input the event starts on, when
	// Source is a file; 0 otherwise.
	Line int

	top     []member
	indexed bool
}

type member struct {
	key string // unescaped, as jsonparser gives keys
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

// Where names the event's place for messages: "file:line" for events read
// from files, else Source.
func (e *Event) Where() string {
	if e.Line > 0 {
		return e.Source + ":" + strconv.Itoa(e.Line)
	}
	return e.Source
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
// Decoded events arrive indexed; this serves events made with New.
func (e *Event) index() {
	e.indexWith(nil, nil)
}

// indexBuilder collects an index as index does: members in document order,
// the first occurrence of a key wins. Past a few members it finds repeated
// keys with a map: decoders index every event they accept, and a hostile
// one with a million top-level keys must not cost a million squared
// comparisons.
type indexBuilder struct {
	top  []member
	seen map[string]struct{}
}

func (x *indexBuilder) add(key string, v Value) {
	const linear = 32
	if x.seen == nil && len(x.top) == linear {
		x.seen = make(map[string]struct{}, 2*linear)
		for i := range x.top {
			x.seen[x.top[i].key] = struct{}{}
		}
	}
	if x.seen != nil {
		if _, dup := x.seen[key]; dup {
			return
		}
		x.seen[key] = struct{}{}
	} else {
		for i := range x.top {
			if x.top[i].key == key {
				return
			}
		}
	}
	x.top = append(x.top, member{key: key, val: v})
}

// finish gives e an exact-size copy of the index, so that events share no
// index memory and carry no spare capacity, and returns the builder's
// storage for reuse.
func (x *indexBuilder) finish(e *Event, a *arena) []member {
	if a != nil {
		e.top = a.index(x.top)
	} else {
		e.top = append([]member(nil), x.top...)
	}
	e.indexed = true
	return x.top[:0]
}

// indexWith builds e's index with jsonparser, as index does, in scratch (a
// decoder's reusable storage), and returns scratch for the next event.
func (e *Event) indexWith(scratch []member, a *arena) []member {
	x := indexBuilder{top: scratch[:0]}
	_ = jsonparser.ObjectEach(e.Raw, func(k, b []byte, t jsonparser.ValueType, _ int) error {
		x.add(bytesString(k), Value{b: b, k: kindOf(t)})
		return nil
	})
	return x.finish(e, a)
}

// indexSpans builds e's index from the members the scanner recorded while
// validating e.Raw (offsets into it, or into a document that holds it at
// base), which saves indexWith's second pass over the event. The result is the same as index's: keys unescaped, and a
// key that cannot be unescaped ends the index as it ends jsonparser's walk.
func (e *Event) indexSpans(ms []memberSpan, base int, scratch []member, a *arena) []member {
	x := indexBuilder{top: scratch[:0]}
	for _, m := range ms {
		m := memberSpan{m.key0 - base, m.key1 - base, m.val0 - base, m.val1 - base}
		k := e.Raw[m.key0:m.key1]
		key, ok := bytesString(k), true
		if bytes.IndexByte(k, '\\') >= 0 {
			key, ok = unescape(k)
		}
		if !ok {
			break
		}
		x.add(key, valueOf(e.Raw[m.val0:m.val1]))
	}
	return x.finish(e, a)
}

// valueOf makes a Value of a valid JSON value's bytes.
func valueOf(b []byte) Value {
	switch b[0] {
	case '"':
		return Value{b: b[1 : len(b)-1], k: String}
	case '{':
		return Value{b: b, k: Object}
	case '[':
		return Value{b: b, k: Array}
	case 't', 'f':
		return Value{b: b, k: Bool}
	case 'n':
		return Value{b: b, k: Null}
	}
	return Value{b: b, k: Number}
}
