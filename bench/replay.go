package bench

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/gen"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/replay"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
)

// Replay is one replay measurement.
type Replay struct {
	Name    string `json:"name"`
	Rules   string `json:"rules"` // "upstream" or "default"
	Cores   int    `json:"cores"` // GOMAXPROCS
	Workers int    `json:"workers"`
	// Measured is false when the run could not be made; Note says why.
	Measured bool   `json:"measured"`
	Note     string `json:"note,omitempty"`

	Events         uint64  `json:"events"`
	EventBytes     uint64  `json:"event_bytes"` // the events' own JSON
	InputBytes     int64   `json:"input_bytes"` // the input, decompressed
	Seconds        float64 `json:"seconds"`
	EventsPerSec   float64 `json:"events_per_sec"`
	MBPerSec       float64 `json:"mb_per_sec"` // input bytes (10^6) per second
	NsPerEvent     float64 `json:"ns_per_event"`
	AllocsPerEvent float64 `json:"allocs_per_event"`
	AllocBytesPer  float64 `json:"alloc_bytes_per_event"`
	// Allocations of the events that raised no alert, from a separate,
	// untimed pass that evaluates only those (one-core runs only).
	Quiet        *QuietAllocs `json:"quiet_allocs,omitempty"`
	GCCycles     uint32       `json:"gc_cycles"`
	PeakRSSBytes int64        `json:"peak_rss_bytes"`
	Alerts       uint64       `json:"alerts"`
	AlertBytes   uint64       `json:"alert_bytes"` // the alerts encoded as JSON lines
	Problems     uint64       `json:"problems"`    // inputs the decoder skipped

	AlertsByRule map[string]uint64 `json:"alerts_by_rule,omitempty"`
}

// tally sorts alerts by the generator's annotation into detected attacks
// and alerts on benign events.
type tally struct {
	Detected map[string]int64            `json:"detected"` // attack kind → events with an alert
	Rules    map[string]map[string]int64 `json:"rules"`    // attack kind → rule → alerts
	Benign   map[string]uint64           `json:"benign"`   // rule → alerts on benign events
	last     uint64                      // Num of the last event counted
}

func newTally() *tally {
	return &tally{Detected: map[string]int64{}, Rules: map[string]map[string]int64{}, Benign: map[string]uint64{}}
}

func (t *tally) add(ev *audit.Event, a *engine.Alert) {
	kind, _ := ev.Get("annotations", gen.AttackAnnotation).Str()
	if kind == "" {
		t.Benign[a.Rule]++
		return
	}
	kind = strings.Clone(kind) // it points into the event's bytes
	if ev.Num != t.last {      // count events, not alerts (rule_matching: all)
		t.Detected[kind]++
		t.last = ev.Num
	}
	if t.Rules[kind] == nil {
		t.Rules[kind] = map[string]int64{}
	}
	t.Rules[kind][a.Rule]++
}

// loadEngine compiles rules files, or the embedded defaults when there are
// none, with Falco's default engine options, as replay does without -c.
func loadEngine(paths []string) (*engine.Engine, int, error) {
	srcs := defaultrules.Sources()
	if len(paths) > 0 {
		var err error
		if srcs, _, err = rules.ReadPaths(paths, false); err != nil {
			return nil, 0, err
		}
	}
	col, rep := rules.Load(srcs, rules.Options{})
	if err := rep.Err(); err != nil {
		return nil, 0, fmt.Errorf("rules: %w", err)
	}
	eng := engine.New(col, engine.DefaultOptions(), rep)
	if eng == nil {
		return nil, 0, fmt.Errorf("rules: %v", rep.Errors())
	}
	return eng, len(eng.Rules()), nil
}

// measureReplay replays the input once, as `peregrine replay --json` does
// with its output discarded, and measures it. Loading the rules is outside
// the timed region.
func measureReplay(t task) (*result, error) {
	eng, _, err := loadEngine(t.Rules)
	if err != nil {
		return nil, err
	}
	var problems uint64
	o := replay.Blocks{Workers: t.Workers, OnProblem: func(audit.Problem) { problems++ }}
	tl := newTally()
	alerting := map[uint64]bool{}
	if t.Tally {
		o.Observe = func(ev *audit.Event, a *engine.Alert) {
			tl.add(ev, a)
			alerting[ev.Num] = true
		}
	}
	f := output.DefaultFormat()
	f.JSON = true
	var out []byte
	var outBytes uint64
	emit := func(a *engine.Alert) error {
		out = f.Append(out[:0], a)
		outBytes += uint64(len(out))
		return nil
	}
	sum := replay.NewSummary()
	defer replay.TuneGC()() // as `peregrine replay` runs
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	err = replay.RunBlocks(eng, audit.NewSplitter([]string{t.Input}, nil, 0), o, sum, emit)
	elapsed := time.Since(start).Seconds()
	runtime.ReadMemStats(&m1)
	if err != nil {
		return nil, err
	}
	r := &Replay{
		Measured: true, Cores: runtime.GOMAXPROCS(0), Workers: max(t.Workers, 1),
		Events: sum.Events, EventBytes: sum.Bytes, Seconds: elapsed,
		GCCycles: m1.NumGC - m0.NumGC, Alerts: sum.Alerts, AlertBytes: outBytes, Problems: problems,
		AlertsByRule: sum.ByRule,
	}
	if sum.Events > 0 {
		n := float64(sum.Events)
		r.AllocsPerEvent = float64(m1.Mallocs-m0.Mallocs) / n
		r.AllocBytesPer = float64(m1.TotalAlloc-m0.TotalAlloc) / n
	}
	res := &result{Replay: r}
	if t.Tally {
		res.Tally = tl
		r.Quiet = measureQuietAllocs(eng, t.Input, alerting)
	}
	return res, nil
}

// finish derives the rates from the input size the validators measured.
func (r *Replay) finish(inputBytes int64, peakRSS int64) {
	r.InputBytes, r.PeakRSSBytes = inputBytes, peakRSS
	if r.Seconds <= 0 || r.Events == 0 {
		return
	}
	r.EventsPerSec = float64(r.Events) / r.Seconds
	r.MBPerSec = float64(inputBytes) / 1e6 / r.Seconds
	r.NsPerEvent = r.Seconds * 1e9 / float64(r.Events)
}
