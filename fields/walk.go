package fields

import (
	"unsafe"

	"github.com/buger/jsonparser"
	"github.com/peregrine-sec/peregrine/audit"
)

// noIndex is the index of an Arg without [N]: every array element counts.
const noIndex = -1

// index returns the [N] of arg, or noIndex.
func index(arg *Arg) int {
	if arg == nil || !arg.HasIndex {
		return noIndex
	}
	return arg.Index
}

// isAudit reports whether ev is an audit event at all. The k8saudit plugin
// gives no ka.* value for JSON without a top-level auditID; the json.*,
// jevt.* and evt.* fields still work on it.
func isAudit(ev *audit.Event) bool { return ev.Top("auditID").Exists() }

// walk follows keys from v the way the k8saudit plugin walks its list
// fields, appending what it finds to dst:
//   - whenever the current value is an array, the rest of the path applies
//     to each element; an element where the rest does not resolve adds a
//     hole (a Missing value), so callers can tell "some container lacks it";
//   - with an index (idx >= 0) only element idx of every array met on the
//     way is taken, and an element that does not exist means no value;
//   - an array reached as the final value is kept whole;
//   - an empty key keeps the current value (used to reach the elements of a
//     list itself, e.g. each volume object).
//
// ok is false when the path does not resolve at all (upstream's "not
// available"); dst is then returned unchanged.
func walk(dst []audit.Value, v audit.Value, idx int, keys []string) (_ []audit.Value, ok bool) {
	for i, k := range keys {
		if v.Kind() == audit.Array {
			if idx == noIndex {
				return splitWalk(dst, v, keys[i:]), true
			}
			if v = v.Index(idx); !v.Exists() {
				return dst, false
			}
		}
		if k != "" {
			v = v.Get(k)
		}
		if !v.Exists() {
			return dst, false
		}
	}
	return append(dst, v), true
}

// splitWalk applies the rest of a path to every element of arr (no index).
func splitWalk(dst []audit.Value, arr audit.Value, keys []string) []audit.Value {
	arr.Each(func(e audit.Value) bool {
		var ok bool
		if dst, ok = walk(dst, e, noIndex, keys); !ok {
			dst = append(dst, audit.Value{})
		}
		return true
	})
	return dst
}

// walkReq walks a path that starts inside requestObject; the event root is
// an object, so starting from its member is the same walk.
func walkReq(dst []audit.Value, ev *audit.Event, idx int, keys []string) ([]audit.Value, bool) {
	return walk(dst, ev.Top("requestObject"), idx, keys)
}

// valBuf is the stack buffer the walks collect into; a pod rarely has more
// containers or volumes than this, so the common case never allocates.
type valBuf [16]audit.Value

// appendText appends TEXT(v) (see audit.Value.Text); ok is false when v
// is missing or cannot be converted.
func appendText(dst []string, v audit.Value) ([]string, bool) {
	s, ok := v.Text()
	if !ok {
		return dst, false
	}
	return append(dst, s), true
}

// appendTexts appends TEXT of every value that is present, skipping holes
// (upstream's "SkipNil").
func appendTexts(dst []string, vals []audit.Value) []string {
	for _, v := range vals {
		dst, _ = appendText(dst, v)
	}
	return dst
}

// appendAllTexts appends TEXT of every value, or nothing at all when one of
// them is a hole: upstream gives no value rather than a partial list.
func appendAllTexts(dst []string, vals []audit.Value) []string {
	n := len(dst)
	for _, v := range vals {
		var ok bool
		if dst, ok = appendText(dst, v); !ok {
			return dst[:n]
		}
	}
	return dst
}

// appendElems appends TEXT of every element of arr; false (and nothing
// appended) when arr is not an array.
func appendElems(dst []string, arr audit.Value) ([]string, bool) {
	if arr.Kind() != audit.Array {
		return dst, false
	}
	n := len(dst)
	ok := true
	arr.Each(func(e audit.Value) bool {
		dst, ok = appendText(dst, e)
		return ok
	})
	if !ok {
		return dst[:n], false
	}
	return dst, true
}

// keyText returns an object key as written in the event (still escaped) as
// its unescaped text, sharing the event's memory when it has no escapes.
func keyText(k []byte) (string, bool) {
	for _, c := range k {
		if c == '\\' {
			u, err := jsonparser.Unescape(k, nil)
			if err != nil {
				return "", false
			}
			return string(u), true
		}
	}
	return view(k), true
}

// view returns b as a string without copying. Only for bytes of an event,
// which are immutable once decoded.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
