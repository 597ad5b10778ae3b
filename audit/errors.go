package audit

import (
	"strconv"
	"strings"
)

// Reasons a Problem gives: short, stable keys for counting skipped input
// (the replay summary and the skipped-by-reason metric use them as labels).
const (
	ReasonMalformed   = "malformed"    // not JSON; the document is skipped
	ReasonNotAudit    = "not-audit"    // JSON, but not an Event, EventList or array of them
	ReasonNoTimestamp = "no-timestamp" // an event without a readable stageTimestamp
	ReasonTooLarge    = "too-large"    // an event over MaxEventSize or a document over MaxDocSize
	ReasonReadError   = "read-error"   // an input could not be opened or read
)

// Problem is one piece of input that did not become events. Problems never
// stop a Reader: the input they describe is skipped and reading goes on.
type Problem struct {
	// File names the input ("<stdin>" for standard input, empty for an
	// in-memory payload).
	File string
	// Line is the 1-based line where the skipped document or event starts;
	// 0 when unknown (e.g. a file that could not be opened).
	Line int
	// Offset is the byte offset of that start in the (decompressed) input.
	Offset int64
	// Reason is one of the Reason constants.
	Reason string
	// Msg says what is wrong, for people. It never quotes event bodies
	// beyond a short excerpt of the offending token.
	Msg string
}

// Error formats the problem as "file:line: (offset N) msg", leaving out the
// parts that are unknown, as go/token prints positions.
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if p.File != "" {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Line > 0 {
		b.WriteString("(offset ")
		b.WriteString(strconv.FormatInt(p.Offset, 10))
		b.WriteString(") ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ProblemList is a list of problems in the order they were found, like
// go/scanner.ErrorList (input order is already position order).
type ProblemList []Problem

// Error shows the first problem and how many more there are.
func (l ProblemList) Error() string {
	switch len(l) {
	case 0:
		return "no problems"
	case 1:
		return l[0].Error()
	}
	return l[0].Error() + " (and " + strconv.Itoa(len(l)-1) + " more problems)"
}

// Err returns l as an error, or nil when it is empty.
func (l ProblemList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Count returns how many problems have the given reason.
func (l ProblemList) Count(reason string) int {
	n := 0
	for i := range l {
		if l[i].Reason == reason {
			n++
		}
	}
	return n
}
