package gen

import (
	"bufio"
	"io"
)

// AttackAnnotation is the annotation key every generated attack event
// carries, with the attack's kind as its value. Benign events never have it.
const AttackAnnotation = "peregrine.dev/generated-attack"

// Class is the kind of traffic an event belongs to.
type Class uint8

// The classes of generated traffic.
const (
	Read Class = iota
	Coordination
	Status
	Write
	Large
	Attack
	numClasses
)

var classNames = [numClasses]string{"read", "coordination", "status", "write", "large", "attack"}

// String returns the class's name as Stats uses it.
func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "unknown"
}

// Info describes one generated event.
type Info struct {
	Class  Class
	Attack string // the attack kind; "" for benign events
}

// Stats counts what a Generator produced.
type Stats struct {
	Events  int64            `json:"events"`
	Bytes   int64            `json:"bytes"`   // written by WriteTo, before compression
	Batches int64            `json:"batches"` // EventList documents
	ByClass map[string]int64 `json:"by_class"`
	Attacks map[string]int64 `json:"attacks"` // by kind
}

// Generator produces one stream of events. It is not safe for concurrent
// use; build one per goroutine (with different seeds for different traffic).
type Generator struct {
	opts    Options
	r       *rng // events
	br      *rng // EventList batch sizes, apart so events do not depend on framing
	c       *cluster
	clk     clock // event timestamps
	objClk  clock // object creation timestamps
	now     int64 // µs since the epoch
	nowNs   int64 // ns since the epoch: the clock, finer than the output
	gapMax  int   // ns; gaps are uniform in [0, gapMax]
	rv      int64 // the cluster's resourceVersion counter
	classes weighted
	benign  [Attack][]behavior
	pickers [Attack]weighted
	attacks weighted

	e   evt
	buf scratch

	byClass [numClasses]int64
	byKind  []int64
	events  int64
	bytes   int64
	batches int64
}

// New returns a Generator for opts.
func New(opts Options) (*Generator, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Generator{
		opts:    opts,
		r:       newRNG(opts.Seed),
		br:      newRNG(^opts.Seed),
		c:       newCluster(opts.Seed, opts.Nodes),
		now:     opts.Start.UnixMicro(),
		nowNs:   opts.Start.UnixNano(),
		gapMax:  int(2e9 / opts.Rate),
		rv:      int64(1_000_000 + opts.Seed%1_000_000),
		classes: newWeighted(opts.Mix.weights()),
		byKind:  make([]int64, len(attackKinds)),
	}
	g.benign = [Attack][]behavior{readBehaviors, coordinationBehaviors, statusBehaviors, writeBehaviors, largeBehaviors}
	for i, bs := range g.benign {
		w := make([]float64, len(bs))
		for j, b := range bs {
			w[j] = b.w
		}
		g.pickers[i] = newWeighted(w)
	}
	g.attacks = newWeighted(attackWeights())
	return g, nil
}

// AppendEvent appends the next event (one JSON object, no newline) to dst.
func (g *Generator) AppendEvent(dst []byte) ([]byte, Info) {
	g.tick()
	g.e.reset(&g.buf)
	var info Info
	if g.opts.AttackShare > 0 && g.r.float() < g.opts.AttackShare {
		k := g.attacks.pick(g.r)
		info = Info{Class: Attack, Attack: attackKinds[k].name}
		g.byKind[k]++
		attackKinds[k].f(g)
		g.e.attack = attackKinds[k].name
	} else {
		info.Class = Class(g.classes.pick(g.r))
		g.benign[info.Class][g.pickers[info.Class].pick(g.r)].f(g)
	}
	g.byClass[info.Class]++
	g.events++
	return g.appendEnvelope(dst), info
}

// tick advances the event clock by a uniform gap with the mean of the
// configured rate. (Exponential gaps would be closer to Poisson arrivals,
// but math.Log may differ in the last bit between architectures, and the
// output must not; no rule looks at the gaps.)
func (g *Generator) tick() {
	g.nowNs += int64(g.r.intn(g.gapMax + 1))
	g.now = g.nowNs / 1e3
}

// AppendBatch appends an EventList of n events (no newline) to dst.
func (g *Generator) AppendBatch(dst []byte, n int) []byte {
	dst = append(dst, `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`...)
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst, _ = g.AppendEvent(dst)
	}
	g.batches++
	return append(dst, "]}"...)
}

// BatchSize draws the size of the next EventList batch, 1 to MaxBatch.
func (g *Generator) BatchSize() int { return g.br.between(1, MaxBatch) }

// WriteTo writes events to w, framed by Options.Format, until Options.Size
// bytes or Options.Events events (1,000 events when neither is set). It
// returns the bytes written.
func (g *Generator) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	limit := g.opts.Events
	if limit == 0 && g.opts.Size == 0 {
		limit = 1000
	}
	var start = g.bytes
	var buf []byte
	for (limit == 0 || g.events < limit) && (g.opts.Size == 0 || g.bytes-start < g.opts.Size) {
		if g.opts.Format == EventList {
			n := g.BatchSize()
			if limit > 0 && int64(n) > limit-g.events {
				n = int(limit - g.events)
			}
			buf = g.AppendBatch(buf[:0], n)
		} else {
			buf, _ = g.AppendEvent(buf[:0])
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return g.bytes - start, err
		}
		g.bytes += int64(len(buf))
		if cap(buf) > 4<<20 {
			buf = nil // do not keep a large object's buffer for the rest of the run
		}
	}
	return g.bytes - start, bw.Flush()
}

// Stats returns the counts so far.
func (g *Generator) Stats() Stats {
	s := Stats{Events: g.events, Bytes: g.bytes, Batches: g.batches, ByClass: map[string]int64{}, Attacks: map[string]int64{}}
	for c, n := range g.byClass {
		if n > 0 {
			s.ByClass[Class(c).String()] = n
		}
	}
	for k, n := range g.byKind {
		if n > 0 {
			s.Attacks[attackKinds[k].name] = n
		}
	}
	return s
}
