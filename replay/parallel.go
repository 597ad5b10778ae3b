package replay

import (
	"errors"
	"io"
	"sync"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
)

// batchSize is how many events travel together between goroutines: enough
// to make channel costs negligible, small enough to keep memory flat.
const batchSize = 256

type batch struct {
	seq    int
	events []*audit.Event
	alerts []*engine.Alert
	bytes  uint64
}

// RunParallel is Run with the evaluation spread over workers goroutines.
// One goroutine reads, workers evaluate whole batches, and alerts are
// emitted in input order, exactly as Run would emit them.
func RunParallel(e *engine.Engine, src EventSource, workers int, sum *Summary, emit func(*engine.Alert) error) error {
	if workers <= 1 {
		return Run(e, src, sum, emit)
	}
	todo := make(chan *batch, workers*2)
	done := make(chan *batch, workers*2)
	var readErr error
	go func() {
		readErr = readBatches(src, todo)
		close(todo)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evaluate(e.NewWorker(), todo, done)
		}()
	}
	go func() { wg.Wait(); close(done) }()
	err := collect(done, sum, emit)
	if err != nil {
		for range done { // let the workers and the reader finish
		}
		return err
	}
	return readErr
}

// readBatches reads src into numbered batches until EOF or an error.
func readBatches(src EventSource, todo chan<- *batch) error {
	b := &batch{}
	for {
		ev, err := src.Next()
		if ev != nil {
			b.events = append(b.events, ev)
			b.bytes += uint64(len(ev.Raw))
		}
		if len(b.events) == batchSize || (err != nil && len(b.events) > 0) {
			todo <- b
			b = &batch{seq: b.seq + 1}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func evaluate(w *engine.Worker, todo <-chan *batch, done chan<- *batch) {
	for b := range todo {
		for _, ev := range b.events {
			w.Eval(ev, func(a *engine.Alert) { b.alerts = append(b.alerts, a) })
		}
		done <- b
	}
}

// collect puts batches back in input order and emits their alerts.
func collect(done <-chan *batch, sum *Summary, emit func(*engine.Alert) error) error {
	pending := map[int]*batch{}
	next := 0
	for b := range done {
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			sum.Events += uint64(len(b.events))
			sum.Bytes += b.bytes
			for _, a := range b.alerts {
				sum.count(a)
				if err := emit(a); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
