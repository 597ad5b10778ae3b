package output

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-sec/peregrine/metrics"
)

// maxWrite bounds how many queued alerts one Write gets.
const maxWrite = 512

// Retry backoff for a failing output.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// runner feeds one sink from its queue, retrying what it refuses.
type runner struct {
	sink Sink
	ch   chan *Item
	log  *slog.Logger

	sent, failed prometheus.Counter
	queued       prometheus.Gauge
	m            *metrics.Metrics

	mu      sync.Mutex
	err     error // last delivery error; nil after a success
	reopenC chan struct{}
}

func newRunner(s Sink, capacity int, m *metrics.Metrics, log *slog.Logger) *runner {
	if m == nil {
		m = metrics.New()
	}
	n := s.Name()
	return &runner{
		sink: s, ch: make(chan *Item, capacity), log: log.With("output", n), m: m,
		sent: m.OutputSent.WithLabelValues(n), failed: m.OutputFailed.WithLabelValues(n),
		queued: m.OutputQueued.WithLabelValues(n), reopenC: make(chan struct{}, 1),
	}
}

func (r *runner) dropped(reason string) {
	r.m.OutputDropped.WithLabelValues(r.sink.Name(), reason).Inc()
}

// loop delivers until the queue is closed and empty, or ctx (the
// router's abort) ends.
func (r *runner) loop(ctx context.Context) {
	batch := make([]*Item, 0, maxWrite)
	for {
		var it *Item
		var ok bool
		select {
		case it, ok = <-r.ch:
		case <-r.reopenC:
			r.doReopen()
			continue
		}
		if !ok {
			return
		}
		batch = append(batch[:0], it)
		batch = r.fill(batch)
		r.queued.Set(float64(len(r.ch)))
		if !r.deliver(ctx, batch) {
			return
		}
		clear(batch)
	}
}

// fill adds what is already queued, without waiting.
func (r *runner) fill(batch []*Item) []*Item {
	for len(batch) < maxWrite {
		select {
		case it, ok := <-r.ch:
			if !ok {
				return batch
			}
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

// deliver writes items until all are accepted or dropped, backing off
// between failures. It returns false when ctx ended first: the rest stay
// unreleased, so their positions are not committed.
func (r *runner) deliver(ctx context.Context, items []*Item) bool {
	backoff := minBackoff
	for len(items) > 0 {
		n, err := r.sink.Write(ctx, items)
		r.accept(items[:n])
		items = items[n:]
		if err == nil {
			if len(items) > 0 {
				continue
			}
			r.setErr(nil)
			return true
		}
		r.failed.Inc()
		r.setErr(err)
		if IsPermanent(err) {
			r.log.Warn("output refused an alert; dropped", "err", err)
			r.dropped("refused")
			release(items[:1])
			items = items[1:]
			continue
		}
		r.log.Warn("output failed; retrying", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
	return true
}

func (r *runner) accept(items []*Item) {
	if len(items) == 0 {
		return
	}
	r.sent.Add(float64(len(items)))
	release(items)
}

func release(items []*Item) {
	for _, it := range items {
		if it.Ticket != nil {
			it.Ticket.Release()
		}
	}
}

func (r *runner) setErr(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *runner) lastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// reopen asks the runner's goroutine to reopen its sink between writes.
func (r *runner) reopen() {
	if _, ok := r.sink.(Reopener); !ok {
		return
	}
	select {
	case r.reopenC <- struct{}{}:
	default:
	}
}

func (r *runner) doReopen() {
	if err := r.sink.(Reopener).Reopen(); err != nil {
		r.log.Warn("reopen failed", "err", err)
	}
}
