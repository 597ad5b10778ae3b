package gen

import (
	"errors"
	"fmt"
	"time"
)

// Format is how events are framed in the output.
type Format int

const (
	// JSONLines writes one Event per line, as kube-apiserver's log backend
	// does.
	JSONLines Format = iota
	// EventList writes one audit.k8s.io/v1 EventList per line, 1–400 events
	// each (drawn per batch), as the webhook backend POSTs them.
	EventList
)

// ParseFormat reads a format name: "jsonl" (or "json", "lines") or
// "eventlist".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "jsonl", "json", "lines", "":
		return JSONLines, nil
	case "eventlist":
		return EventList, nil
	}
	return 0, fmt.Errorf("unknown format %q (want jsonl or eventlist)", s)
}

// String returns the format's name as ParseFormat reads it.
func (f Format) String() string {
	if f == EventList {
		return "eventlist"
	}
	return "jsonl"
}

// MaxBatch is the largest EventList batch, kube-apiserver's default
// --audit-webhook-batch-max-size.
const MaxBatch = 400

// Mix weighs the classes of benign traffic against each other. Only the
// ratios matter; attacks are drawn first, with Options.AttackShare.
type Mix struct {
	Read         float64 // get/list/watch, Metadata level
	Coordination float64 // leases and events
	Status       float64 // status patches, bindings, token requests
	Write        float64 // RequestResponse writes with full bodies
	Large        float64 // 100 KiB–1 MiB objects
}

// DefaultMix is a busy production cluster: reads dominate, a few percent of
// writes carry bodies, and about one event in 5,000 is a large object.
func DefaultMix() Mix {
	return Mix{Read: 0.735, Coordination: 0.15, Status: 0.065, Write: 0.0498, Large: 0.0002}
}

func (m Mix) weights() []float64 {
	return []float64{m.Read, m.Coordination, m.Status, m.Write, m.Large}
}

// Options say what to generate. Zero fields take their defaults, except
// AttackShare, where 0 means no attacks; DefaultOptions sets it.
type Options struct {
	// Seed selects the traffic; the same Options give the same bytes.
	Seed uint64
	// Format frames the events: JSONLines or EventList.
	Format Format
	// Size stops WriteTo once at least this many (uncompressed) bytes are
	// written, at the end of an event or batch. 0: no byte limit.
	Size int64
	// Events stops WriteTo after this many events. 0: no event limit. With
	// neither Size nor Events, WriteTo stops at 1,000 events.
	Events int64
	// AttackShare is the probability that an event is an attack.
	AttackShare float64
	// Mix weighs the benign classes; zero means DefaultMix.
	Mix Mix
	// Nodes is the cluster's node count (default 50); reads and heartbeats
	// scale with it through the names they use.
	Nodes int
	// Start is the time of the first event (default 2026-03-02T09:00:00Z).
	Start time.Time
	// Rate is the cluster's event rate per second of event time (default
	// 2,000), which spaces the timestamps.
	Rate float64
}

// DefaultAttackShare is the attack share of DefaultOptions: one event in a
// thousand.
const DefaultAttackShare = 0.001

// DefaultOptions are the defaults of `peregrine gen`.
func DefaultOptions() Options {
	return Options{Seed: 1, AttackShare: DefaultAttackShare, Mix: DefaultMix()}
}

func (o Options) withDefaults() (Options, error) {
	if o.Mix == (Mix{}) {
		o.Mix = DefaultMix()
	}
	for _, w := range o.Mix.weights() {
		if w < 0 {
			return o, errors.New("gen: mix weights must not be negative")
		}
	}
	if o.AttackShare < 0 || o.AttackShare > 1 {
		return o, fmt.Errorf("gen: attack share %v is not in [0, 1]", o.AttackShare)
	}
	if o.Size < 0 || o.Events < 0 {
		return o, errors.New("gen: size and events must not be negative")
	}
	if o.Nodes == 0 {
		o.Nodes = 50
	}
	if o.Nodes < 1 || o.Nodes > 5000 {
		return o, fmt.Errorf("gen: nodes %d is not in [1, 5000]", o.Nodes)
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	}
	if o.Rate == 0 {
		o.Rate = 2000
	}
	if o.Rate < 0 {
		return o, errors.New("gen: rate must be positive")
	}
	if o.Format != JSONLines && o.Format != EventList {
		return o, fmt.Errorf("gen: unknown format %d", o.Format)
	}
	return o, nil
}
