package source

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/metrics"
)

// Source produces batches of audit events. Run reads until ctx ends and
// returns once nothing more will be submitted; the daemon then drains the
// pipeline and calls Close, which saves the final position. A source
// commits positions only through its Tracker.
type Source interface {
	// Name is the source's label in metrics and logs (its plugin name, or
	// "webserver" for the legacy endpoint).
	Name() string
	// Run submits batches to p until ctx is done. An error means the
	// source cannot go on (a port in use, an unreadable state file).
	Run(ctx context.Context, p Pipeline) error
	// Close saves the last committed position and frees what Run used.
	Close() error
}

// Pipeline is where sources hand their batches.
type Pipeline interface {
	// Submit gives b to the evaluation. It blocks while the pipeline is
	// full (backpressure) and fails only when ctx ends first, in which
	// case b was not taken and will never be released.
	Submit(ctx context.Context, b *Batch) error
}

// Batch is a group of events of one source, evaluated by one engine
// worker in order. It stays held while it is being evaluated and while
// any of its alerts is on its way to an output; the last release runs
// the hook its Tracker set.
type Batch struct {
	Events []*audit.Event
	// Source is the name of the source that made the batch.
	Source string
	// Queued, when set, is called once the batch was evaluated and all its
	// alerts were queued for the outputs (before they are written). The
	// webhook without a spool answers its POST then.
	Queued func()

	holds atomic.Int64
	done  func()
}

// NewBatch returns a batch of events holding the pipeline's evaluation
// hold, which the pipeline drops when evaluation ends.
func NewBatch(src string, events []*audit.Event) *Batch {
	b := &Batch{Source: src, Events: events}
	b.holds.Store(1)
	return b
}

// Hold adds n holds (the pipeline takes one per alert per output).
func (b *Batch) Hold(n int) { b.holds.Add(int64(n)) }

// Release drops one hold; dropping the last one completes the batch.
func (b *Batch) Release() {
	if b.holds.Add(-1) == 0 && b.done != nil {
		b.done()
	}
}

// ErrUnavailable is wrapped by errors about sources this build lacks.
var ErrUnavailable = errors.New("not available in this build")

// Env is what an Opener gets to build the sources of one plugin entry.
type Env struct {
	// Plugin is the plugin name (k8saudit, k8saudit-eks, ...).
	Plugin string
	// InitConfig is the plugin's init_config as a map (a JSON string is
	// decoded; an empty one is an empty map).
	InitConfig map[string]any
	// OpenParams is the trimmed open_params.
	OpenParams string
	// StateDir is peregrine.state_dir: where checkpoints and spools live;
	// "" keeps no state (positions are lost on restart).
	StateDir string
	// SpoolMaxBytes is peregrine.spool.max_bytes: the bound of a spool
	// whose own init_config sets none (0: the spool's default).
	SpoolMaxBytes int64
	Metrics       *metrics.Metrics
	Log           *slog.Logger
}

// Opener builds the sources of one plugin entry.
type Opener func(Env) ([]Source, error)

// HealthChecker is a source that can tell whether it is working while it
// runs (a lost connection it is still retrying, say); /healthz reports
// its error.
type HealthChecker interface {
	Health() error
}
