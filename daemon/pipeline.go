package daemon

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/source"
)

// Generation is one loaded configuration: the engine and the outputs it
// feeds. Workers hold it (RLock) while they evaluate a batch, so that a
// retired generation closes its outputs only after its last alert.
type Generation struct {
	Engine *engine.Engine
	Format output.Format
	Router *output.Router
	// Decorate, when set, edits each alert before it is encoded
	// (append_output extra fields, redact_outputs).
	Decorate func(*engine.Alert, *audit.Event)

	mu      sync.RWMutex
	retired bool
}

// Pipeline evaluates submitted batches on a pool of engine workers.
type Pipeline struct {
	in      chan *source.Batch
	closing chan struct{} // closed by Stop: Submit refuses from then on
	sendMu  sync.RWMutex  // Submit sends under RLock; Stop closes in under Lock
	gen     atomic.Pointer[Generation]
	m       *metrics.Metrics
	log     *slog.Logger
	wg      sync.WaitGroup
	abort   context.Context // ends when the drain gave up: Route stops blocking
	stop    context.CancelFunc
	n       int

	seqMu sync.Mutex
	seqs  map[string]*audit.Sequence // evt.num per source, for sources that leave it 0
}

// NewPipeline starts workers evaluating with g (0 workers: one per CPU).
func NewPipeline(g *Generation, workers int, m *metrics.Metrics, log *slog.Logger) *Pipeline {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{
		// A couple of batches per worker keeps them busy without letting
		// much pile up in memory ahead of them.
		in: make(chan *source.Batch, 2*workers), closing: make(chan struct{}),
		m: m, log: log, abort: ctx, stop: cancel, n: workers,
	}
	p.gen.Store(g)
	for range workers {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

// ErrStopped is returned by Submit after Stop.
var ErrStopped = errors.New("pipeline stopped")

// Submit implements source.Pipeline. After Stop it refuses (a source that
// did not stop in time must not find a closed channel).
func (p *Pipeline) Submit(ctx context.Context, b *source.Batch) error {
	p.number(b)
	p.sendMu.RLock()
	defer p.sendMu.RUnlock()
	select {
	case p.in <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.closing:
		return ErrStopped
	}
}

// Current returns the generation in use.
func (p *Pipeline) Current() *Generation { return p.gen.Load() }

// Swap puts g in use and returns the generation it replaces, which the
// caller retires.
func (p *Pipeline) Swap(g *Generation) *Generation { return p.gen.Swap(g) }

// Retire waits until no worker evaluates with g any more, then closes its
// outputs, letting them deliver what they hold within ctx.
func Retire(ctx context.Context, g *Generation) error {
	g.mu.Lock()
	g.retired = true
	g.mu.Unlock()
	return g.Router.Close(ctx)
}

// Stop ends the workers once every submitted batch was evaluated. Sources
// must have stopped submitting.
func (p *Pipeline) Stop() {
	close(p.closing)
	p.sendMu.Lock()
	close(p.in)
	p.sendMu.Unlock()
	p.wg.Wait()
}

// Abort makes workers blocked on full output queues give up (the drain
// timeout passed); their batches stay uncommitted.
func (p *Pipeline) Abort() { p.stop() }

// worker is one goroutine's evaluation state.
type worker struct {
	p      *Pipeline
	gen    *Generation
	w      *engine.Worker
	batch  *source.Batch
	ev     *audit.Event
	err    error
	alerts map[string]prometheus.Counter // rule+priority -> counter
	emit   func(*engine.Alert)
}

func (p *Pipeline) work() {
	defer p.wg.Done()
	wk := &worker{p: p, alerts: map[string]prometheus.Counter{}}
	wk.emit = wk.route
	for b := range p.in {
		wk.evaluate(b)
	}
}

// acquire read-locks the current generation, skipping retired ones.
func (wk *worker) acquire() *Generation {
	for {
		g := wk.p.gen.Load()
		g.mu.RLock()
		if !g.retired {
			if g != wk.gen {
				wk.gen, wk.w = g, g.Engine.NewWorker()
			}
			return g
		}
		g.mu.RUnlock() // swapped out under us: take the new one
	}
}

func (wk *worker) evaluate(b *source.Batch) {
	g := wk.acquire()
	defer g.mu.RUnlock()
	clock := wk.p.m.Source(b.Source)
	wk.batch, wk.err = b, nil
	for _, ev := range b.Events {
		wk.ev = ev
		wk.w.Eval(ev, wk.emit)
		clock.Evaluated(ev.Time)
	}
	wk.p.m.EventsEvaluated.WithLabelValues(b.Source).Add(float64(len(b.Events)))
	wk.batch, wk.ev = nil, nil
	if b.Queued != nil {
		b.Queued()
	}
	b.Release()
}

// route encodes an alert once and queues it for every output.
func (wk *worker) route(a *engine.Alert) {
	g := wk.gen
	if g.Decorate != nil {
		g.Decorate(a, wk.ev)
	}
	wk.count(a)
	if wk.err != nil {
		return // the pipeline is aborting: the batch stays uncommitted
	}
	var tk output.Ticket
	if wk.batch != nil {
		tk = wk.batch
	}
	it := &output.Item{Alert: a, Line: g.Format.Append(nil, a), Ticket: tk}
	if wk.err = g.Router.Route(wk.p.abort, it); wk.err != nil && wk.batch != nil {
		// An alert that reached no output: a hold that is never released
		// keeps the batch, and so its position, uncommitted.
		wk.batch.Hold(1)
	}
}

func (wk *worker) count(a *engine.Alert) {
	key := a.Rule + "\x00" + a.Priority.String()
	c, ok := wk.alerts[key]
	if !ok {
		c = wk.p.m.Alerts.WithLabelValues(a.Rule, a.Priority.String())
		wk.alerts[key] = c
	}
	c.Inc()
}

// number gives the events of a batch their source's sequence numbers
// (evt.num, evt.reltime) when the source left them unnumbered, as the
// webhook and file sources do: rules rely on evt.num > 0 as "always true".
func (p *Pipeline) number(b *source.Batch) {
	i := slices.IndexFunc(b.Events, func(e *audit.Event) bool { return e.Num == 0 })
	if i < 0 {
		return
	}
	p.seqMu.Lock()
	defer p.seqMu.Unlock()
	q := p.seqs[b.Source]
	if q == nil {
		if p.seqs == nil {
			p.seqs = map[string]*audit.Sequence{}
		}
		q = &audit.Sequence{}
		p.seqs[b.Source] = q
	}
	for _, e := range b.Events[i:] {
		if e.Num == 0 {
			q.Stamp(e)
		}
	}
}
