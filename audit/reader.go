package audit

import (
	"io"
	"slices"
)

// StdinName is the name standard input ("-") has in problems and sources.
const StdinName = "<stdin>"

// defaultBufSize is the Reader's initial read buffer: large enough that
// reads are cheap, small enough to stay in cache.
const defaultBufSize = 256 << 10

// maxCollected bounds the problems a Reader keeps when it has no OnProblem
// callback; the rest are only counted.
const maxCollected = 1000

// Reader reads audit events from a sequence of inputs: files (plain or
// gzip-compressed, recognised by their magic bytes), directories (every
// regular file below them, oldest modification time first, ties by path)
// and standard input ("-"). Within an input, documents follow each other
// in any layout: JSON lines, one pretty-printed document, or concatenated
// documents. A Reader is not safe for concurrent use.
type Reader struct {
	// OnProblem, when set, is called with each problem as it is found.
	// Otherwise the first problems are kept for Problems.
	OnProblem func(Problem)

	in      inputs
	opts    Options
	s       stream
	open    bool
	arena   arena // the events' memory
	seq     Sequence
	bufSize int // the initial read buffer size; tests make it tiny

	problems ProblemList
	counts   map[string]int
}

// NewReader returns a Reader over paths, in order. stdin is what "-" reads.
// Inputs are opened only when reading reaches them; one that cannot be read
// is a "read-error" problem, and reading goes on with the next.
func NewReader(paths []string, stdin io.Reader, opts Options) *Reader {
	r := &Reader{
		opts:    opts.withDefaults(),
		bufSize: defaultBufSize,
		counts:  map[string]int{},
	}
	r.in = inputs{stdin: stdin, queue: slices.Clone(paths), report: r.report}
	r.s.problem = r.report
	return r
}

// Next returns the next event. At the end of the inputs it returns io.EOF,
// the only error it returns: problems go to OnProblem instead.
//
// Each event owns its memory (its Raw bytes and Source), so it stays valid
// after later calls and may be kept as long as needed; retaining one keeps
// nothing else of the input alive. Num counts events from 1 across all the
// inputs; Start is the Time of the first event.
func (r *Reader) Next() (*Event, error) {
	for {
		if r.open {
			if e := r.s.event(); e != nil {
				r.seq.Stamp(e)
				return e, nil
			}
			r.open = false
			r.in.close()
		}
		name, src, ok := r.in.next()
		if !ok {
			return nil, io.EOF
		}
		r.s.reset(name, src, r.opts, r.bufSize, &r.arena)
		r.open = true
	}
}

// Position returns the input being read and the offset in it (in
// decompressed bytes for gzip) before which every event has been returned
// by Next: a safe place to resume after the events returned so far are
// handled. Resuming there may repeat events of a partly returned document
// (an EventList), never skip one.
func (r *Reader) Position() (file string, offset int64) {
	if !r.open {
		return "", 0
	}
	if r.s.si < len(r.s.spans) {
		return r.s.name, r.s.docAt
	}
	return r.s.name, r.s.base + int64(r.s.pos)
}

// Problems returns the problems found so far when OnProblem is nil (at most
// the first 1000; Counts has them all).
func (r *Reader) Problems() ProblemList { return r.problems }

// Counts returns how many problems of each reason were found so far.
func (r *Reader) Counts() map[string]int { return r.counts }

// Close closes the input being read and drops the rest. Reading to io.EOF
// closes everything without it.
func (r *Reader) Close() error {
	r.in.queue = nil
	r.open = false
	return r.in.close()
}

func (r *Reader) report(p Problem) {
	r.counts[p.Reason]++
	if r.OnProblem != nil {
		r.OnProblem(p)
		return
	}
	if len(r.problems) < maxCollected {
		r.problems = append(r.problems, p)
	}
}

// reset makes s a stream over a new input, keeping its buffers. Events own
// their bytes, so the read buffer is reused at once; a buffer grown for a
// huge document is let go rather than kept for the rest of the run.
func (s *stream) reset(name string, src io.Reader, opts Options, bufSize int, a *arena) {
	buf := s.buf
	if len(buf) == 0 || len(buf) > 4*bufSize {
		buf = make([]byte, bufSize)
	}
	*s = stream{
		opts: opts, name: name, src: src, owned: true, alloc: a, problem: s.problem,
		buf: buf, line: 1,
		sc:    s.sc.emptied(),
		spans: s.spans[:0], scratch: s.scratch[:0],
	}
}
