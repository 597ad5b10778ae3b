package audit

import (
	"bufio"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

	stdin   io.Reader
	opts    Options
	queue   []string // inputs still to read; directories are expanded in place
	s       stream
	open    bool
	file    *os.File // the open input, to close
	br      *bufio.Reader
	gz      *gzip.Reader
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
		stdin:   stdin,
		opts:    opts.withDefaults(),
		queue:   slices.Clone(paths),
		bufSize: defaultBufSize,
		counts:  map[string]int{},
	}
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
			r.closeInput()
		}
		if len(r.queue) == 0 {
			return nil, io.EOF
		}
		path := r.queue[0]
		r.queue = r.queue[1:]
		r.openInput(path)
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
	r.queue = nil
	return r.closeInput()
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

func (r *Reader) readError(name string, err error) {
	r.report(Problem{File: name, Reason: ReasonReadError, Msg: err.Error()})
}

// openInput starts reading path, or expands it when it is a directory.
func (r *Reader) openInput(path string) {
	if path == "-" {
		if r.stdin == nil {
			r.readError(StdinName, os.ErrNotExist)
			return
		}
		r.start(StdinName, r.stdin)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		r.readError(path, unwrapPath(err))
		return
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		r.readError(path, unwrapPath(err))
		return
	}
	if info.IsDir() {
		f.Close()
		r.queue = append(r.listDir(path), r.queue...)
		return
	}
	r.file = f
	r.start(path, f)
}

// unwrapPath drops the *PathError wrapper: problems already name the file.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// start begins a stream over src, decompressing it when it starts with the
// gzip magic bytes (whatever its name says).
func (r *Reader) start(name string, src io.Reader) {
	if r.br == nil {
		r.br = bufio.NewReader(src)
	} else {
		r.br.Reset(src)
	}
	src = r.br
	if magic, _ := r.br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		var err error
		if r.gz == nil {
			r.gz, err = gzip.NewReader(r.br)
		} else {
			err = r.gz.Reset(r.br)
		}
		if err != nil {
			r.readError(name, err)
			r.closeInput()
			return
		}
		src = r.gz
	}
	r.s.reset(name, src, r.opts, r.bufSize)
	r.open = true
}

func (r *Reader) closeInput() error {
	r.open = false
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	return err
}

// listDir returns the regular files below dir (following symbolic links to
// files, not to directories, so that walks end), oldest modification time
// first and by path among equals: the order upstream reads a directory in,
// made deterministic.
func (r *Reader) listDir(dir string) []string {
	type entry struct {
		path string
		mod  int64
	}
	var files []entry
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			r.readError(p, unwrapPath(err))
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := os.Stat(p)
		if err != nil {
			r.readError(p, unwrapPath(err))
			return nil
		}
		if info.Mode().IsRegular() {
			files = append(files, entry{p, info.ModTime().UnixNano()})
		}
		return nil
	})
	slices.SortFunc(files, func(a, b entry) int {
		if a.mod != b.mod {
			if a.mod < b.mod {
				return -1
			}
			return 1
		}
		return strings.Compare(a.path, b.path)
	})
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	return paths
}

// reset makes s a stream over a new input, keeping its buffers. Events own
// their bytes, so the read buffer is reused at once; a buffer grown for a
// huge document is let go rather than kept for the rest of the run.
func (s *stream) reset(name string, src io.Reader, opts Options, bufSize int) {
	buf := s.buf
	if len(buf) == 0 || len(buf) > 4*bufSize {
		buf = make([]byte, bufSize)
	}
	*s = stream{
		opts: opts, name: name, src: src, owned: true, problem: s.problem,
		buf: buf, line: 1,
		sc:    scanner{stack: s.sc.stack[:0], members: s.sc.members[:0]},
		spans: s.spans[:0], scratch: s.scratch[:0],
	}
}
