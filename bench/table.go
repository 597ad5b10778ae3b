package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	r.tableHeader(p)
	r.tableReplay(p)
	r.tableValidators(p)
	r.tableSummary(p)
	r.tableDetection(p)
	r.tableTargets(p)
	return tw.Flush()
}

type printer func(format string, a ...any)

func (r *Report) tableHeader(p printer) {
	m := r.Machine
	p("Peregrine bench, %s (%.1f s), commit %s\n", r.Started.Format("2006-01-02 15:04 MST"), r.Seconds, m.Commit)
	p("Machine: %s; load average %.2f at start, %.2f at end\n", m.line(), m.LoadStart, m.LoadEnd)
	if m.busy() {
		p("Warning: other work was running (load average at start %.2f on %d cores): throughput and scaling read low; measure on a quiet machine.\n", m.LoadStart, m.Cores)
	}
	in := r.Input
	p("Input: %s, %s, %d events, %d lines", in.Path, humanBytes(in.Bytes), in.Events, in.Lines)
	if in.Generated {
		p(" (generated: %s, seed %d, attack share %g, %.0f MB/s)", in.Format, in.Seed, in.AttackShare, in.GenMBPerSec)
	}
	p("\n")
	if !r.Isolated {
		p("Measured in one process: peak RSS figures are the whole process's.\n")
	}
	p("\n")
}

func (r *Report) tableReplay(p printer) {
	p("REPLAY\tEVENTS/S\tMB/S\tNS/EVENT\tALLOCS/EVENT\tB/EVENT\tPEAK RSS\tALERTS\n")
	for _, x := range r.Replay {
		if !x.Measured {
			p("%s\t%s\n", x.Name, x.Note)
			continue
		}
		p("%s\t%.0f\t%.1f\t%.0f\t%.2f\t%.0f\t%s\t%d\n", x.Name, x.EventsPerSec, x.MBPerSec, x.NsPerEvent, x.AllocsPerEvent, x.AllocBytesPer, humanBytes(x.PeakRSSBytes), x.Alerts)
	}
	p("\n")
}

func (r *Report) tableValidators(p printer) {
	p("SAME BYTES, 1 CORE, LINE BY LINE\tMB/S\tSECONDS\n")
	for _, v := range r.Validators {
		p("%s\t%.1f\t%.2f\n", v.Name, v.MBPerSec, v.Seconds)
	}
	p("\n")
}

func fmtRatio(x *float64, suffix string) string {
	if x == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%s", *x, suffix)
}

func (r *Report) tableSummary(p printer) {
	q := r.Ratios
	p("Replay on 1 core / %s: upstream rules %s, default rules %s\n", q.FastestValidator, fmtRatio(q.UpstreamVsValidator, ""), fmtRatio(q.DefaultVsValidator, ""))
	p("All cores / 1 core: upstream rules %s, default rules %s\n", fmtRatio(q.UpstreamSpeedup, "×"), fmtRatio(q.DefaultSpeedup, "×"))
	s := r.Startup
	p("Start-up with the default rules (%d rules): in process best %.1f ms, median %.1f ms, first %.1f ms", s.Rules, s.InProcessBestMs, s.InProcessMedianMs, s.InProcessFirstMs)
	if s.ProcessMeasured {
		p("; peregrine validate process best %.1f ms, median %.1f ms", s.ProcessBestMs, s.ProcessMedianMs)
	} else if s.Note != "" {
		p("; %s", s.Note)
	}
	p(" (%d runs)\n", s.Runs)
	p("\n")
	r.tableWebhook(p)
}

func (r *Report) tableWebhook(p printer) {
	w := r.Webhook
	if !w.Measured {
		p("Webhook: %s\n\n", w.Note)
		return
	}
	p("WEBHOOK (%s, batches of %v events)\tEVENTS/S\tPOST→ALERT P50\tP99\tRSS\n", w.Mode, w.BatchSizes)
	p("saturated, %d clients, %d events\t%.0f\t%.2f ms\t%.2f ms\t\n", w.Clients, w.SatEvents, w.EventsPerSec, w.SatP50Ms, w.SatP99Ms)
	p("at %.0f events/s, %d events\t%.0f\t%.2f ms\t%.2f ms\t%s (peak %s)\n", w.RatePerSec, w.RateEvents, w.RateAchieved, w.P50Ms, w.P99Ms, humanBytes(w.RSSBytes), humanBytes(w.PeakRSSBytes))
	if w.Note != "" {
		p("   %s\n", w.Note)
	}
	p("\n")
}

func (r *Report) tableDetection(p printer) {
	for _, d := range r.Detection {
		p("Detection, %s rules: %d of %d attack events alerted (%.1f%%); %d alerts on benign events\n", d.Rules, d.Detected, d.AttackEvents, 100*d.Recall, d.BenignAlerts)
		var missed []string
		for _, k := range d.ByKind {
			if k.Detected < k.Events {
				missed = append(missed, fmt.Sprintf("%s %d/%d", k.Kind, k.Detected, k.Events))
			}
		}
		if len(missed) > 0 {
			p("   missed (caught/planted): %s\n", strings.Join(missed, ", "))
		}
		if len(d.BenignByRule) > 0 {
			p("   on benign events: %s\n", topRules(d.BenignByRule, 6))
		}
	}
	if len(r.Detection) > 0 {
		p("\n")
	}
}

// topRules lists the n rules with the most alerts.
func topRules(m map[string]uint64, n int) string {
	type kv struct {
		k string
		v uint64
	}
	var s []kv
	for k, v := range m {
		s = append(s, kv{k, v})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].v > s[j].v || s[i].v == s[j].v && s[i].k < s[j].k })
	var parts []string
	for i, x := range s {
		if i == n {
			parts = append(parts, fmt.Sprintf("%d more rules", len(s)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", x.k, x.v))
	}
	return strings.Join(parts, ", ")
}

func (r *Report) tableTargets(p printer) {
	p("TARGET\tGOAL\tMEASURED\tMET\n")
	for _, t := range r.Targets {
		verdict := "not measured"
		if t.Met != nil {
			verdict = map[bool]string{true: "yes", false: "NO"}[*t.Met]
		}
		p("%s\t%s\t%s\t%s\n", t.Name, t.Goal, t.Measured, verdict)
	}
}

func humanBytes(n int64) string {
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
