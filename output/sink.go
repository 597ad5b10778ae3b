package output

import (
	"context"
	"errors"

	"github.com/peregrine-sec/peregrine/engine"
)

// Ticket is what an alert's delivery completes: the batch of events the
// alert came from (a *source.Batch). Each output that takes an alert
// releases its ticket once, after it accepted or dropped the alert.
type Ticket interface {
	Hold(n int)
	Release()
}

// Item is one alert on its way to the outputs: encoded once, shared
// read-only by every sink.
type Item struct {
	Alert *engine.Alert
	// Line is the alert as Format.Append wrote it, newline included.
	Line []byte
	// Ticket is released by each sink; nil for alerts of Peregrine's own
	// (source silence) that no position waits for.
	Ticket Ticket
}

// Body is the line without its trailing newline (an HTTP body, a syslog
// message).
func (it *Item) Body() []byte {
	if n := len(it.Line); n > 0 && it.Line[n-1] == '\n' {
		return it.Line[:n-1]
	}
	return it.Line
}

// Sink delivers alerts to one place. Its methods are called from one
// goroutine (the sink's runner), so sinks need no locking of their own.
type Sink interface {
	// Name is the output's label in metrics and logs: stdout, file, http,
	// program, syslog.
	Name() string
	// Write delivers items in order and returns how many were accepted:
	// handed to the operating system (files, pipes, stdout, syslog) or
	// answered with a 2xx (HTTP). When n < len(items) the error says why
	// items[n] was not; a Permanent error means it never will be.
	Write(ctx context.Context, items []*Item) (n int, err error)
	// Close flushes and frees the sink.
	Close() error
}

// Reopener is a sink that reopens what it writes to on SIGHUP (a file
// moved away by logrotate).
type Reopener interface {
	Reopen() error
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err to say the item can never be delivered (an HTTP 4xx
// other than 408 and 429): the runner counts it as dropped and goes on.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err was made by Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
