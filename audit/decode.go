package audit

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"time"
	"unsafe"

	"github.com/buger/jsonparser"
)

// Defaults for Options. Upstream's 256 KiB event limit silently drops large
// pods and CRDs; DESIGN.md sets 64 MiB per event and 256 MiB per document
// (the webhook's batch limit).
const (
	DefaultMaxEventSize = 64 << 20
	DefaultMaxDocSize   = 256 << 20
)

// maxArrayNesting bounds how deep arrays of events may nest. Payloads are
// flat in practice; the bound keeps the recursive walk off the stack limit.
const maxArrayNesting = 64

// Options tune decoding. The zero value uses the defaults.
type Options struct {
	// MaxEventSize is the largest event in bytes (compact JSON, as upstream
	// measures it); larger events are refused with a "too-large" problem.
	// 0 means DefaultMaxEventSize.
	MaxEventSize int
	// MaxDocSize is the largest top-level JSON document (one line, one
	// pretty-printed file, one payload) a Reader holds in memory. 0 means
	// DefaultMaxDocSize.
	MaxDocSize int
	// Cluster is the cluster name given to every event (Event.Cluster), the
	// fallback for ka.cluster.name.
	Cluster string
	// Formats are tried, in order, for documents that are not audit data
	// (cloud log wrappers); see Format.
	Formats []*Format
	// Force reads every document through this format instead of sniffing.
	Force *Format
}

func (o Options) withDefaults() Options {
	if o.MaxEventSize <= 0 {
		o.MaxEventSize = DefaultMaxEventSize
	}
	if o.MaxDocSize <= 0 {
		o.MaxDocSize = DefaultMaxDocSize
	}
	return o
}

// DecodePayload decodes one in-memory payload (a webhook body, a message)
// with the default Options. See Options.DecodePayload.
func DecodePayload(b []byte, emit func(*Event), problem func(Problem)) {
	Options{}.DecodePayload(b, emit, problem)
}

// DecodePayload turns the JSON documents in b (usually one: an Event, an
// EventList or an array of them; several concatenated documents or JSON
// lines work too) into events, in order, calling emit for each and problem
// (which may be nil) for whatever is skipped. Problem positions are lines
// and offsets within b; Problem.File is empty.
//
// Events alias b: their Raw is a subslice of it, so b must not be modified
// while they are in use. Num, Start and Source are left zero; a long-lived
// source numbers its events with a Sequence.
func (o Options) DecodePayload(b []byte, emit func(*Event), problem func(Problem)) {
	s := stream{opts: o.withDefaults(), buf: b, end: len(b), eof: true, line: 1, problem: problem}
	for e := s.event(); e != nil; e = s.event() {
		emit(e)
	}
}

// Sequence numbers the events of one stream (Event.Num) and gives them the
// stream's start time (Event.Start). It is not safe for concurrent use.
type Sequence struct {
	n     uint64
	start int64
}

// Stamp sets e.Num and e.Start as the next event of the sequence.
func (q *Sequence) Stamp(e *Event) {
	q.n++
	if q.n == 1 {
		q.start = e.Time
	}
	e.Num, e.Start = q.n, q.start
}

// span is an event candidate in the current document: buf[at:end], and its
// JSON type (EventList items need not be objects; they fail later, in order).
type span struct {
	at, end int
	t       jsonparser.ValueType
	doc     bool // the event is the document: the scanner recorded its members
	// For an item of the document's EventList: its members as the scanner
	// recorded them (offsets from the document's start, at docAt in buf).
	members []memberSpan
	docAt   int
	item    bool
}

// stream turns one input into events. The input is read into buf; the
// document being scanned always starts at buf[pos], and refills move it to
// the front before reading more, so nothing else of the input is kept.
// Documents are found and validated by scanner, then picked apart with
// jsonparser; nothing is decoded into maps or structs.
type stream struct {
	opts    Options
	name    string    // the input, for problems and Event.Source; "" for payloads
	src     io.Reader // nil when all the input is in buf
	owned   bool      // events copy their bytes (buf is reused)
	block   bool      // buf is one block of the input; later blocks follow
	alloc   *arena    // where events and their indexes come from; nil: the heap
	problem func(Problem)

	buf      []byte
	pos, end int   // unread input is buf[pos:end]
	base     int64 // input offset of buf[0]
	eof      bool  // nothing follows buf[:end]
	line     int   // 1-based line number of buf[lpos]
	lpos     int

	// After a bad document: skip to the next line that starts with '{' or
	// '[' (midLine: the current line is still to be skipped).
	skipping, midLine bool

	sc      scanner
	spans   []span // events of the current document
	si      int    // spans[si:] are still to be returned
	docAt   int64  // input offset of the current document
	scratch []member
	// resume: the document at buf[pos] was partly scanned when a block
	// ran out; sc holds the scanner's place in it.
	resume bool

	converted []*Event // events of a document read through a Format
}

// event returns the stream's next event, or nil at its end.
func (s *stream) event() *Event {
	for {
		if len(s.converted) > 0 {
			e := s.converted[0]
			s.converted[0] = nil
			s.converted = s.converted[1:]
			return e
		}
		for s.si < len(s.spans) {
			sp := s.spans[s.si]
			s.si++
			if e := s.makeEvent(sp); e != nil {
				return e
			}
		}
		s.spans, s.si = s.spans[:0], 0
		if !s.document() {
			return nil
		}
	}
}

// document reads the next top-level document, leaving its events in
// s.spans (none when it is skipped). It returns false at the end of input,
// and, for a block, where the block ends before the document does.
func (s *stream) document() bool {
	for {
		if s.pos == s.end {
			if s.eof || !s.fill() {
				return false
			}
			continue
		}
		if s.skipping {
			s.skip()
			continue
		}
		c := s.buf[s.pos]
		if isSpace(c) {
			s.pos++
			continue
		}
		if c != '{' && c != '[' {
			switch s.lineDocument() {
			case lineRead:
				return true
			case lineShort:
				return false
			}
		}
		return s.scanDocument()
	}
}

// scanDocument scans the document at buf[pos], reading more input as it
// needs, and decodes or reports it. The scanner sees at most MaxDocSize+1
// bytes, so whether a document is too large does not depend on how the
// input happened to be split into reads. It returns false when a block
// ends inside the document: the scanner keeps its place for the next one.
func (s *stream) scanDocument() bool {
	if !s.resume {
		s.sc.reset()
	}
	s.resume = false
	for {
		lim := min(s.end, s.pos+s.opts.MaxDocSize+1)
		win := s.buf[s.pos:lim]
		full := len(win) > s.opts.MaxDocSize // unfinished here means too large
		switch s.sc.scan(win, s.eof && lim == s.end && !full) {
		case scanDone:
			if s.sc.i > s.opts.MaxDocSize {
				s.tooLargeDoc()
				return true
			}
			s.decode(s.pos, s.pos+s.sc.i)
			s.pos += s.sc.i
			return true
		case scanBad:
			return s.malformed()
		}
		if full {
			s.tooLargeDoc()
			return true
		}
		if !s.fill() {
			s.resume = true
			return false
		}
	}
}

// skip moves through the input while resynchronising after a bad document.
func (s *stream) skip() {
	if s.midLine {
		k := bytes.IndexByte(s.buf[s.pos:s.end], '\n')
		if k < 0 {
			s.pos = s.end // the rest of the buffer belongs to the bad line
			return
		}
		s.pos += k + 1
		s.midLine = false
		return
	}
	if c := s.buf[s.pos]; c == '{' || c == '[' {
		s.skipping = false
		return
	}
	s.midLine = true
}

// malformed reports the document at buf[pos] that the scanner rejected, and
// picks where reading resumes: at the start of the line where the document
// turned out broken, or at the next line when that is the line it started
// on (the usual case of a bad JSON line). A truncated line is thus reported
// once and the complete line after it, where the scanner noticed, is read.
// Each line is scanned at most twice, so a damaged file costs linear time.
// It returns false when a block ends before it can tell whether the
// document is a line of a Lines format: the next block decides.
func (s *stream) malformed() bool {
	switch s.lineDocument() {
	case lineRead:
		return true
	case lineShort:
		return false
	}
	start, at := s.pos, s.pos+s.sc.errAt
	msg := "malformed JSON: " + s.sc.errMsg
	if errLine, startLine := s.lineAt(at), s.lineAt(start); errLine != startLine {
		msg += fmt.Sprintf(" (at line %d, offset %d)", errLine, s.base+int64(at))
	} else if at != start {
		msg += fmt.Sprintf(" (at offset %d)", s.base+int64(at))
	}
	s.report(start, ReasonMalformed, msg)
	s.skipping = true
	if k := bytes.LastIndexByte(s.buf[start:at], '\n'); k >= 0 {
		s.pos, s.midLine = start+k+1, false
	} else {
		s.pos, s.midLine = at, true
	}
	return true
}

func (s *stream) tooLargeDoc() {
	s.report(s.pos, ReasonTooLarge, fmt.Sprintf(
		"JSON document larger than the %d-byte limit (MaxDocSize); skipped to the next line starting with '{' or '['",
		s.opts.MaxDocSize))
	s.skipping, s.midLine = true, true
}

// fill reads more input after buf[:end], first moving the unread part
// (a document being scanned) to the front. It always makes progress, more
// data or eof, except in a block (no source, not at the end of its input):
// there it returns false, and the caller stops where it is, for the next
// block to go on from.
func (s *stream) fill() bool {
	if s.src == nil {
		if s.block && !s.eof {
			return false
		}
		s.eof = true
		return true
	}
	if s.pos > 0 {
		s.lineAt(s.pos) // the line count must not lose the bytes dropped here
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.lpos -= s.pos
		s.pos, s.end = 0, n
	}
	if free := len(s.buf) - s.end; free == 0 || free < len(s.buf)/4 {
		// Only a document nearly as long as the buffer gets here: double,
		// so that large documents cost a logarithmic number of copies, but
		// never past what the largest document needs.
		if n := min(2*len(s.buf), s.opts.MaxDocSize+1); n > len(s.buf) {
			nb := make([]byte, n)
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
	}
	for range 100 {
		n, err := s.src.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			if err != io.EOF {
				s.report(s.end, ReasonReadError, "read error: "+err.Error())
			}
			s.eof = true
			return true
		}
		if n > 0 {
			return true
		}
	}
	s.report(s.end, ReasonReadError, "read error: "+io.ErrNoProgress.Error())
	s.eof = true
	return true
}

// lineAt returns the line of buf[p], counting newlines from the last
// position asked for (p may go backwards within the buffer).
func (s *stream) lineAt(p int) int {
	if p >= s.lpos {
		s.line += bytes.Count(s.buf[s.lpos:p], newline)
	} else {
		s.line -= bytes.Count(s.buf[p:s.lpos], newline)
	}
	s.lpos = p
	return s.line
}

var newline = []byte{'\n'}

func (s *stream) report(at int, reason, msg string) {
	if s.problem == nil {
		return
	}
	s.problem(Problem{File: s.name, Line: s.lineAt(at), Offset: s.base + int64(at), Reason: reason, Msg: msg})
}

// decode records the events of the valid document buf[start:end], or
// reports it when it is not audit data. Like upstream, one unrecognised
// element drops the whole document, events before it included.
func (s *stream) decode(start, end int) {
	s.docAt = s.base + int64(start)
	doc := s.buf[start:end]
	if s.opts.Force != nil && !s.opts.Force.Lines {
		s.convert(s.opts.Force, start, doc)
		return
	}
	if msg := s.collect(doc, typeAt(doc), 0); msg != "" {
		s.spans = s.spans[:0]
		if f := s.opts.formatFor(doc); f != nil {
			s.convert(f, start, doc)
			return
		}
		s.spans = s.spans[:0]
		s.report(start, ReasonNotAudit, "data not recognized as a k8s audit event: "+msg)
	}
}

// typeAt gives the JSON type of the valid value v from its first byte.
func typeAt(v []byte) jsonparser.ValueType {
	switch v[0] {
	case '{':
		return jsonparser.Object
	case '[':
		return jsonparser.Array
	case '"':
		return jsonparser.String
	case 't', 'f':
		return jsonparser.Boolean
	case 'n':
		return jsonparser.Null
	}
	return jsonparser.Number
}

// at returns the buffer index of v, which jsonparser cut from buf. Its
// slices share buf's memory but not its capacity (they are cut with a
// 3-index slice), so the index is the distance between the pointers.
func (s *stream) at(v []byte) int {
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(v))) - uintptr(unsafe.Pointer(unsafe.SliceData(s.buf))))
}

// collect appends the events of payload v (of type t) to s.spans. It
// returns why v is not audit data, or "".
func (s *stream) collect(v []byte, t jsonparser.ValueType, depth int) string {
	switch t {
	case jsonparser.Array:
		if depth == maxArrayNesting {
			return fmt.Sprintf("arrays nested more than %d deep", maxArrayNesting)
		}
		msg := ""
		_, _ = jsonparser.ArrayEach(v, func(e []byte, et jsonparser.ValueType, _ int, _ error) {
			if msg == "" {
				msg = s.collect(e, et, depth+1)
			}
		})
		return msg
	case jsonparser.Object:
		return s.collectObject(v, depth == 0)
	}
	return typeName(t) + " where an Event, an EventList or an array was expected"
}

// collectObject handles an object payload; doc says it is the whole
// document, whose members the scanner recorded.
func (s *stream) collectObject(v []byte, doc bool) string {
	kv, kt, found := s.member(v, doc, "kind")
	if found < 0 {
		return `object without "kind"`
	}
	kind, ok := unescape(kv)
	if kt != jsonparser.String || !ok {
		return `"kind" is ` + typeName(kt) + ", not a string"
	}
	switch kind {
	case "Event":
		at := s.at(v)
		s.spans = append(s.spans, span{at: at, end: at + len(v), t: jsonparser.Object, doc: doc})
		return ""
	case "EventList":
		items, it, j := s.member(v, doc, "items")
		if it != jsonparser.Array {
			return `EventList without an "items" array`
		}
		if doc {
			s.recordedItems(v, j)
			return ""
		}
		_, _ = jsonparser.ArrayEach(items, func(e []byte, et jsonparser.ValueType, _ int, _ error) {
			at := s.at(e)
			if et == jsonparser.String {
				at-- // jsonparser leaves out the quotes
			}
			s.spans = append(s.spans, span{at: at, end: at + len(e), t: et})
		})
		return ""
	}
	return "kind " + shortQuote(kind)
}

// recordedItems makes spans of the items of the document's EventList,
// member j, which the scanner recorded with their members.
func (s *stream) recordedItems(doc []byte, j int) {
	at := s.at(doc)
	for _, e := range s.sc.elems {
		if e.parent != j {
			continue
		}
		t := typeAt(doc[e.at:e.end])
		s.spans = append(s.spans, span{at: at + e.at, end: at + e.end, t: t,
			item: true, members: s.sc.elemMembers[e.m0:e.m1], docAt: at})
	}
}

// member finds the first member key of object v, as jsonparser.Get does;
// for the document itself, among the members the scanner recorded, which
// saves a pass over it: then it also gives the member's index there.
func (s *stream) member(v []byte, doc bool, key string) ([]byte, jsonparser.ValueType, int) {
	if !doc {
		b, t, _, err := jsonparser.Get(v, key)
		if err != nil {
			return nil, jsonparser.NotExist, -1
		}
		return b, t, 0
	}
	for j, m := range s.sc.members {
		k := v[m.key0:m.key1]
		if bytes.IndexByte(k, '\\') >= 0 {
			uk, ok := unescape(k)
			if !ok {
				break // where jsonparser gives up too
			}
			k = []byte(uk)
		}
		if string(k) == key {
			val := valueOf(v[m.val0:m.val1])
			return val.b, kindType(val.k), j
		}
	}
	return nil, jsonparser.NotExist, -1
}

func typeName(t jsonparser.ValueType) string {
	switch t {
	case jsonparser.String:
		return "a string"
	case jsonparser.Number:
		return "a number"
	case jsonparser.Object:
		return "an object"
	case jsonparser.Array:
		return "an array"
	case jsonparser.Boolean:
		return "a boolean"
	case jsonparser.Null:
		return "null"
	}
	return "nothing"
}

// shortQuote quotes s for a message, cut to a length that cannot flood logs
// or leak much of an event.
func shortQuote(s string) string {
	const limit = 40
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}

// makeEvent turns a span into an event, or reports why it cannot.
func (s *stream) makeEvent(sp span) *Event {
	if sp.t != jsonparser.Object {
		s.report(sp.at, ReasonNoTimestamp, "can't read stageTimestamp: the event is "+typeName(sp.t)+", not an object")
		return nil
	}
	raw := s.buf[sp.at:sp.end]
	if len(raw) > s.opts.MaxEventSize {
		if n := compactLen(raw); n > s.opts.MaxEventSize {
			s.report(sp.at, ReasonTooLarge, fmt.Sprintf(
				"event larger than the maximum event size: size=%d bytes, limit=%d bytes", n, s.opts.MaxEventSize))
			return nil
		}
	}
	var e *Event
	a := s.alloc
	if a != nil {
		e = a.event()
		if s.owned {
			raw = a.copy(raw)
		}
	} else {
		e = new(Event)
	}
	if s.name != "" {
		e.Source, e.Line = s.name, s.lineAt(sp.at)
	}
	e.Raw, e.Cluster = raw, s.opts.Cluster
	switch {
	case sp.doc:
		s.scratch = e.indexSpans(s.sc.members, 0, s.scratch, a)
	case sp.item:
		s.scratch = e.indexSpans(sp.members, sp.at-sp.docAt, s.scratch, a)
	default:
		s.scratch = e.indexWith(s.scratch, a)
	}
	t, msg := stageTime(e.Top("stageTimestamp"))
	if msg != "" {
		s.report(sp.at, ReasonNoTimestamp, "can't read stageTimestamp: "+msg)
		return nil
	}
	e.Time = t
	return e
}

// stageTime parses stageTimestamp as upstream does: time.RFC3339Nano, which
// takes an optional fraction (digits past the ninth are truncated) and
// a "Z" or numeric zone.
func stageTime(v Value) (int64, string) {
	switch v.Kind() {
	case Missing:
		return 0, "no stageTimestamp"
	case String:
	default:
		return 0, "stageTimestamp is " + typeName(kindType(v.Kind())) + ", not a string"
	}
	str, ok := v.Str()
	if !ok {
		return 0, "stageTimestamp has a bad escape"
	}
	if ns, ok := utcTime(str); ok {
		return ns, ""
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return 0, shortQuote(str) + " is not an RFC 3339 time"
	}
	return t.UnixNano(), ""
}

// utcTime parses the form the API server writes, "2006-01-02T15:04:05Z"
// with up to nine fraction digits, as time.Parse would, without its
// generality: every event pays for this. Anything else (an offset, more
// digits, a value out of range, a year whose nanoseconds overflow) is left
// to time.Parse.
func utcTime(s string) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return 0, false
	}
	year, ok1 := digitsOf(s[0:4])
	month, ok2 := digitsOf(s[5:7])
	day, ok3 := digitsOf(s[8:10])
	hour, ok4 := digitsOf(s[11:13])
	minute, ok5 := digitsOf(s[14:16])
	sec, ok6 := digitsOf(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year < 1678 || year > 2261 || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	frac := s[19 : len(s)-1]
	var ns int64
	if frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return 0, false
		}
		n, ok := digitsOf(frac[1:])
		if !ok {
			return 0, false
		}
		ns = int64(n)
		for range 10 - len(frac) {
			ns *= 10
		}
	}
	days := daysFromCivil(year, month, day)
	return ((days*24+int64(hour))*60+int64(minute))*60*1e9 + int64(sec)*1e9 + ns, true
}

// digitsOf parses a run of decimal digits.
func digitsOf(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func kindType(k Kind) jsonparser.ValueType {
	switch k {
	case String:
		return jsonparser.String
	case Number:
		return jsonparser.Number
	case Object:
		return jsonparser.Object
	case Array:
		return jsonparser.Array
	case Bool:
		return jsonparser.Boolean
	case Null:
		return jsonparser.Null
	}
	return jsonparser.NotExist
}

// compactLen is the length of the valid JSON b without insignificant
// whitespace: the size upstream compares with maxEventSize (it re-encodes
// events compactly). Only events over the limit pay for it.
func compactLen(b []byte) int {
	n, inStr := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			n++
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && isSpace(c):
			continue
		}
		n++
	}
	return n
}

// What lineDocument did with the line at buf[pos].
const (
	lineNot   = iota // no Lines format takes it: it is for the scanner
	lineRead         // read through a Lines format
	lineShort        // a block ends inside the line: the next block decides
)

// lineDocument reads the line at buf[pos] through a Lines format, when one
// is forced or matches it. Such lines are not JSON documents (though they
// may start like one: a timestamp scans as a number), so they are tried
// before the scanner when a line does not open an object or array, and
// again when the scanner rejects one.
func (s *stream) lineDocument() int {
	if s.opts.Force == nil && len(s.opts.Formats) == 0 {
		return lineNot
	}
	if s.opts.Force != nil && !s.opts.Force.Lines {
		return lineNot
	}
	for {
		k := bytes.IndexByte(s.buf[s.pos:s.end], '\n')
		if k < 0 && !s.eof && s.end-s.pos <= s.opts.MaxDocSize {
			if !s.fill() {
				return lineShort
			}
			continue
		}
		end := s.end
		if k >= 0 {
			end = s.pos + k
		}
		line := bytes.TrimRight(s.buf[s.pos:end], "\r")
		f := s.opts.lineFormatFor(line)
		if f == nil {
			return lineNot
		}
		s.convert(f, s.pos, line)
		s.pos = end
		if k >= 0 {
			s.pos++
		}
		return lineRead
	}
}
