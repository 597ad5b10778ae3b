package output

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// Program is program_output: alerts piped to a shell command. With
// keep_alive one process reads every alert on its stdin (restarted when it
// dies); without it, each alert starts a process of its own, as Falco's
// popen per alert.
type Program struct {
	cmd       string
	keepAlive bool
	proc      *exec.Cmd
	stdin     io.WriteCloser
	buf       []byte
}

// NewProgram returns the program_output sink.
func NewProgram(cmd string, keepAlive bool) *Program {
	return &Program{cmd: cmd, keepAlive: keepAlive}
}

func (s *Program) Name() string { return "program" }

func (s *Program) shell() *exec.Cmd {
	c := exec.Command("/bin/sh", "-c", s.cmd)
	c.Stdout, c.Stderr = os.Stdout, os.Stderr
	return c
}

func (s *Program) Write(_ context.Context, items []*Item) (int, error) {
	if !s.keepAlive {
		for i, it := range items {
			c := s.shell()
			c.Stdin = bytes.NewReader(it.Line)
			if err := c.Run(); err != nil {
				if _, exited := err.(*exec.ExitError); !exited {
					return i, fmt.Errorf("program_output: %w", err)
				}
				// A non-zero exit is the program's business, as with
				// popen: the alert was handed over.
			}
		}
		return len(items), nil
	}
	if err := s.start(); err != nil {
		return 0, err
	}
	s.buf = joinLines(s.buf[:0], items)
	if _, err := s.stdin.Write(s.buf); err != nil {
		s.stop()
		return 0, fmt.Errorf("program_output: %w", err)
	}
	return len(items), nil
}

func (s *Program) start() error {
	if s.proc != nil {
		return nil
	}
	c := s.shell()
	in, err := c.StdinPipe()
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		return fmt.Errorf("program_output: %w", err)
	}
	s.proc, s.stdin = c, in
	return nil
}

func (s *Program) stop() {
	if s.proc == nil {
		return
	}
	s.stdin.Close()
	_ = s.proc.Wait()
	s.proc, s.stdin = nil, nil
}

// Close closes the long-running program's stdin and waits for it to end.
func (s *Program) Close() error {
	s.stop()
	return nil
}
