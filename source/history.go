package source

import (
	"log/slog"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
)

// HistoryOpener opens a past time range of a configured source for
// `peregrine replay -c CONFIG --source NAME --since T [--until T]`: the
// source reads [since, until) once (EKS: CloudWatch; AKS: the storage
// account archive; Kafka: offsets by time) instead of following. A zero
// until means up to now.
type HistoryOpener func(env Env, since, until time.Time) (Iterator, error)

// Iterator yields events in order until io.EOF.
//
// A record that gives no event (malformed, truncated, ...) is skipped, not
// returned as an error, so that one bad record does not end a replay. Each
// one is reported once to the function set with OnProblem, before the
// first Next, so that replay counts and prints it as it does a file's:
// Problem.File names the record as its source does (topic, partition and
// offset; log stream and event id; blob and line) and Problem.Reason is
// one of audit's Reason constants or the source's own.
type Iterator interface {
	Next() (*audit.Event, error)
	Close() error
	OnProblem(func(audit.Problem))
}

// Skips reports an iterator's skipped records: to the OnProblem function,
// else (a caller that set none) to Log, so that none goes unnoticed.
type Skips struct {
	fn  func(audit.Problem)
	Log *slog.Logger // nil: slog.Default()
}

// OnProblem sets the function Report calls.
func (s *Skips) OnProblem(fn func(audit.Problem)) { s.fn = fn }

// Report reports one skipped record.
func (s *Skips) Report(p audit.Problem) {
	if s.fn != nil {
		s.fn(p)
		return
	}
	l := s.Log
	if l == nil {
		l = slog.Default()
	}
	l.Warn("history record skipped", "reason", p.Reason, "problem", p.Error())
}
