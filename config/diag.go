package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/peregrine-sec/peregrine/rules"
)

// Diag is one finding about a configuration: where its key was written (a
// file's 1-based line and column, or the -o option that set it, as File
// with Line 0) and what is wrong. Its Pos is the rules diagnostics' type,
// so validate prints both alike.
type Diag struct {
	Pos     rules.Position
	Msg     string
	Warning bool
}

// String gives "FILE:LINE:COL: message", or the message alone when the
// place is unknown.
func (d Diag) String() string {
	if d.Pos == (rules.Position{}) {
		return d.Msg
	}
	return d.Pos.String() + ": " + d.Msg
}

// Error is an invalid configuration: every problem found, each with its
// place. Load returns it for any configuration that cannot be used.
// Warnings are those found beside the errors, for validate to show them
// all at once; the error's text leaves them out.
type Error struct {
	Diags    []Diag
	Warnings []Diag
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Diags))
	for i, d := range e.Diags {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

func errorAt(pos rules.Position, format string, args ...any) *Error {
	return &Error{Diags: []Diag{{Pos: pos, Msg: fmt.Sprintf(format, args...)}}}
}

// problem is a finding about one key before its place is looked up: key
// is the key's path in -o syntax ("webserver.listen_port", "rules[2]"),
// msg the whole message, which starts with the key.
type problem struct{ key, msg string }

func (p problem) Error() string { return p.msg }

// keyOf returns the key path a message starts with ("kafka_output.topic:
// required" gives kafka_output.topic), for errors that other packages
// word (kafkaconn); "" when it does not start with one.
func keyOf(msg string) string {
	k, _, ok := strings.Cut(msg, ": ")
	if !ok || strings.ContainsAny(k, " \t\"'") {
		return ""
	}
	return k
}

// yamlError gives a yaml.v3 error as FILE:LINE: message. The line is
// yaml.v3's own: the parser knows best where it got lost.
func yamlError(path string, err error) *Error {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	e := &Error{}
	for _, m := range msgs {
		line, msg := rules.YAMLLine(m)
		e.Diags = append(e.Diags, Diag{Pos: rules.Position{File: path, Line: line}, Msg: msg})
	}
	return e
}

// readError names the file once: os errors already carry the path.
func readError(path string, err error) *Error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return errorAt(rules.Position{File: path}, "%v", err)
}
