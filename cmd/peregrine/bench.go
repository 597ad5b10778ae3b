package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/peregrine-sec/peregrine/bench"
	"github.com/peregrine-sec/peregrine/gen"
)

type benchFlags struct {
	size, input, shared, out, dir, format string
	seed                                  uint64
	attackShare                           float64
	workers, startupRuns                  int
	quick, keep, inProcess                bool
}

// quickSize is the input of --quick: a few seconds for everything.
const quickSize = 8 << 20

func benchCmd() *cobra.Command {
	f := &benchFlags{}
	c := &cobra.Command{
		Use:   "bench [--size SIZE | --input FILE] [--out FILE] [--quick]",
		Short: "Measure replay speed, allocations, memory and start-up; write a report",
		Long: `Generate one input (or use --input), then measure on it, in one run: replay
with the upstream k8s_audit rules (from --shared) and with the default rules, on
one core and on all cores (events/s, MB/s, ns and allocations per event, peak
RSS); start-up to ready with the default rules; and encoding/json.Valid and
fastjson.ValidateBytes over the same bytes, line by line on one core; and the
webhook: a ` + "`peregrine run`" + ` child fed pre-encoded EventList batches over loopback
(events/s at saturation, p50/p99 from POST to alert written at 50,000 events/s,
RSS). Each measurement runs in its own child process so that its peak RSS is its
own.

Prints a table and writes the report as JSON to --out. --quick measures a
small input in a few seconds, for CI.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if bench.IsChild() {
				return bench.Child(os.Stdout)
			}
			return f.run(c)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.size, "size", "1GiB", "size of the generated input")
	fl.StringVar(&f.input, "input", "", "measure this audit file instead of generating one")
	fl.StringVar(&f.shared, "shared", "", "shared data directory with upstream/ (default: $PEREGRINE_SHARED, else ../shared beside the repository)")
	fl.StringVar(&f.out, "out", "bench-report.json", "where to write the JSON report")
	fl.StringVar(&f.dir, "dir", "", "directory for the generated input (default $TMPDIR/peregrine-bench)")
	fl.StringVar(&f.format, "format", "jsonl", "generated input format: jsonl or eventlist")
	fl.Uint64Var(&f.seed, "seed", 1, "generator seed")
	fl.Float64Var(&f.attackShare, "attack-share", gen.DefaultAttackShare, "share of attack events in the generated input")
	fl.IntVar(&f.workers, "workers", 0, "workers of the all-cores runs (default: the number of CPUs)")
	fl.IntVar(&f.startupRuns, "startup-runs", 10, "start-up measurements (best and median are reported)")
	fl.BoolVar(&f.quick, "quick", false, "small input and few runs: a few seconds, for CI")
	fl.BoolVar(&f.keep, "keep", false, "keep the generated input")
	fl.BoolVar(&f.inProcess, "in-process", false, "measure in this process (peak RSS is then the whole process's; the webhook through source/webhook/webhooktest)")
	return c
}

func (f *benchFlags) config(c *cobra.Command) (bench.Config, error) {
	cfg := bench.Config{Input: f.input, Shared: f.shared, Dir: f.dir, Keep: f.keep, Seed: f.seed, AttackShare: f.attackShare,
		Workers: f.workers, StartupRuns: f.startupRuns, Quick: f.quick, Log: os.Stderr}
	var err error
	if cfg.Format, err = gen.ParseFormat(f.format); err != nil {
		return cfg, err
	}
	if cfg.Size, err = gen.ParseSize(f.size); err != nil {
		return cfg, err
	}
	if f.quick {
		if !c.Flags().Changed("size") {
			cfg.Size = quickSize
		}
		if !c.Flags().Changed("startup-runs") {
			cfg.StartupRuns = 3
		}
	}
	if !f.inProcess {
		exe, err := os.Executable()
		if err != nil {
			return cfg, err
		}
		cfg.Self, cfg.Validate, cfg.Run = []string{exe, "bench"}, []string{exe, "validate"}, []string{exe, "run"}
	}
	return cfg, nil
}

func (f *benchFlags) run(c *cobra.Command) error {
	cfg, err := f.config(c)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	rep, err := bench.Run(cfg)
	if err != nil {
		return err
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		return err
	}
	out, err := os.Create(f.out)
	if err != nil {
		return err
	}
	if err := rep.WriteJSON(out); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: report written to %s\n", f.out)
	return nil
}
