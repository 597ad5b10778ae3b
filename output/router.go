package output

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/peregrine-sec/peregrine/metrics"
)

// Overflow says what happens to an alert whose output queue is full.
type Overflow int

// The overflow policies (peregrine.overflow).
const (
	// Block makes the pipeline wait for room, which in turn slows the
	// sources down: nothing is lost (the default).
	Block Overflow = iota
	// Drop drops the alert for that output, counts it and logs it.
	Drop
)

// ParseOverflow reads peregrine.overflow ("block" or "drop").
func ParseOverflow(s string) (Overflow, error) {
	switch s {
	case "", "block":
		return Block, nil
	case "drop":
		return Drop, nil
	}
	return Block, fmt.Errorf("overflow policy %q: must be block or drop", s)
}

// RouterOptions configure a Router.
type RouterOptions struct {
	// Capacity bounds each output's queue, in alerts (outputs_queue.capacity).
	Capacity int
	Overflow Overflow
	// Limiter, when set, paces alerts (outputs.rate, outputs.max_burst);
	// DropOverRate drops alerts over the rate instead of delaying them.
	Limiter      *Limiter
	DropOverRate bool
	Metrics      *metrics.Metrics
	Log          *slog.Logger
}

// Router hands each alert to every output through a bounded queue per
// output, so a slow output delays only itself until its queue fills.
type Router struct {
	opts    RouterOptions
	runners []*runner
	wg      sync.WaitGroup
	abort   context.CancelFunc
	lost    lossLog
}

// NewRouter starts one runner per sink.
func NewRouter(sinks []Sink, opts RouterOptions) *Router {
	if opts.Capacity <= 0 {
		opts.Capacity = DefaultCapacity
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Router{opts: opts, abort: cancel, lost: lossLog{log: opts.Log}}
	for _, s := range sinks {
		rn := newRunner(s, opts.Capacity, opts.Metrics, opts.Log)
		r.runners = append(r.runners, rn)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			rn.loop(ctx)
		}()
	}
	return r
}

// DefaultCapacity is Peregrine's outputs_queue.capacity: bounded, unlike
// Falco's unbounded 0.
const DefaultCapacity = 100_000

// Route queues it for every output. With the block policy it waits for
// room; when ctx ends first it returns ctx's error and leaves the ticket
// held for the outputs it did not reach, so that the batch is never
// completed and its position never committed.
func (r *Router) Route(ctx context.Context, it *Item) error {
	if r.opts.Limiter != nil {
		if r.opts.DropOverRate {
			if !r.opts.Limiter.Allow() {
				for _, rn := range r.runners {
					rn.dropped("rate-limit")
				}
				r.lost.note("rate limit (outputs.rate)", len(r.runners))
				return nil
			}
		} else if err := r.opts.Limiter.Wait(ctx); err != nil {
			return err
		}
	}
	if it.Ticket != nil {
		it.Ticket.Hold(len(r.runners))
	}
	for _, rn := range r.runners {
		select {
		case rn.ch <- it:
			continue
		default:
		}
		if r.opts.Overflow == Drop {
			rn.dropped("overflow")
			r.lost.note("queue of output "+rn.sink.Name()+" full (outputs_queue.capacity)", 1)
			if it.Ticket != nil {
				it.Ticket.Release()
			}
			continue
		}
		select {
		case rn.ch <- it:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Healthy reports whether every output's last delivery attempt worked,
// with the failing outputs' errors.
func (r *Router) Healthy() (bool, []string) {
	var bad []string
	for _, rn := range r.runners {
		if err := rn.lastError(); err != nil {
			bad = append(bad, rn.sink.Name()+": "+err.Error())
		}
	}
	return len(bad) == 0, bad
}

// Reopen reopens the outputs that write to files (SIGHUP).
func (r *Router) Reopen() {
	for _, rn := range r.runners {
		rn.reopen()
	}
}

// Close stops taking alerts, lets each output deliver what it holds, and
// waits until they are done or ctx ends; then it gives up on what is left
// (those batches stay uncommitted) and closes the sinks.
func (r *Router) Close(ctx context.Context) error {
	for _, rn := range r.runners {
		close(rn.ch)
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("outputs did not drain in time: %w", ctx.Err())
		r.abort()
		<-done
	}
	r.abort()
	for _, rn := range r.runners {
		if cerr := rn.sink.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// lossLog logs dropped alerts at most every few seconds, with a count, so
// that a flood of drops does not become a flood of log lines.
type lossLog struct {
	log  *slog.Logger
	mu   sync.Mutex
	last time.Time
	n    int
}

func (l *lossLog) note(why string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n += n
	if time.Since(l.last) < 5*time.Second {
		return
	}
	l.log.Warn("alerts dropped", "reason", why, "count", l.n)
	l.last, l.n = time.Now(), 0
}
