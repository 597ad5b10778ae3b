package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/peregrine-sec/peregrine/gen"
)

// Config says what to measure and where.
type Config struct {
	// Input is an existing audit file to measure; empty: generate one.
	Input string
	// Size is how many bytes to generate (default 1 GiB).
	Size int64
	// Format, Seed and AttackShare shape the generated input.
	Format      gen.Format
	Seed        uint64
	AttackShare float64
	// Dir holds the generated input (default $TMPDIR/peregrine-bench). The
	// file is removed at the end unless Keep.
	Dir  string
	Keep bool
	// Shared is the shared data directory holding
	// upstream/rules/k8saudit/k8s_audit_rules.yaml.
	Shared string
	// Workers is the worker count of the all-cores runs (default NumCPU).
	Workers int
	// StartupRuns is how many times start-up is measured (default 10).
	StartupRuns int
	// Self starts this program in child mode (see IsChild); empty: measure
	// in this process.
	Self []string
	// Validate is the command that runs `peregrine validate` (the bench
	// adds -c with an empty configuration, so the default rules load);
	// empty: process start-up is not measured.
	Validate []string
	// Run is the command that runs `peregrine run` (the bench adds -c
	// with a generated configuration) for the webhook measurement; empty:
	// the webhook is measured in process (source/webhook/webhooktest).
	Run []string
	// Quick marks the report as a short CI run (and shortens the webhook
	// runs to about a second).
	Quick bool
	// Log receives progress lines; nil: none.
	Log io.Writer
}

func (c Config) withDefaults() Config {
	if c.Size == 0 {
		c.Size = 1 << 30
	}
	if c.Dir == "" {
		c.Dir = filepath.Join(os.TempDir(), "peregrine-bench")
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.StartupRuns == 0 {
		c.StartupRuns = 10
	}
	if c.Shared == "" {
		c.Shared = FindShared()
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// UpstreamRules is where the upstream k8saudit rules are found below the
// shared directory.
const UpstreamRules = "upstream/rules/k8saudit/k8s_audit_rules.yaml"

// Run measures everything the report holds.
func Run(cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	rep := &Report{Schema: 1, Started: time.Now().UTC(), Quick: cfg.Quick, Isolated: len(cfg.Self) > 0, Machine: machineInfo()}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	cleanup, err := prepareInput(&cfg, rep)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	run := runner{self: cfg.Self}
	steps := []struct {
		what string
		f    func(Config, runner, *Report) error
	}{
		{"start-up", measureStartupStep},
		{"validators (reads the input, warms the page cache)", measureValidatorsStep},
		{"replays", measureReplays},
		{"webhook", measureWebhook},
	}
	for _, s := range steps {
		fmt.Fprintf(cfg.Log, "bench: %s\n", s.what)
		if err := s.f(cfg, run, rep); err != nil {
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	rep.derive()
	rep.Machine.LoadEnd = loadAverage()
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// prepareInput generates the input unless one was given, and returns what
// removes it afterwards.
func prepareInput(cfg *Config, rep *Report) (cleanup func(), err error) {
	cleanup = func() {}
	if cfg.Input != "" {
		st, err := os.Stat(cfg.Input)
		if err != nil {
			return cleanup, err
		}
		rep.Input = Input{Path: cfg.Input, FileBytes: st.Size()}
		return cleanup, nil
	}
	o := gen.DefaultOptions()
	o.Seed, o.Size, o.Format, o.AttackShare = cfg.Seed, cfg.Size, cfg.Format, cfg.AttackShare
	name := fmt.Sprintf("input-seed%d-%d.%s", o.Seed, o.Size, o.Format)
	cfg.Input = filepath.Join(cfg.Dir, name)
	fmt.Fprintf(cfg.Log, "bench: generating %s (%d bytes)\n", cfg.Input, o.Size)
	stats, secs, err := generate(cfg.Input, o)
	if !cfg.Keep {
		cleanup = func() { os.Remove(cfg.Input) }
	}
	if err != nil {
		return cleanup, err
	}
	rep.Input = Input{Path: cfg.Input, Generated: true, Kept: cfg.Keep, Format: o.Format.String(), Seed: o.Seed, AttackShare: o.AttackShare,
		FileBytes: stats.Bytes, GenSeconds: secs, GenMBPerSec: float64(stats.Bytes) / 1e6 / secs}
	return cleanup, nil
}

func generate(path string, o gen.Options) (gen.Stats, float64, error) {
	g, err := gen.New(o)
	if err != nil {
		return gen.Stats{}, 0, err
	}
	f, err := os.Create(path)
	if err != nil {
		return gen.Stats{}, 0, err
	}
	start := time.Now()
	_, err = g.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return g.Stats(), time.Since(start).Seconds(), err
}

func measureStartupStep(cfg Config, _ runner, rep *Report) error {
	var validate []string
	if len(cfg.Validate) > 0 {
		empty := filepath.Join(cfg.Dir, "empty-config.yaml")
		if err := os.WriteFile(empty, []byte("# no rules_files: the embedded default rules load\n"), 0o644); err != nil {
			return err
		}
		defer os.Remove(empty)
		validate = append(append(validate, cfg.Validate...), "-c", empty)
	}
	s, err := measureStartup(cfg.StartupRuns, validate)
	rep.Startup = s
	return err
}

func measureValidatorsStep(cfg Config, run runner, rep *Report) error {
	res, err := run.run(task{Kind: "validators", Input: cfg.Input, Procs: 1})
	if err != nil {
		return err
	}
	rep.Validators = res.Validators
	rep.census = res.Census
	for _, v := range res.Validators {
		if v.Name == readOnlyPass {
			rep.Input.Bytes, rep.Input.Lines = v.Bytes, v.Lines
		}
	}
	rep.Input.Events = res.Census.Events
	return nil
}

// measureReplays runs each rule set on one core and on all cores.
func measureReplays(cfg Config, run runner, rep *Report) error {
	upstream := filepath.Join(cfg.Shared, UpstreamRules)
	sets := []struct {
		name  string
		rules []string
		note  string
	}{
		{"upstream", []string{upstream}, ""},
		{"default", nil, ""},
	}
	if _, err := os.Stat(upstream); err != nil {
		sets[0].note = "skipped: " + upstream + " not found (set --shared)"
	}
	cores := runtime.NumCPU()
	for _, s := range sets {
		for _, workers := range []int{1, max(cfg.Workers, 2)} {
			r, err := replayRun(cfg, run, rep, s.name, s.rules, s.note, workers, cores)
			if err != nil {
				return err
			}
			rep.Replay = append(rep.Replay, r)
		}
	}
	return nil
}

func replayRun(cfg Config, run runner, rep *Report, set string, rules []string, note string, workers, cores int) (Replay, error) {
	procs, name := 1, set+" rules, 1 core"
	if workers > 1 {
		procs, name = cores, fmt.Sprintf("%s rules, %d cores", set, cores)
	}
	skipped := Replay{Name: name, Rules: set, Cores: procs, Workers: workers, Note: note}
	if note != "" {
		return skipped, nil
	}
	if workers > 1 && cores < 2 {
		skipped.Note = "not measured: this machine has one core"
		return skipped, nil
	}
	fmt.Fprintf(cfg.Log, "bench: replay, %s\n", name)
	res, err := run.run(task{Kind: "replay", Input: cfg.Input, Rules: rules, Workers: workers, Procs: procs, Tally: workers == 1})
	if err != nil {
		return skipped, err
	}
	r := *res.Replay
	r.Name, r.Rules = name, set
	r.finish(rep.Input.Bytes, res.PeakRSS)
	if !run.isolated() {
		r.Note = "peak RSS is the bench process's, not this run's alone"
	}
	if res.Tally != nil {
		rep.tallies = append(rep.tallies, namedTally{set, res.Tally})
	}
	return r, nil
}
