package fields

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
)

// This file holds the json.* fields of the json plugin and their jevt.*
// aliases. They read any JSON event, audit event or not.

// jsonValue is json.value[pointer]: the value at an RFC 6901 pointer.
// Like the json plugin, one leading '/' is dropped and each segment is an
// object key, or an index (strconv.Atoi) when the current value is an
// array. A string gives its content, anything else compact JSON. An empty
// pointer gives the whole event.
func jsonValue(ev *audit.Event, arg *Arg, dst []string) []string {
	if arg == nil {
		return dst
	}
	ptr := arg.Text
	if ptr == "" {
		if s, ok := audit.Compact(ev.Raw); ok {
			dst = append(dst, s)
		}
		return dst
	}
	v := pointer(ev, strings.TrimPrefix(ptr, "/"))
	dst, _ = appendText(dst, v)
	return dst
}

// pointer follows the '/'-separated segments of ptr (already without its
// leading '/') from the event root.
func pointer(ev *audit.Event, ptr string) audit.Value {
	seg, rest, more := strings.Cut(ptr, "/")
	v := ev.Top(unescapeSegment(seg))
	for more && v.Exists() {
		seg, rest, more = strings.Cut(rest, "/")
		v = step(v, unescapeSegment(seg))
	}
	return v
}

// step applies one pointer segment to v.
func step(v audit.Value, seg string) audit.Value {
	switch v.Kind() {
	case audit.Object:
		return v.Get(seg)
	case audit.Array:
		i, err := strconv.Atoi(seg)
		if err != nil {
			return audit.Value{}
		}
		return v.Index(i)
	}
	return audit.Value{}
}

// unescapeSegment undoes RFC 6901 escaping, "~1" first, as the json plugin
// does (so "~01" is "~1", not "/").
func unescapeSegment(s string) string {
	if strings.IndexByte(s, '~') < 0 {
		return s // the common case: no allocation
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// jsonObj is json.obj: the whole event, re-indented as the json plugin
// does (encoding/json's Indent with two spaces) from its compact form.
func jsonObj(ev *audit.Event, _ *Arg, dst []string) []string {
	c, ok := audit.Compact(ev.Raw)
	if !ok {
		return dst
	}
	var out bytes.Buffer
	if json.Indent(&out, []byte(c), "", "  ") != nil {
		return dst
	}
	return append(dst, out.String())
}

// jsonRawtime is json.rawtime: the event time in ns, as a decimal string.
// always is the Exists of fields every event has. Upstream's kevt macro
// is "jevt.rawtime exists": without it, every event would format its time.
func always(*audit.Event) bool { return true }

// rawtimeNumber is json.rawtime's value as the number its text writes,
// so that equality tests compare numbers instead of formatting the text.
func rawtimeNumber(ev *audit.Event) (uint64, bool) { return uint64(ev.Time), true }

func jsonRawtime(ev *audit.Event, _ *Arg, dst []string) []string {
	return append(dst, strconv.FormatUint(uint64(ev.Time), 10))
}
