package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/peregrine-sec/peregrine/gen"
)

type genFlags struct {
	size, format, out, start string
	events                   int64
	seed                     uint64
	attackShare, rate        float64
	nodes                    int
	quiet                    bool
}

func genCmd() *cobra.Command {
	f := &genFlags{}
	c := &cobra.Command{
		Use:   "gen [--size SIZE | --events N] [-o FILE]",
		Short: "Generate realistic Kubernetes audit traffic with a share of planted attacks",
		Long: `Generate audit.k8s.io/v1 events as a busy cluster's API server writes them:
mostly get/list/watch by kubelets and controllers, lease and event updates,
RequestResponse writes with full bodies, occasional 100 KiB–1 MiB objects, and a
share of attacks (each marked with the annotation "` + gen.AttackAnnotation + `").
The same --seed gives the same bytes. Output is JSON lines, or EventList batches
of 1–400 events as the webhook backend sends them (--format eventlist); a FILE
ending in .gz is gzip-compressed. Without --size or --events, 1000 events.

SIZE takes B, KB, MB, GB (powers of 1000) or K, KiB, M, MiB, G, GiB (powers of
1024); it counts uncompressed bytes and ends at a whole event or batch.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return f.run() },
	}
	fl := c.Flags()
	fl.StringVar(&f.size, "size", "", "stop after this many bytes (e.g. 1GiB)")
	fl.Int64Var(&f.events, "events", 0, "stop after this many events")
	fl.StringVar(&f.format, "format", "jsonl", "jsonl or eventlist")
	fl.StringVarP(&f.out, "output", "o", "-", "output file (.gz: compressed); - for stdout")
	fl.Uint64Var(&f.seed, "seed", 1, "seed: the same seed gives the same traffic")
	fl.Float64Var(&f.attackShare, "attack-share", gen.DefaultAttackShare, "probability that an event is an attack")
	fl.IntVar(&f.nodes, "nodes", 50, "nodes in the simulated cluster")
	fl.Float64Var(&f.rate, "rate", 2000, "simulated events per second (spaces the timestamps)")
	fl.StringVar(&f.start, "start", "", "time of the first event, RFC 3339 (default 2026-03-02T09:00:00Z)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no summary on stderr")
	return c
}

func (f *genFlags) options() (gen.Options, error) {
	o := gen.DefaultOptions()
	var err error
	if o.Format, err = gen.ParseFormat(f.format); err != nil {
		return o, err
	}
	if f.size != "" {
		if o.Size, err = gen.ParseSize(f.size); err != nil {
			return o, err
		}
	}
	if f.start != "" {
		if o.Start, err = time.Parse(time.RFC3339Nano, f.start); err != nil {
			return o, fmt.Errorf("--start: %w", err)
		}
	}
	o.Events, o.Seed, o.AttackShare, o.Nodes, o.Rate = f.events, f.seed, f.attackShare, f.nodes, f.rate
	return o, nil
}

func (f *genFlags) run() error {
	o, err := f.options()
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	g, err := gen.New(o)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	start := time.Now()
	if err := writeGenerated(g, f.out); err != nil {
		return err
	}
	if !f.quiet {
		writeGenSummary(os.Stderr, g.Stats(), time.Since(start))
	}
	return nil
}

// writeGenerated writes g's events to path ("-": stdout), gzip-compressed
// when the name ends in .gz. Compression is then the bottleneck (tens of
// MB/s); BestSpeed makes it the least one, and audit JSON still shrinks
// about tenfold.
func writeGenerated(g *gen.Generator, path string) (err error) {
	var w io.Writer = os.Stdout
	if path != "-" {
		file, ferr := os.Create(path) // not err: the deferred Close sets the result
		if ferr != nil {
			return ferr
		}
		defer func() {
			if cerr := file.Close(); err == nil {
				err = cerr
			}
		}()
		w = file
	}
	if strings.HasSuffix(path, ".gz") {
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer func() {
			if cerr := zw.Close(); err == nil {
				err = cerr
			}
		}()
		w = zw
	}
	_, err = g.WriteTo(w) // buffered inside
	return err
}

func writeGenSummary(w io.Writer, s gen.Stats, d time.Duration) {
	fmt.Fprintf(w, "Generated %d events, %s in %.1fs (%.0f MB/s)", s.Events, humanSize(s.Bytes), d.Seconds(), float64(s.Bytes)/1e6/d.Seconds())
	if s.Batches > 0 {
		fmt.Fprintf(w, ", %d EventList batches", s.Batches)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "By class: %s\n", countList(s.ByClass))
	var attacks int64
	for _, n := range s.Attacks {
		attacks += n
	}
	fmt.Fprintf(w, "Attacks: %d (annotation %s)\n", attacks, gen.AttackAnnotation)
}

func countList(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
