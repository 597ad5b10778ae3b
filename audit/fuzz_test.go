package audit

import (
	"bytes"
	"os"
	"testing"
	"unsafe"

	"github.com/valyala/fastjson"
)

// FuzzDecode feeds arbitrary bytes to a Reader. It must never panic or
// hang; every event's Raw must be a valid JSON object cut from the input;
// every problem must point into the input at the right line; and the result
// must not depend on how the input is split into reads, nor on whether it is
// read as a stream, decoded as one payload, or cut into blocks of any size.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		ev("a", t1) + "\n" + ev("b", t2),
		`{"kind":"EventList","items":[` + ev("a", t1) + `,5]}`,
		"[[" + ev("a", t1) + "]]{\"kind\":0}\n{bad\n" + ev("c", t3),
		"{\n \"kind\": \"Event\",\n \"stageTimestamp\": \"" + t1 + "\"\n}",
		`{"kind":"Event","x":[` + "\n" + ev("a", t1),
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(40))
	}
	f.Add(gz(f, ev("a", t1)+"\n"+ev("b", t2)), uint8(0))
	if files, err := upstreamFiles(); err == nil {
		for _, p := range files[:min(len(files), 8)] {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data, uint8(0))
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, limit uint8) {
		var opts Options
		if limit > 0 {
			opts = Options{MaxEventSize: int(limit), MaxDocSize: 3 * int(limit)}
		}
		events, problems := readWith(t, string(in), opts, false)
		if bytes.HasPrefix(in, []byte{0x1f, 0x8b}) {
			// Gzip: the Reader decompresses (DecodePayload does not), and
			// events and positions refer to the decompressed bytes.
			for _, e := range events {
				if fastjson.ValidateBytes(e.Raw) != nil || e.Raw[0] != '{' {
					t.Fatalf("event %q is not a JSON object", e.Raw)
				}
			}
			return
		}
		checkEvents(t, string(in), events)
		for _, p := range problems {
			if p.Offset < 0 || p.Offset >= int64(len(in)) {
				t.Fatalf("problem offset %d outside the input (%d bytes): %v", p.Offset, len(in), p)
			}
			if want := 1 + bytes.Count(in[:p.Offset], []byte{'\n'}); p.Line != want {
				t.Fatalf("problem at offset %d says line %d, want %d: %v", p.Offset, p.Line, want, p)
			}
		}
		tevents, tproblems := readWith(t, string(in), opts, true)
		if !equal(describe(tevents, tproblems), describe(events, problems)) {
			t.Fatalf("byte by byte: %v\nwhole: %v", describe(tevents, tproblems), describe(events, problems))
		}
		checkSame(t, events, tevents)
		var pevents []*Event
		var pproblems []Problem
		opts.DecodePayload(in, func(e *Event) { pevents = append(pevents, e) }, func(p Problem) { pproblems = append(pproblems, p) })
		if !equal(describeProblems(pproblems), describeProblems(problems)) {
			t.Fatalf("payload problems %v\nreader problems %v", pproblems, problems)
		}
		checkSame(t, events, pevents)
		checkBlocks(t, string(in), opts, events, problems)
		for _, e := range pevents {
			start := uintptr(unsafe.Pointer(unsafe.SliceData(in)))
			at := uintptr(unsafe.Pointer(unsafe.SliceData(e.Raw)))
			if at < start || at+uintptr(len(e.Raw)) > start+uintptr(len(in)) {
				t.Fatalf("payload event %q is not a subslice of the payload", e.Raw)
			}
			if fastjson.ValidateBytes(e.Raw) != nil {
				t.Fatalf("payload event %q is not valid JSON", e.Raw)
			}
		}
	})
}
