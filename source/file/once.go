package file

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
)

// onceBatch is how many events a read-once batch holds.
const onceBatch = 256

// Once reads a file, or a directory's files oldest first, from the start
// to the end and then stops (the k8saudit plain-path open_params). It
// keeps no checkpoint: a restart reads everything again.
type Once struct {
	name, path string
	opts       audit.Options
	m          *metrics.Metrics
	log        *slog.Logger
}

// NewOnce returns a read-once source over path.
func NewOnce(name, path string, opts audit.Options, m *metrics.Metrics, log *slog.Logger) *Once {
	if m == nil {
		m = metrics.New()
	}
	if log == nil {
		log = slog.Default()
	}
	return &Once{name: name, path: path, opts: opts, m: m, log: log}
}

// Name implements source.Source.
func (o *Once) Name() string { return o.name }

// Path is the file or directory read.
func (o *Once) Path() string { return o.path }

// Run reads every event and returns at the end of the input.
func (o *Once) Run(ctx context.Context, p source.Pipeline) error {
	rd := audit.NewReader([]string{o.path}, nil, o.opts)
	defer rd.Close()
	clock := o.m.Source(o.name)
	rd.OnProblem = func(pr audit.Problem) {
		o.m.EventsSkipped.WithLabelValues(o.name, pr.Reason).Inc()
		o.log.Warn("input skipped", "source", o.name, "problem", pr.Error())
	}
	received := o.m.EventsReceived.WithLabelValues(o.name)
	batch := make([]*audit.Event, 0, onceBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		received.Add(float64(len(batch)))
		clock.Received(time.Now())
		err := p.Submit(ctx, source.NewBatch(o.name, batch))
		batch = make([]*audit.Event, 0, onceBatch)
		return err
	}
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			if ferr := flush(); ferr != nil && ctx.Err() == nil {
				return ferr
			}
			o.log.Info("input read to its end", "source", o.name, "path", o.path)
			return nil
		}
		if err != nil {
			return err
		}
		batch = append(batch, ev)
		if len(batch) == onceBatch {
			if err := flush(); err != nil {
				return nil // stopping
			}
		}
	}
}

// Close implements source.Source.
func (o *Once) Close() error { return nil }
