package source

import (
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
type Iterator interface {
	Next() (*audit.Event, error)
	Close() error
}
