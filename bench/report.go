package bench

import (
	"encoding/json"
	"io"
	"sort"
	"time"
)

// Report is everything one `peregrine bench` run measured. Its JSON form
// (WriteJSON) is meant to be kept and compared across runs; Schema changes
// when a field changes meaning.
type Report struct {
	Schema     int         `json:"schema"`
	Started    time.Time   `json:"started"`
	Seconds    float64     `json:"seconds"`
	Quick      bool        `json:"quick"`
	Isolated   bool        `json:"isolated"` // each measurement in its own process
	Machine    Machine     `json:"machine"`
	Input      Input       `json:"input"`
	Startup    Startup     `json:"startup"`
	Replay     []Replay    `json:"replay"`
	Validators []Validator `json:"validators"`
	Ratios     Ratios      `json:"ratios"`
	Webhook    Webhook     `json:"webhook"`
	Detection  []Detection `json:"detection"`
	Targets    []Target    `json:"targets"`

	census  *census
	tallies []namedTally
}

type namedTally struct {
	rules string
	t     *tally
}

// Input is the file the replays and validators read.
type Input struct {
	Path        string  `json:"path"`
	Generated   bool    `json:"generated"`
	Kept        bool    `json:"kept"`
	Format      string  `json:"format,omitempty"`
	Seed        uint64  `json:"seed,omitempty"`
	AttackShare float64 `json:"attack_share,omitempty"`
	FileBytes   int64   `json:"file_bytes"` // on disk
	Bytes       int64   `json:"bytes"`      // decompressed
	Lines       int64   `json:"lines"`
	Events      int64   `json:"events"`
	GenSeconds  float64 `json:"gen_seconds,omitempty"`
	GenMBPerSec float64 `json:"gen_mb_per_sec,omitempty"`
}

// Ratios relate the measurements to each other. Nil means not measured.
type Ratios struct {
	FastestValidator string `json:"fastest_validator"`
	// Replay on one core over the fastest validator (MB/s over MB/s).
	UpstreamVsValidator *float64 `json:"upstream_vs_validator"`
	DefaultVsValidator  *float64 `json:"default_vs_validator"`
	// All cores over one core.
	UpstreamSpeedup *float64 `json:"upstream_speedup"`
	DefaultSpeedup  *float64 `json:"default_speedup"`
}

// Detection sorts the alerts of a one-core replay by the generator's
// attack annotation: attacks caught and missed, alerts on benign events.
type Detection struct {
	Rules        string            `json:"rules"`
	AttackEvents int64             `json:"attack_events"`
	Detected     int64             `json:"detected"`
	Recall       float64           `json:"recall"`
	ByKind       []KindDetection   `json:"by_kind"`
	BenignAlerts uint64            `json:"benign_alerts"`
	BenignByRule map[string]uint64 `json:"benign_by_rule"`
}

// KindDetection is one attack kind's count and how many were caught.
type KindDetection struct {
	Kind     string           `json:"kind"`
	Events   int64            `json:"events"`
	Detected int64            `json:"detected"`
	Rules    map[string]int64 `json:"rules,omitempty"` // the rules that fired on them
}

// Target is one of the goals of issue 5, checked against this run.
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      *bool  `json:"met"` // nil: not measured
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// derive computes ratios, detection and targets from the measurements.
func (r *Report) derive() {
	r.deriveRatios()
	r.deriveDetection()
	r.Targets = r.targets()
}

func (r *Report) replay(rules string, oneCore bool) *Replay {
	for i := range r.Replay {
		x := &r.Replay[i]
		if x.Rules == rules && (x.Workers == 1) == oneCore && x.Measured {
			return x
		}
	}
	return nil
}

func (r *Report) fastestValidator() *Validator {
	var best *Validator
	for i := range r.Validators {
		v := &r.Validators[i]
		if v.Name == readOnlyPass {
			continue
		}
		if best == nil || v.MBPerSec > best.MBPerSec {
			best = v
		}
	}
	return best
}

func ratio(a, b float64) *float64 {
	if a <= 0 || b <= 0 {
		return nil
	}
	x := a / b
	return &x
}

func (r *Report) deriveRatios() {
	v := r.fastestValidator()
	var vMB float64
	if v != nil {
		r.Ratios.FastestValidator, vMB = v.Name, v.MBPerSec
	}
	perSet := func(rules string) (vsValidator, speedup *float64) {
		one, all := r.replay(rules, true), r.replay(rules, false)
		if one == nil {
			return nil, nil
		}
		vsValidator = ratio(one.MBPerSec, vMB)
		if all != nil {
			speedup = ratio(all.MBPerSec, one.MBPerSec)
		}
		return vsValidator, speedup
	}
	r.Ratios.UpstreamVsValidator, r.Ratios.UpstreamSpeedup = perSet("upstream")
	r.Ratios.DefaultVsValidator, r.Ratios.DefaultSpeedup = perSet("default")
}

func (r *Report) deriveDetection() {
	if r.census == nil {
		return
	}
	for _, nt := range r.tallies {
		d := Detection{Rules: nt.rules, BenignByRule: nt.t.Benign}
		for kind, n := range r.census.Attacks {
			caught := nt.t.Detected[kind]
			d.ByKind = append(d.ByKind, KindDetection{Kind: kind, Events: n, Detected: caught, Rules: nt.t.Rules[kind]})
			d.AttackEvents += n
			d.Detected += caught
		}
		sort.Slice(d.ByKind, func(i, j int) bool { return d.ByKind[i].Kind < d.ByKind[j].Kind })
		for _, n := range nt.t.Benign {
			d.BenignAlerts += n
		}
		if d.AttackEvents > 0 {
			d.Recall = float64(d.Detected) / float64(d.AttackEvents)
		}
		r.Detection = append(r.Detection, d)
	}
}
