package audit

import (
	"strconv"
	"sync"
	"unsafe"

	"github.com/buger/jsonparser"
	"github.com/valyala/fastjson"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The kinds of JSON value. Missing means the path did not resolve.
const (
	Missing Kind = iota
	String
	Number
	Object
	Array
	Bool
	Null
)

func kindOf(t jsonparser.ValueType) Kind {
	switch t {
	case jsonparser.String:
		return String
	case jsonparser.Number:
		return Number
	case jsonparser.Object:
		return Object
	case jsonparser.Array:
		return Array
	case jsonparser.Boolean:
		return Bool
	case jsonparser.Null:
		return Null
	}
	return Missing
}

// Value is a view of one JSON value inside an event's raw bytes. It is never
// decoded as a whole: each method scans only the bytes it needs. For strings
// b holds the content between the quotes, still escaped.
//
// Strings returned by a Value may share memory with the event's raw bytes;
// they are valid as long as the event is. Clone them to keep them longer.
type Value struct {
	b []byte
	k Kind
}

// Kind returns the JSON type, or Missing.
func (v Value) Kind() Kind { return v.k }

// Exists reports whether the value is present (JSON null counts as present).
func (v Value) Exists() bool { return v.k != Missing }

// Raw returns the value's bytes as they appear in the event (strings without
// their quotes, still escaped).
func (v Value) Raw() []byte { return v.b }

// Get follows object keys from v. A key that is absent, or a value on the
// way that is not an object, gives a Missing value.
func (v Value) Get(keys ...string) Value {
	for _, k := range keys {
		if v.k != Object {
			return Value{}
		}
		v = memberOf(v.b, k)
	}
	return v
}

// Index returns element i of an array, or Missing.
func (v Value) Index(i int) Value {
	var out Value
	if v.k != Array || i < 0 {
		return out
	}
	n := 0
	v.Each(func(e Value) bool {
		if n == i {
			out = e
			return false
		}
		n++
		return true
	})
	return out
}

// Each calls f for every element of an array until f returns false. It does
// nothing for other kinds.
func (v Value) Each(f func(Value) bool) {
	if v.k != Array {
		return
	}
	stop := false
	_, _ = jsonparser.ArrayEach(v.b, func(b []byte, t jsonparser.ValueType, _ int, err error) {
		if stop || err != nil {
			return
		}
		stop = !f(Value{b: b, k: kindOf(t)})
	})
}

// Len returns the number of elements of an array, or 0.
func (v Value) Len() int {
	n := 0
	v.Each(func(Value) bool { n++; return true })
	return n
}

// Members calls f for every member of an object, in document order, until f
// returns false. Keys are passed as written (still escaped).
func (v Value) Members(f func(key []byte, val Value) bool) {
	if v.k != Object {
		return
	}
	stop := false
	_ = jsonparser.ObjectEach(v.b, func(k, b []byte, t jsonparser.ValueType, _ int) error {
		if stop {
			return nil
		}
		stop = !f(k, Value{b: b, k: kindOf(t)})
		return nil
	})
}

// Str returns the unescaped content of a string value; ok is false for other
// kinds.
func (v Value) Str() (s string, ok bool) {
	if v.k != String {
		return "", false
	}
	return unescape(v.b)
}

// IsTrue reports whether the value is the JSON literal true.
func (v Value) IsTrue() bool { return v.k == Bool && len(v.b) == 4 }

// Text converts the value to text the way the k8saudit plugin does: a string
// gives its unescaped content; any other value gives its compact JSON
// (numbers exactly as written, objects with keys in document order). ok is
// false when the value is missing or cannot be converted.
func (v Value) Text() (s string, ok bool) {
	switch v.k {
	case Missing:
		return "", false
	case String:
		return unescape(v.b)
	case Number, Bool, Null:
		return bytesString(v.b), true
	}
	return Compact(v.b)
}

func unescape(b []byte) (string, bool) {
	for _, c := range b {
		if c == '\\' {
			out, err := jsonparser.Unescape(b, nil)
			if err != nil {
				return "", false
			}
			return string(out), true
		}
	}
	return bytesString(b), true
}

// bytesString views b as a string without copying. Callers must not modify b
// afterwards; event bytes are immutable once decoded.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

var parsers fastjson.ParserPool

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Compact re-serialises a JSON document as compact JSON exactly as the
// k8saudit plugin's JSON library (fastjson) writes it: no whitespace, keys in
// document order, numbers as written, strings re-escaped only where they hold
// quotes, backslashes or control characters.
func Compact(doc []byte) (string, bool) {
	p := parsers.Get()
	defer parsers.Put(p)
	val, err := p.ParseBytes(doc)
	if err != nil {
		return "", false
	}
	bp := bufPool.Get().(*[]byte)
	out := string(val.MarshalTo((*bp)[:0]))
	bufPool.Put(bp)
	return out, true
}

// Uint parses a JSON number value as an unsigned integer.
func (v Value) Uint() (uint64, bool) {
	if v.k != Number {
		return 0, false
	}
	n, err := strconv.ParseUint(bytesString(v.b), 10, 64)
	return n, err == nil
}
