package audit

import (
	"bytes"
	"io"
	"slices"
)

// DefaultBlockSize is the size of the blocks a Splitter cuts: large enough
// that a block holds hundreds of events (so handing blocks between
// goroutines costs nothing per event), small enough to stay in cache.
const DefaultBlockSize = 1 << 20

// Block is a piece of one input: whole lines of it, as read, for a
// BlockDecoder. A document may still run on from one block into the next
// (a pretty-printed file, a line longer than a block); decoding carries it
// over in a Tail.
type Block struct {
	// Name is the input's, as Reader names it (the path, or "<stdin>").
	Name string
	// Data is the block's bytes; it ends at a line end, unless a line was
	// longer than the block or the input ended without one.
	Data []byte
	// Offset is the input offset of Data[0] (in decompressed bytes), and
	// Line the 1-based line it is on.
	Offset int64
	Line   int
	// Last says that the input ends with this block.
	Last bool
	// Problems are the inputs that could not be opened or read before or
	// while this block was read, in order.
	Problems []Problem
	// Seq numbers the blocks of a Splitter from 0.
	Seq int

	buf []byte // the whole buffer, for Release
}

// Splitter cuts a Reader's inputs (the same files, directories, gzip and
// stdin handling, in the same order) into Blocks, so that several
// goroutines can decode and evaluate one input at once. It only reads and
// finds line ends; it does not look at the JSON. A Splitter is not safe for
// concurrent use, except Release.
type Splitter struct {
	in   inputs
	size int
	free chan []byte // released buffers

	open     bool
	src      io.Reader
	name     string
	offset   int64
	line     int
	carry    []byte // the bytes after the last line end of the last block
	problems []Problem
	seq      int
}

// NewSplitter returns a Splitter over paths, in order, cutting blocks of
// about size bytes (DefaultBlockSize when size <= 0). stdin is what "-"
// reads.
func NewSplitter(paths []string, stdin io.Reader, size int) *Splitter {
	if size <= 0 {
		size = DefaultBlockSize
	}
	p := &Splitter{size: size, free: make(chan []byte, 64)}
	p.in = inputs{stdin: stdin, queue: slices.Clone(paths), report: func(pr Problem) {
		p.problems = append(p.problems, pr)
	}}
	return p
}

// Next returns the next block, or io.EOF after the last.
func (p *Splitter) Next() (*Block, error) {
	for !p.open {
		name, src, ok := p.in.next()
		if !ok {
			if len(p.problems) > 0 { // inputs that could not be opened, last
				return p.block(nil, 0, false), nil
			}
			return nil, io.EOF
		}
		p.open, p.src, p.name, p.offset, p.line = true, src, name, 0, 1
	}
	buf := p.buffer()
	n := copy(buf, p.carry)
	p.carry = p.carry[:0]
	n, err := p.fill(buf, n)
	if err != nil {
		if err != io.EOF {
			p.problems = append(p.problems, Problem{File: p.name, Line: p.line + bytes.Count(buf[:n], newline),
				Offset: p.offset + int64(n), Reason: ReasonReadError, Msg: "read error: " + err.Error()})
		}
		p.open = false
		p.in.close()
		return p.block(buf, n, true), nil
	}
	cut := bytes.LastIndexByte(buf[:n], '\n') + 1
	if cut == 0 {
		cut = n // a line longer than the block: decoding carries it over
	}
	p.carry = append(p.carry, buf[cut:n]...)
	return p.block(buf, cut, false), nil
}

// fill reads into buf[n:] until it is full or the input ends (or fails).
// From standard input it stops early, at a read that came short with a
// line end in it: a pipe fed by hand or by `tail -f` must not wait for a
// whole block before its events are seen.
func (p *Splitter) fill(buf []byte, n int) (int, error) {
	stalled := 0
	for n < len(buf) {
		k, err := p.src.Read(buf[n:])
		n += k
		switch {
		case err != nil:
			return n, err
		case k == 0:
			if stalled++; stalled == 100 {
				return n, io.ErrNoProgress
			}
		case p.name == StdinName && n < len(buf) && bytes.IndexByte(buf[n-k:n], '\n') >= 0:
			return n, nil
		}
	}
	return n, nil
}

// block makes buf[:n] the next block and moves the position past it.
func (p *Splitter) block(buf []byte, n int, last bool) *Block {
	b := &Block{Name: p.name, Data: buf[:n:n], Offset: p.offset, Line: p.line, Last: last,
		Problems: p.problems, Seq: p.seq, buf: buf}
	p.problems = nil
	p.seq++
	p.offset += int64(n)
	p.line += bytes.Count(b.Data, newline)
	return b
}

// buffer returns a released buffer, or a new one.
func (p *Splitter) buffer() []byte {
	select {
	case b := <-p.free:
		return b
	default:
		return make([]byte, p.size)
	}
}

// Release gives b's memory back for later blocks; b and every event
// decoded from it must no longer be used. Any goroutine may call it.
func (p *Splitter) Release(b *Block) {
	if len(b.buf) != p.size {
		return
	}
	select {
	case p.free <- b.buf:
	default:
	}
	b.buf, b.Data = nil, nil
}

// Close closes the input being read and drops the rest.
func (p *Splitter) Close() error {
	p.in.queue = nil
	p.open = false
	return p.in.close()
}
