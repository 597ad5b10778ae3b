package source

import (
	"context"
	"sync"
)

// Tracker commits a source's positions in order. The source registers
// each batch with the position to resume from once that batch is
// delivered, in the order it submits them; Tracker calls commit with the
// newest position whose batch and all earlier ones were released, so a
// position never gets ahead of an undelivered alert. Batches may be
// released in any order (several engine workers, several outputs).
type Tracker[P any] struct {
	mu      sync.Mutex
	pending []*tracked[P] // registered, not yet committed, in order
	commit  func(P)
	idle    chan struct{} // closed while nothing is pending
}

type tracked[P any] struct {
	pos  P
	done bool
}

// NewTracker returns a tracker that calls commit, under its lock and in
// order, with each newly committed position. commit must be quick (keep
// the position in memory; write it out elsewhere).
func NewTracker[P any](commit func(P)) *Tracker[P] {
	t := &Tracker[P]{commit: commit, idle: make(chan struct{})}
	close(t.idle)
	return t
}

// Track registers b, which resumes at pos once delivered. Call it before
// submitting b, in submission order.
func (t *Tracker[P]) Track(b *Batch, pos P) {
	e := &tracked[P]{pos: pos}
	t.mu.Lock()
	if len(t.pending) == 0 {
		t.idle = make(chan struct{})
	}
	t.pending = append(t.pending, e)
	t.mu.Unlock()
	b.done = func() { t.complete(e) }
}

// Forget drops the newest registration, for a batch that was registered
// but could not be submitted (the pipeline stopped first). Its position
// is never committed.
func (t *Tracker[P]) Forget(b *Batch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.pending); n > 0 {
		t.pending = t.pending[:n-1]
		t.signalIdle()
	}
	b.done = nil
}

func (t *Tracker[P]) complete(e *tracked[P]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.done = true
	n := 0
	for n < len(t.pending) && t.pending[n].done {
		n++
	}
	if n == 0 {
		return
	}
	last := t.pending[n-1].pos
	// Shift rather than reslice, so the backing array does not creep
	// forward and grow without bound on a long run.
	m := copy(t.pending, t.pending[n:])
	clear(t.pending[m:])
	t.pending = t.pending[:m]
	t.commit(last)
	t.signalIdle()
}

func (t *Tracker[P]) signalIdle() {
	if len(t.pending) == 0 {
		select {
		case <-t.idle:
		default:
			close(t.idle)
		}
	}
}

// Pending returns how many registered batches are not yet committed.
func (t *Tracker[P]) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// WaitIdle blocks until every registered batch is committed, or ctx ends.
func (t *Tracker[P]) WaitIdle(ctx context.Context) error {
	t.mu.Lock()
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
