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

// inputs opens a Reader's or a Splitter's inputs one after another: files
// (plain or gzip-compressed, recognised by their magic bytes), directories
// (every regular file below them, oldest modification time first, ties by
// path) and standard input ("-"). An input that cannot be opened is a
// "read-error" problem, and the next one is tried.
type inputs struct {
	stdin  io.Reader
	queue  []string // inputs still to open; directories are expanded in place
	report func(Problem)

	file *os.File // the open input, to close
	br   *bufio.Reader
	gz   *gzip.Reader
}

// next opens the next input and returns its name and its (decompressed)
// bytes; ok is false when there are no more inputs.
func (in *inputs) next() (name string, src io.Reader, ok bool) {
	for len(in.queue) > 0 {
		path := in.queue[0]
		in.queue = in.queue[1:]
		if name, src, ok = in.open(path); ok {
			return name, src, true
		}
	}
	return "", nil, false
}

// close closes the open input, if it is a file.
func (in *inputs) close() error {
	if in.file == nil {
		return nil
	}
	err := in.file.Close()
	in.file = nil
	return err
}

func (in *inputs) readError(name string, err error) {
	in.report(Problem{File: name, Reason: ReasonReadError, Msg: err.Error()})
}

// open opens path, or expands it in the queue when it is a directory (and
// returns false).
func (in *inputs) open(path string) (string, io.Reader, bool) {
	if path == "-" {
		if in.stdin == nil {
			in.readError(StdinName, os.ErrNotExist)
			return "", nil, false
		}
		return in.start(StdinName, in.stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		in.readError(path, unwrapPath(err))
		return "", nil, false
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		in.readError(path, unwrapPath(err))
		return "", nil, false
	}
	if info.IsDir() {
		f.Close()
		in.queue = append(in.listDir(path), in.queue...)
		return "", nil, false
	}
	in.file = f
	return in.start(path, f)
}

// unwrapPath drops the *PathError wrapper: problems already name the file.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// start returns src, decompressed when it starts with the gzip magic bytes
// (whatever its name says).
func (in *inputs) start(name string, src io.Reader) (string, io.Reader, bool) {
	if in.br == nil {
		in.br = bufio.NewReader(src)
	} else {
		in.br.Reset(src)
	}
	magic, _ := in.br.Peek(2)
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return name, in.br, true
	}
	var err error
	if in.gz == nil {
		in.gz, err = gzip.NewReader(in.br)
	} else {
		err = in.gz.Reset(in.br)
	}
	if err != nil {
		in.readError(name, err)
		in.close()
		return "", nil, false
	}
	return name, in.gz, true
}

// listDir returns the regular files below dir (following symbolic links to
// files, not to directories, so that walks end), oldest modification time
// first and by path among equals: the order upstream reads a directory in,
// made deterministic.
func (in *inputs) listDir(dir string) []string {
	type entry struct {
		path string
		mod  int64
	}
	var files []entry
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			in.readError(p, unwrapPath(err))
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := os.Stat(p)
		if err != nil {
			in.readError(p, unwrapPath(err))
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
