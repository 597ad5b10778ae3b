package audit

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/valyala/fastjson"
)

// ev is a small audit event with the given ID and stageTimestamp.
func ev(id, ts string) string {
	return `{"kind":"Event","auditID":"` + id + `","stageTimestamp":"` + ts + `"}`
}

const (
	t1 = "2018-10-25T14:09:12.581541Z"
	t2 = "2018-10-25T14:09:13Z"
	t3 = "2018-10-25T16:09:14.000000001+02:00"
)

// got renders what a Reader produced in a form tables can spell out:
// events as "line id", problems as "P line offset reason: msg".
func describe(events []*Event, problems []Problem) []string {
	var out []string
	for _, e := range events {
		id, _ := e.Top("auditID").Str()
		out = append(out, fmt.Sprintf("%d %s", e.Line, id))
	}
	for _, p := range problems {
		out = append(out, fmt.Sprintf("P %d %d %s: %s", p.Line, p.Offset, p.Reason, p.Msg))
	}
	return out
}

// readWith runs a Reader over in on stdin, the whole input at once or, with
// tiny, one byte per read into a tiny buffer, to exercise every refill path.
func readWith(t testing.TB, in string, opts Options, tiny bool) ([]*Event, []Problem) {
	var src io.Reader = strings.NewReader(in)
	r := NewReader([]string{"-"}, nil, opts)
	if tiny {
		src = iotest.OneByteReader(src)
		r.bufSize = 1
	}
	r.in.stdin = src
	var problems []Problem
	r.OnProblem = func(p Problem) { problems = append(problems, p) }
	var events []*Event
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		events = append(events, e)
	}
	return events, problems
}

func TestDecodeForms(t *testing.T) {
	e1, e2, e3 := ev("a", t1), ev("b", t2), ev("c", t3)
	list := func(items ...string) string {
		return `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + strings.Join(items, ",") + `]}`
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"json lines", e1 + "\n" + e2 + "\n", []string{"1 a", "2 b"}},
		{"no final newline", e1 + "\n" + e2, []string{"1 a", "2 b"}},
		{"blank lines", "\n\n" + e1 + "\n\n \t\n" + e2 + "\n\n", []string{"3 a", "6 b"}},
		{"crlf", e1 + "\r\n" + e2 + "\r\n", []string{"1 a", "2 b"}},
		{"event list", list(e1, e2) + "\n" + e3, []string{"1 a", "1 b", "2 c"}},
		{"empty event list", list() + "\n" + e1, []string{"2 a"}},
		{"array", "[" + e1 + ", " + e2 + "]", []string{"1 a", "1 b"}},
		{"nested arrays", "[[" + e1 + "],[" + e2 + ",[" + e3 + "]],[]]", []string{"1 a", "1 b", "1 c"}},
		{"array of lists", "[" + list(e1) + "," + list(e2, e3) + "]", []string{"1 a", "1 b", "1 c"}},
		{"pretty event", "{\n  \"kind\": \"Event\",\n  \"auditID\": \"a\",\n  \"stageTimestamp\": \"" + t1 + "\"\n}\n", []string{"1 a"}},
		{"pretty list", "{\n \"kind\": \"EventList\",\n \"items\": [\n  " + e1 + ",\n\n  " + e2 + "\n ]\n}", []string{"4 a", "6 b"}},
		{"concatenated", e1 + e2 + e3, []string{"1 a", "1 b", "1 c"}},
		{"concatenated with spaces", e1 + " " + e2 + "\t" + e3, []string{"1 a", "1 b", "1 c"}},
		{"concatenated across lines", "{\"kind\":\"Event\",\n\"auditID\":\"a\",\"stageTimestamp\":\"" + t1 + "\"}{\n\"kind\":\"Event\",\"auditID\":\"b\",\n\"stageTimestamp\":\"" + t2 + "\"}\n" + e3, []string{"1 a", "2 b", "5 c"}},
		{"escaped kind", `{"kind":"Ev\u0065nt","auditID":"a","stageTimestamp":"` + t1 + `"}`, []string{"1 a"}},
		{"empty", "", nil},
		{"only whitespace", " \n\t\r\n", nil},
		{"list items need no kind", `{"kind":"EventList","items":[{"auditID":"a","stageTimestamp":"` + t1 + `"}]}`, []string{"1 a"}},
		{"first kind wins", `{"kind":"Event","kind":"Pod","auditID":"a","stageTimestamp":"` + t1 + `"}`, []string{"1 a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkAllWays(t, tt.in, Options{}, tt.want)
		})
	}
}

// checkAllWays reads in whole, byte by byte, and as one payload, and wants
// the same result each way.
func checkAllWays(t *testing.T, in string, opts Options, want []string) {
	t.Helper()
	events, problems := readWith(t, in, opts, false)
	got := describe(events, problems)
	if !equal(got, want) {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	checkEvents(t, in, events)
	tevents, tproblems := readWith(t, in, opts, true)
	if tgot := describe(tevents, tproblems); !equal(tgot, got) {
		t.Errorf("byte by byte got\n\t%s\nwhole got\n\t%s", strings.Join(tgot, "\n\t"), strings.Join(got, "\n\t"))
	}
	checkSame(t, events, tevents)
	var pevents []*Event
	var pproblems []Problem
	opts.DecodePayload([]byte(in), func(e *Event) { pevents = append(pevents, e) }, func(p Problem) { pproblems = append(pproblems, p) })
	for i := range pproblems {
		pproblems[i].File = StdinName
	}
	if !equal(describeProblems(pproblems), describeProblems(problems)) {
		t.Errorf("DecodePayload problems\n\t%v\nReader problems\n\t%v", pproblems, problems)
	}
	checkSame(t, events, pevents)
	checkBlocks(t, in, opts, events, problems)
}

func describeProblems(ps []Problem) []string { return describe(nil, ps) }

// checkEvents checks the invariants of every event: Raw is one valid JSON
// object taken verbatim from the input, Time is its stageTimestamp, and Num
// and Start follow the stream.
func checkEvents(t testing.TB, in string, events []*Event) {
	t.Helper()
	for i, e := range events {
		if err := fastjson.ValidateBytes(e.Raw); err != nil || e.Raw[0] != '{' {
			t.Fatalf("event %d: Raw %q is not a JSON object: %v", i, e.Raw, err)
		}
		if !strings.Contains(in, string(e.Raw)) {
			t.Fatalf("event %d: Raw %q is not part of the input", i, e.Raw)
		}
		lazy := New(e.Raw, 0)
		lazy.index()
		if !sameIndex(lazy.top, e.top) || !e.indexed {
			t.Fatalf("event %d: index %v, lazily built %v", i, e.top, lazy.top)
		}
		if e.Num != uint64(i+1) || e.Start != events[0].Time {
			t.Fatalf("event %d: Num %d Start %d, want %d %d", i, e.Num, e.Start, i+1, events[0].Time)
		}
	}
}

func checkSame(t testing.TB, a, b []*Event) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d events, then %d", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i].Raw, b[i].Raw) || a[i].Time != b[i].Time {
			t.Fatalf("event %d differs: %q at %d, then %q at %d", i, a[i].Raw, a[i].Time, b[i].Raw, b[i].Time)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDecodeTime(t *testing.T) {
	for _, tt := range []struct {
		ts   string
		want int64
	}{
		{"2018-10-25T14:09:12Z", 1540476552000000000},
		{"2018-10-25T14:09:12.581541Z", 1540476552581541000},
		{"2018-10-25T14:09:12.123456789Z", 1540476552123456789},
		{"2018-10-25T16:09:12.5+02:00", 1540476552500000000},
		{"2018-10-25T14:09:12.1234567891Z", 1540476552123456789}, // as upstream: time.Parse truncates
	} {
		var got []*Event
		DecodePayload([]byte(ev("a", tt.ts)), func(e *Event) { got = append(got, e) }, func(p Problem) { t.Error(p) })
		if len(got) != 1 || got[0].Time != tt.want {
			t.Errorf("%s: got %v, want time %d", tt.ts, got, tt.want)
		}
	}
}

// TestDecodeProblems spells out every kind of problem with its position
// (line, offset) and message, and what is read after it.
func TestDecodeProblems(t *testing.T) {
	e1, e2 := ev("a", t1), ev("b", t2)
	off := func(s string) int { return len(s) }
	big := `{"kind":"Event","auditID":"big","stageTimestamp":"` + t1 + `","pad":"` + strings.Repeat("x", 100) + `"}`
	tests := []struct {
		name string
		in   string
		opts Options
		want []string
	}{
		{"malformed line", e1 + "\n{bad\n" + e2 + "\n", Options{}, []string{"1 a", "3 b",
			fmt.Sprintf("P 2 %d malformed: malformed JSON: invalid character 'b' looking for beginning of object key string (at offset %d)", off(e1)+1, off(e1)+2)}},
		{"not json at all", "hello\n" + e1, Options{}, []string{"2 a",
			"P 1 0 malformed: malformed JSON: invalid character 'h' looking for beginning of value"}},
		{"truncated line, next line read", `{"kind":"Event","x":1` + "\n" + e1 + "\n" + e2, Options{}, []string{"2 a", "3 b",
			"P 1 0 malformed: malformed JSON: invalid character '{' after object key:value pair (at line 2, offset 22)"}},
		{"truncated in a string", `{"kind":"Event","x":"ab` + "\n" + e1, Options{}, []string{"2 a",
			`P 1 0 malformed: malformed JSON: invalid character '\n' in string literal (at offset 23)`}},
		{"truncated last line", e1 + "\n" + `{"kind":"Event","x":[1,` + "\n", Options{}, []string{"1 a",
			fmt.Sprintf("P 2 %d malformed: malformed JSON: unexpected end of input (at offset %d)", off(e1)+1, off(e1)+23)}},
		{"open array before good last line", `{"kind":"Event","x":[` + "\n" + e1 + "\n", Options{}, []string{"2 a",
			fmt.Sprintf("P 1 0 malformed: malformed JSON: unexpected end of input (at line 2, offset %d)", 22+off(e1)-1)}},
		{"broken pretty document is one problem", "{\n  \"kind\": \"Event\",\n  \"a\": [1, 2,\n  \"b\": 3\n}\n" + e1, Options{}, []string{"6 a",
			"P 1 0 malformed: malformed JSON: invalid character ':' after array element (at line 4, offset 40)"}},
		{"garbage after a value", "12abc\n" + e1, Options{}, []string{"2 a",
			"P 1 0 not-audit: data not recognized as a k8s audit event: a number where an Event, an EventList or an array was expected",
			"P 1 2 malformed: malformed JSON: invalid character 'a' looking for beginning of value"}},
		{"kind not a string", `{"kind": 0}`, Options{}, []string{
			`P 1 0 not-audit: data not recognized as a k8s audit event: "kind" is a number, not a string`}},
		{"no kind", `{"apiVersion":"v1"}` + "\n" + e1, Options{}, []string{"2 a",
			`P 1 0 not-audit: data not recognized as a k8s audit event: object without "kind"`}},
		{"other kind", `{"kind":"Pod"}`, Options{}, []string{
			`P 1 0 not-audit: data not recognized as a k8s audit event: kind "Pod"`}},
		{"list without items", `{"kind":"EventList","items":{}}`, Options{}, []string{
			`P 1 0 not-audit: data not recognized as a k8s audit event: EventList without an "items" array`}},
		{"scalar", `"Event"`, Options{}, []string{
			`P 1 0 not-audit: data not recognized as a k8s audit event: a string where an Event, an EventList or an array was expected`}},
		{"one bad element drops the array", "[" + e1 + ",null," + e2 + "]\n" + e2, Options{}, []string{"2 b",
			`P 1 0 not-audit: data not recognized as a k8s audit event: null where an Event, an EventList or an array was expected`}},
		{"too deep", strings.Repeat("[", 70) + e1 + strings.Repeat("]", 70), Options{}, []string{
			`P 1 0 not-audit: data not recognized as a k8s audit event: arrays nested more than 64 deep`}},
		{"no stageTimestamp", `{"kind":"Event","auditID":"x"}` + "\n" + e1, Options{}, []string{"2 a",
			`P 1 0 no-timestamp: can't read stageTimestamp: no stageTimestamp`}},
		{"stageTimestamp not a string", `{"kind":"Event","stageTimestamp":1540476552}`, Options{}, []string{
			`P 1 0 no-timestamp: can't read stageTimestamp: stageTimestamp is a number, not a string`}},
		{"stageTimestamp not RFC 3339", `{"kind":"Event","stageTimestamp":"2018-10-25 14:09:12"}`, Options{}, []string{
			`P 1 0 no-timestamp: can't read stageTimestamp: "2018-10-25 14:09:12" is not an RFC 3339 time`}},
		{"bad items alone are dropped", "{\"kind\":\"EventList\",\"items\":[\n" + e1 + ",\n5,\n\"s\",\n{\"auditID\":\"x\"},\n" + e2 + "]}", Options{}, []string{"2 a", "6 b",
			fmt.Sprintf("P 3 %d no-timestamp: can't read stageTimestamp: the event is a number, not an object", 32+off(e1)),
			fmt.Sprintf("P 4 %d no-timestamp: can't read stageTimestamp: the event is a string, not an object", 35+off(e1)),
			fmt.Sprintf("P 5 %d no-timestamp: can't read stageTimestamp: no stageTimestamp", 40+off(e1))}},
		{"event too large", e1 + "\n" + big + "\n" + e2, Options{MaxEventSize: 150}, []string{"1 a", "3 b",
			fmt.Sprintf("P 2 %d too-large: event larger than the maximum event size: size=%d bytes, limit=150 bytes", off(e1)+1, len(big))}},
		{"limit counts compact size", strings.Replace(e1, ",", ",       ", -1), Options{MaxEventSize: len(e1)}, []string{"1 a"}},
		{"document too large", e1 + "\n[" + big + "," + big + "]\n" + e2, Options{MaxDocSize: 250}, []string{"1 a", "3 b",
			fmt.Sprintf("P 2 %d too-large: JSON document larger than the 250-byte limit (MaxDocSize); skipped to the next line starting with '{' or '['", off(e1)+1)}},
		{"document exactly at the limit", e1, Options{MaxDocSize: len(e1)}, []string{"1 a"}},
		{"document one over the limit", e1, Options{MaxDocSize: len(e1) - 1}, []string{
			fmt.Sprintf("P 1 0 too-large: JSON document larger than the %d-byte limit (MaxDocSize); skipped to the next line starting with '{' or '['", len(e1)-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkAllWays(t, tt.in, tt.opts, tt.want)
		})
	}
}

func TestDecodeCluster(t *testing.T) {
	var got []*Event
	Options{Cluster: "prod"}.DecodePayload([]byte(ev("a", t1)), func(e *Event) { got = append(got, e) }, nil)
	if len(got) != 1 || got[0].Cluster != "prod" || got[0].Source != "" || got[0].Num != 0 {
		t.Fatalf("got %+v", got)
	}
	if !got[0].indexed || got[0].Top("auditID").Kind() != String {
		t.Fatalf("index not built: %+v", got[0])
	}
}

func TestDecodePayloadAliases(t *testing.T) {
	b := []byte(`{"kind":"EventList","items":[` + ev("a", t1) + `]}`)
	DecodePayload(b, func(e *Event) {
		if &e.Raw[0] != &b[29] {
			t.Errorf("Raw is a copy, want a subslice of the payload")
		}
	}, func(p Problem) { t.Error(p) })
}

func TestProblemError(t *testing.T) {
	for _, tt := range []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.json", Line: 3, Offset: 120, Msg: "m"}, "a.json:3: (offset 120) m"},
		{Problem{Line: 3, Offset: 120, Msg: "m"}, "3: (offset 120) m"},
		{Problem{File: "a.json", Msg: "no such file or directory"}, "a.json: no such file or directory"},
	} {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	l := ProblemList{{File: "a", Line: 1, Reason: ReasonMalformed, Msg: "x"}, {File: "a", Line: 2, Reason: ReasonNotAudit, Msg: "y"}}
	if got := l.Error(); got != "a:1: (offset 0) x (and 1 more problems)" {
		t.Errorf("list: %q", got)
	}
	if ProblemList(nil).Err() != nil || l.Err() == nil || l.Count(ReasonNotAudit) != 1 {
		t.Errorf("Err/Count wrong")
	}
}

func sameIndex(a, b []member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key || a[i].val.k != b[i].val.k || !bytes.Equal(a[i].val.b, b[i].val.b) {
			return false
		}
	}
	return true
}

// TestUTCTime holds the fast path for the API server's timestamps to
// time.Parse: the same instant whenever it accepts a string, and it leaves
// every other form to time.Parse.
func TestUTCTime(t *testing.T) {
	for _, s := range []string{
		"2018-10-25T14:09:12.581541Z", "2018-10-25T14:09:12Z", "2024-02-29T23:59:59.999999999Z",
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.5Z", "1678-01-01T00:00:00Z", "2261-12-31T23:59:59.1Z",
		"2000-03-01T00:00:00.000000001Z", "2100-02-28T12:00:00.12Z",
	} {
		ns, ok := utcTime(s)
		want, err := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil || ns != want.UnixNano() {
			t.Errorf("%s: fast %d %v, time.Parse %d %v", s, ns, ok, want.UnixNano(), err)
		}
	}
	for _, s := range []string{
		"2018-10-25T14:09:12+02:00", "2018-10-25T14:09:12.1234567891Z", "2023-02-29T00:00:00Z", "2018-13-01T00:00:00Z",
		"2018-10-25T24:00:00Z", "2018-10-25T14:09:60Z", "2018-10-25t14:09:12Z", "2018-10-25T14:09:12.Z", "2018-1a-25T14:09:12Z", "",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
	} {
		if _, ok := utcTime(s); ok {
			t.Errorf("%s: taken by the fast path", s)
		}
	}
}

func FuzzUTCTime(f *testing.F) {
	f.Add("2018-10-25T14:09:12.581541Z")
	f.Add("2024-02-29T23:59:59Z")
	f.Fuzz(func(t *testing.T, s string) {
		ns, ok := utcTime(s)
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || want.UnixNano() != ns {
			t.Fatalf("%q: fast %d, time.Parse %d %v", s, ns, want.UnixNano(), err)
		}
	})
}
