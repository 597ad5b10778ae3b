package audit

// BlockDecoder turns the Blocks of a Splitter into events, exactly as a
// Reader would read the same input (the same events, problems, lines and
// offsets), but without copying: events are borrowed from the block and
// from the decoder, and live only until the decoder's next Decode.
//
// Blocks are decoded independently, each as if a document started at its
// first byte; where one ends inside a document (or while skipping a bad
// one), Decode returns a Tail, and that block's successor must be decoded
// again with it. A goroutine per block can therefore decode ahead, and
// only the rare block that follows a Tail is redone, in order.
type BlockDecoder struct {
	opts     Options
	s        stream
	arena    arena
	events   []*Event
	problems []Problem
	report   func(Problem)

	// The decoder's own scratch storage, lent to s for a fresh block;
	// a stream continued from a Tail uses the Tail's instead.
	sc      scanner
	spans   []span
	scratch []member
}

// Decoded is what one block gave.
type Decoded struct {
	// Events are the block's events in order, borrowed (see BlockDecoder).
	// Num and Start are left for the caller, which alone knows the order.
	Events []*Event
	// Problems are the block's own problems (its Block.Problems excluded).
	Problems []Problem
	// Tail is non-nil when the block ended inside a document or while
	// skipping: the input's next block must be decoded with it.
	Tail *Tail
}

// Tail is where decoding stopped inside a document at the end of a block:
// the unfinished bytes (its own copy) and the stream's state. It is used
// once, by the Decode of the next block of the same input.
type Tail struct {
	s stream
}

// NewBlockDecoder returns a decoder with opts (the same Options as a
// Reader's).
func NewBlockDecoder(opts Options) *BlockDecoder {
	d := &BlockDecoder{opts: opts.withDefaults()}
	d.arena.reuse = true
	d.report = func(p Problem) { d.problems = append(d.problems, p) }
	return d
}

// Decode decodes b, continuing t when it is not nil (the Tail of the block
// before b). The events of the previous Decode are dead from here on.
func (d *BlockDecoder) Decode(b *Block, t *Tail) Decoded {
	d.arena.rewind()
	d.events, d.problems = d.events[:0], d.problems[:0]
	if t == nil {
		d.start(b)
	} else {
		d.s = t.s
		d.s.feed(b.Data, b.Last)
		d.s.problem = d.report
		d.s.alloc = &d.arena
	}
	for e := d.s.event(); e != nil; e = d.s.event() {
		d.events = append(d.events, e)
	}
	if t == nil { // keep what the scratch storage grew to
		d.sc, d.spans, d.scratch = d.s.sc, d.s.spans, d.s.scratch
	}
	res := Decoded{Events: d.events, Problems: d.problems}
	if !b.Last && (d.s.pos < d.s.end || d.s.skipping) {
		res.Tail = d.s.tail(t != nil)
	}
	return res
}

// start makes the decoder's stream read b alone, reusing its scratch
// storage (which a Tail never shares).
func (d *BlockDecoder) start(b *Block) {
	d.s = stream{
		opts: d.opts, name: b.Name, block: true, eof: b.Last, alloc: &d.arena, problem: d.report,
		buf: b.Data, end: len(b.Data), base: b.Offset, line: b.Line,
		sc:    d.sc.emptied(),
		spans: d.spans[:0], scratch: d.scratch[:0],
	}
}

// tail returns the stream's state for the next block. Its unfinished bytes
// are copied out of the block, unless the stream already reads a buffer of
// its own (continued: it came from a Tail), which the Tail then takes over.
func (s *stream) tail(continued bool) *Tail {
	s.lineAt(s.pos) // the line count must not lose the bytes dropped here
	t := &Tail{s: stream{
		opts: s.opts, name: s.name, block: true,
		base: s.base + int64(s.pos), line: s.line,
		skipping: s.skipping, midLine: s.midLine, resume: s.resume,
		sc: s.sc.clone(),
	}}
	rest := s.buf[s.pos:s.end]
	if continued {
		t.s.buf = s.buf[s.pos:s.end] // appended to in place: past every event's bytes
	} else {
		t.s.buf = append(make([]byte, 0, 2*len(rest)), rest...)
	}
	t.s.end = len(rest)
	return t
}

// feed appends the next block's data to a Tail's stream. The bytes already
// there stay where they are (events of the block that made the Tail may
// still be read by another goroutine); the buffer grows by doubling, so a
// document spanning many blocks is copied a bounded number of times.
func (s *stream) feed(data []byte, last bool) {
	if cap(s.buf)-s.end < len(data) {
		rest := s.buf[s.pos:s.end]
		nb := make([]byte, len(rest), 2*(len(rest)+len(data)))
		copy(nb, rest)
		s.lineAt(s.pos)
		s.base += int64(s.pos)
		s.lpos -= s.pos
		s.pos, s.end, s.buf = 0, len(rest), nb
	}
	s.buf = append(s.buf[:s.end], data...)
	s.end = len(s.buf)
	s.eof = last
}
