package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/replay"
)

type replayFlags struct {
	engineFlags
	history      historyFlags
	strict       bool
	format       string
	cluster      string
	maxEventSize int
	quiet        bool
	workers      int
	cpuProfile   string
	memProfile   string
}

func replayCmd() *cobra.Command {
	f := &replayFlags{}
	c := &cobra.Command{
		Use:   "replay [flags] PATH...|-  |  replay -c CONFIG --source NAME --since TIME [--until TIME]",
		Short: "Evaluate audit log files (or stdin) and print alerts, then a summary on stderr",
		Long: `Evaluate recorded Kubernetes audit events against the rules and print alerts.

Inputs: audit JSON lines, EventList documents, JSON arrays, pretty-printed or
concatenated documents, .gz files, directories (recursive, oldest file first)
and - for stdin. Without -r the rules_files of -c, else the embedded default
rules, are used; -r '<default>' names the embedded rules, so that
-r '<default>' -r mine.yaml layers your file over them.`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := f.check(args); err != nil {
				return err
			}
			return f.run(args)
		},
	}
	f.add(c)
	c.Flags().BoolVar(&f.json, "json", false, "print alerts as JSON (json_output: true)")
	c.Flags().BoolVar(&f.strict, "strict", false, "exit 1 when any input was malformed")
	c.Flags().StringVar(&f.format, "format", "", "force the input format: "+strings.Join(formatNames(), ", ")+" (default: sniffed per document)")
	c.Flags().StringVar(&f.cluster, "cluster", "", "ka.cluster.name for events that carry none (wins over the cluster a cloud record names)")
	c.Flags().IntVar(&f.maxEventSize, "max-event-size", 64<<20, "largest accepted event in bytes")
	c.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "no summary on stderr")
	c.Flags().StringVar(&f.history.source, "source", "", "replay a configured source's history (needs -c and --since)")
	c.Flags().StringVar(&f.history.since, "since", "", "with --source: start time (RFC 3339, or a duration ago such as 2h)")
	c.Flags().StringVar(&f.history.until, "until", "", "with --source: end time (default: now)")
	c.Flags().IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "goroutines evaluating events (alerts stay in input order)")
	c.Flags().StringVar(&f.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the replay to this file")
	c.Flags().StringVar(&f.memProfile, "memprofile", "", "write a pprof allocation profile (every allocation sampled) to this file")
	return c
}

// check refuses what cannot be what the user meant before anything is
// read: a usage error (exit 2), or an input path that does not exist
// (exit 1, so a typo in a script is not mistaken for "no alerts").
func (f *replayFlags) check(paths []string) error {
	usage := func(format string, a ...any) error {
		return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
	}
	switch {
	case len(paths) > 0 && f.history.source != "":
		return usage("input paths and --source exclude each other: replay files, or a configured source's history")
	case len(paths) == 0 && f.history.source == "":
		return usage("replay needs input paths (or - for stdin), or --source with -c")
	case f.history.source != "" && f.config == "":
		return usage("--source names a plugins entry of a configuration: give it with -c")
	case f.history.source == "" && (f.history.since != "" || f.history.until != ""):
		return usage("--since and --until apply to --source; files are replayed whole")
	case f.workers < 1:
		return usage("--workers must be at least 1")
	case f.maxEventSize < 1:
		return usage("--max-event-size must be at least 1 byte")
	}
	for _, p := range paths {
		if p == "-" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return &exitError{code: exitInvalid, err: err}
		}
	}
	return nil
}

func (f *replayFlags) run(paths []string) error {
	defer replay.TuneGC()()
	ropts := audit.Options{MaxEventSize: f.maxEventSize, Cluster: f.cluster}
	if err := formatOptions(f.format, &ropts); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	l, err := f.load()
	if err != nil {
		return err
	}
	if l.eng == nil {
		l.printDiags(os.Stderr, false)
		return &exitError{code: exitInvalid}
	}
	for _, n := range l.notes {
		fmt.Fprintln(os.Stderr, "warning:", n)
	}
	sum := replay.NewSummary()
	malformed := false
	onProblem := func(p audit.Problem) {
		malformed = true
		fmt.Fprintln(os.Stderr, "peregrine:", p.Error())
	}
	prog := &replay.Progress{}
	var run func(emit func(*engine.Alert) error) error
	if f.history.source != "" {
		it, err := f.history.open(l.cfg)
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		defer it.Close()
		// Skipped records count, print and fail --strict as a file's do. Only
		// the goroutine calling Next reports, and the summary is read after it ends.
		it.OnProblem(func(p audit.Problem) { sum.Skip(p.Reason); onProblem(p) })
		src := &countingSource{src: it, p: prog}
		run = func(emit func(*engine.Alert) error) error {
			return replay.RunParallel(l.eng, src, f.workers, sum, emit)
		}
	} else {
		sp := audit.NewSplitter(paths, os.Stdin, 0)
		defer sp.Close()
		o := replay.Blocks{Workers: f.workers, Decode: ropts, OnProblem: onProblem, Progress: prog}
		run = func(emit func(*engine.Alert) error) error {
			return replay.RunBlocks(l.eng, sp, o, sum, emit)
		}
	}
	stop := startProgress(prog, paths)
	stopProfiles, err := startProfiles(f.cpuProfile, f.memProfile)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	err = f.evaluate(l, run, slices.Contains(paths, "-"))
	if perr := stopProfiles(); err == nil && perr != nil {
		err = perr
	}
	stop()
	if !f.quiet {
		sum.Write(os.Stderr)
	}
	if err != nil {
		return invalid(err)
	}
	if f.strict && malformed {
		return &exitError{code: exitInvalid, err: fmt.Errorf("malformed input (--strict)")}
	}
	return nil
}

// evaluate runs the replay, writing alerts to standard output as the
// configuration says.
// With stdin among the inputs (a pipe from `tail -f`, say), each alert is
// written at once rather than when the buffer fills.
func (f *replayFlags) evaluate(l *loaded, run func(emit func(*engine.Alert) error) error, live bool) error {
	enc := l.outputFormat(f.json)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	var buf []byte
	emit := func(a *engine.Alert) error {
		if !l.cfg.StdoutOutput {
			return nil
		}
		buf = enc.Append(buf[:0], a)
		if _, err := out.Write(buf); err != nil || !live {
			return err
		}
		return out.Flush()
	}
	err := run(emit)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}

// countingSource counts what passes, for the progress line.
type countingSource struct {
	src replay.EventSource
	p   *replay.Progress
}

func (c *countingSource) Next() (*audit.Event, error) {
	ev, err := c.src.Next()
	if ev != nil {
		c.p.Events.Add(1)
		c.p.Bytes.Add(uint64(len(ev.Raw)))
	}
	return ev, err
}

// startProgress prints a progress line every second on a terminal when the
// input is large; it returns a function that stops it.
func startProgress(c *replay.Progress, paths []string) func() {
	st, err := os.Stderr.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 || inputSize(paths) < 64<<20 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(os.Stderr, "\r\033[K")
				return
			case <-t.C:
				secs := time.Since(start).Seconds()
				fmt.Fprintf(os.Stderr, "\r\033[K%d events, %.0f MB/s", c.Events.Load(), float64(c.Bytes.Load())/1e6/secs)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// inputSize adds up the sizes of the named files and directories; stdin
// counts as large.
func inputSize(paths []string) int64 {
	var n int64
	for _, p := range paths {
		if p == "-" {
			return 1 << 62
		}
		_ = filepath.Walk(p, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				n += fi.Size()
			}
			return nil
		})
	}
	return n
}
