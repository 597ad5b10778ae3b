package audit

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestIndexWithMatchesIndex holds the decoder's index builder to the lazy
// one in event.go: same members, same order, first occurrence wins.
func TestIndexWithMatchesIndex(t *testing.T) {
	var many, dups strings.Builder
	many.WriteString(`{"kind":"Event"`)
	dups.WriteString(`{"kind":"Event"`)
	for i := range 100 {
		fmt.Fprintf(&many, `,"k%d":%d`, i, i)
		fmt.Fprintf(&dups, `,"k%d":%d`, i%40, i)
	}
	many.WriteString("}")
	dups.WriteString("}")
	for _, raw := range []string{`{}`, `{"a":1,"a":2,"b":{"a":3}}`, `{"a":{"b":{"c":[1,{"d":2}]}},"e":"x","f":[],"g":{}}`, `{"\ud800":1,"b":2}`, ev("a", t1), many.String(), dups.String(), `{"k\u0041":1,"kA":2}`} {
		lazy := New([]byte(raw), 0)
		lazy.index()
		eager := New([]byte(raw), 0)
		eager.indexWith(nil, nil)
		if !sameIndex(lazy.top, eager.top) {
			t.Errorf("%s:\nindex     %v\nindexWith %v", raw, lazy.top, eager.top)
		}
		var sc scanner
		sc.reset()
		if sc.scan([]byte(raw), true) != scanDone {
			t.Fatalf("%s: %s", raw, sc.errMsg)
		}
		spans := New([]byte(raw), 0)
		spans.indexSpans(sc.members, 0, nil, nil)
		if !sameIndex(lazy.top, spans.top) {
			t.Errorf("%s:\nindex      %v\nindexSpans %v", raw, lazy.top, spans.top)
		}
	}
}

// hangGuard bounds the inputs built to be slow: they take well under a
// second when decoding is linear and minutes when it is quadratic, so the
// bound catches a hang without measuring speed on a noisy machine.
const hangGuard = time.Minute

// TestIndexManyKeys: an event with a huge number of top-level keys is
// decoded in linear time.
func TestIndexManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"kind":"Event","stageTimestamp":"` + t1 + `"`)
	for i := range 200000 {
		fmt.Fprintf(&b, `,"k%d":0`, i)
	}
	b.WriteString("}")
	start := time.Now()
	n := 0
	DecodePayload([]byte(b.String()), func(e *Event) { n++ }, func(p Problem) { t.Error(p) })
	if d := time.Since(start); n != 1 || d > hangGuard {
		t.Errorf("%d events in %v", n, d)
	}
}

// TestDamagedInputLinear: inputs built to make resynchronisation rescan
// (every line opens a document that never closes) stay linear.
func TestDamagedInputLinear(t *testing.T) {
	for name, in := range map[string]string{
		"open arrays":         strings.Repeat("[\n", 200000),
		"open objects":        strings.Repeat("{\"a\":\n", 100000),
		"arrays then garbage": strings.Repeat("[\n", 100000) + "x\n" + ev("a", t1),
		"nested open":         strings.Repeat("[", 500000),
	} {
		start := time.Now()
		events, problems := readWith(t, in, Options{}, false)
		if d := time.Since(start); d > hangGuard {
			t.Errorf("%s: %v for %d events, %d problems", name, d, len(events), len(problems))
		}
		t.Logf("%s: %v", name, describe(events, problems))
	}
}
