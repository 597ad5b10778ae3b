package output

import (
	"context"
	"io"
	"os"
)

// joinLines writes the items' lines into buf, for one write call.
func joinLines(buf []byte, items []*Item) []byte {
	for _, it := range items {
		buf = append(buf, it.Line...)
	}
	return buf
}

// Writer is the stdout output (stdout_output), or any io.Writer: each
// Write call is one write of every line it got, nothing held back.
type Writer struct {
	name string
	w    io.Writer
	buf  []byte
}

// NewWriter returns a sink named name writing to w.
func NewWriter(name string, w io.Writer) *Writer { return &Writer{name: name, w: w} }

// Stdout is the stdout_output sink.
func Stdout() *Writer { return NewWriter("stdout", os.Stdout) }

func (s *Writer) Name() string { return s.name }

func (s *Writer) Write(_ context.Context, items []*Item) (int, error) {
	s.buf = joinLines(s.buf[:0], items)
	if _, err := s.w.Write(s.buf); err != nil {
		return 0, err
	}
	return len(items), nil
}

func (s *Writer) Close() error { return nil }

// File is file_output: alerts appended to a file. With keep_alive the file
// stays open (and is reopened on SIGHUP, for logrotate); without it, it is
// opened in append mode and closed again for every write, as Falco does
// per alert (Peregrine per batch of queued alerts).
type File struct {
	path      string
	keepAlive bool
	f         *os.File
	buf       []byte
}

// NewFile returns the file_output sink; it opens the file at once so that
// a bad path fails at startup.
func NewFile(path string, keepAlive bool) (*File, error) {
	s := &File{path: path, keepAlive: keepAlive}
	f, err := s.open()
	if err != nil {
		return nil, err
	}
	if keepAlive {
		s.f = f
	} else {
		f.Close()
	}
	return s, nil
}

func (s *File) open() (*os.File, error) {
	return os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
}

func (s *File) Name() string { return "file" }

func (s *File) Write(_ context.Context, items []*Item) (int, error) {
	f := s.f
	if f == nil {
		var err error
		if f, err = s.open(); err != nil {
			return 0, err
		}
		if s.keepAlive {
			s.f = f
		} else {
			defer f.Close()
		}
	}
	s.buf = joinLines(s.buf[:0], items)
	if _, err := f.Write(s.buf); err != nil {
		// A partial write may leave part of a line; the retry writes the
		// whole batch again (at-least-once), after a reopen.
		s.closeFile()
		return 0, err
	}
	return len(items), nil
}

// Reopen closes the file; the next write opens the path again.
func (s *File) Reopen() error {
	s.closeFile()
	return nil
}

func (s *File) closeFile() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

func (s *File) Close() error {
	s.closeFile()
	return nil
}
