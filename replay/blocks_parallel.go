package replay

import (
	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
)

// job is one block on its way through the parallel replay. Blocks are
// decoded ahead by any worker, but numbered in order through a chain of
// handoffs: a worker waits for the block before its own to be decoded
// (only decoded, not evaluated) and learns from it the event count and the
// Tail its own block must continue. Evaluation then runs in parallel, and
// the collector emits each job's alerts in input order.
type job struct {
	b    *audit.Block
	prev <-chan handoff
	next chan<- handoff
	done chan struct{}

	alerts   []*engine.Alert
	problems []audit.Problem
	events   int
	bytes    uint64
}

// handoff is what a block tells the next one once it is decoded.
type handoff struct {
	seq  audit.Sequence
	tail *audit.Tail
}

func runBlocksParallel(e *engine.Engine, sp *audit.Splitter, o Blocks, sum *Summary, emit func(*engine.Alert) error) error {
	todo := make(chan *job, o.Workers)
	order := make(chan *job, 4*o.Workers) // bounds the blocks in flight
	quit := make(chan struct{})
	go split(sp, todo, order, quit)
	for range o.Workers {
		go work(e, sp, o, todo, quit)
	}
	var err error
	for j := range order {
		<-j.done
		if err != nil {
			continue // drain: the workers finish what was started
		}
		o.problems(sum, j.problems)
		sum.Events += uint64(j.events)
		sum.Bytes += j.bytes
		for _, a := range j.alerts {
			sum.count(a)
			if err = emit(a); err != nil {
				close(quit)
				break
			}
		}
	}
	return err
}

// split reads the blocks and chains them into jobs, in order.
func split(sp *audit.Splitter, todo, order chan<- *job, quit <-chan struct{}) {
	defer close(todo)
	defer close(order)
	first := make(chan handoff, 1)
	first <- handoff{}
	prev := (<-chan handoff)(first)
	for {
		b, err := sp.Next()
		if err != nil {
			return
		}
		next := make(chan handoff, 1)
		j := &job{b: b, prev: prev, next: next, done: make(chan struct{})}
		prev = next
		select {
		case order <- j:
		case <-quit:
			return
		}
		todo <- j
	}
}

// work decodes and evaluates jobs. A block is decoded on its own first;
// only when the block before it ended inside a document is it decoded
// again, continuing that block's Tail.
func work(e *engine.Engine, sp *audit.Splitter, o Blocks, todo <-chan *job, quit <-chan struct{}) {
	d := audit.NewBlockDecoder(o.Decode)
	w := e.NewWorker()
	var cur *audit.Event
	var j *job
	onAlert := func(a *engine.Alert) {
		if o.Observe != nil {
			o.Observe(cur, a)
		}
		j.alerts = append(j.alerts, a)
	}
	for j = range todo {
		r := d.Decode(j.b, nil)
		h := <-j.prev
		if h.tail != nil {
			r = d.Decode(j.b, h.tail)
		}
		for _, ev := range r.Events {
			h.seq.Stamp(ev)
		}
		j.next <- handoff{seq: h.seq, tail: r.Tail}
		j.problems = append(append(j.problems, j.b.Problems...), r.Problems...)
		j.events = len(r.Events)
		select {
		case <-quit:
		default:
			for _, ev := range r.Events {
				j.bytes += uint64(len(ev.Raw))
				cur = ev
				w.Eval(ev, onAlert)
			}
		}
		o.progress(j.events, j.bytes)
		sp.Release(j.b)
		close(j.done)
	}
}
