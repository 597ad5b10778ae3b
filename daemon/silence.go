package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/rules"
)

// SilenceRule is the rule name of the alert a silent source raises.
const SilenceRule = "Audit source silent"

// watchSilence raises an alert, once per silence, for each source that
// received no event for peregrine.source_silence.timeout, and shows it on
// peregrine_source_silent: a blinded detector (a broken webhook
// configuration, a dead log shipper) must be noticed.
func (d *Daemon) watchSilence(ctx context.Context, pc config.Peregrine) {
	if pc.SilenceTimeout <= 0 {
		return
	}
	prio, ok := rules.ParsePriority(pc.SilencePriority)
	if !ok {
		prio = rules.Warning
	}
	every := min(max(pc.SilenceTimeout/10, 10*time.Millisecond), 10*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	silent := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, s := range d.sources {
				d.checkSilence(ctx, s.Name(), now, pc.SilenceTimeout, prio, silent)
			}
		}
	}
}

func (d *Daemon) checkSilence(ctx context.Context, name string, now time.Time, timeout time.Duration, prio rules.Priority, silent map[string]bool) {
	last := d.m.Source(name).LastReceived()
	quiet := now.Sub(last)
	gauge := d.m.SourceSilent.WithLabelValues(name)
	if quiet < timeout {
		if silent[name] {
			d.log.Info("source receives events again", "source", name)
		}
		silent[name] = false
		gauge.Set(0)
		return
	}
	gauge.Set(1)
	if silent[name] {
		return
	}
	silent[name] = true
	d.log.Warn("source silent", "source", name, "for", quiet.Round(time.Second))
	a := silenceAlert(name, now, quiet.Round(time.Second), prio)
	g := d.pipe.Current()
	_ = g.Router.Route(ctx, &output.Item{Alert: a, Line: g.Format.Append(nil, a)})
}

// silenceAlert builds the alert in the shape of a rule's, so outputs and
// Falcosidekick treat it like any other.
func silenceAlert(src string, now time.Time, quiet time.Duration, prio rules.Priority) *engine.Alert {
	msg := fmt.Sprintf("No audit events received from source %s for %s (source=%s silent_seconds=%d)",
		src, quiet, src, int64(quiet.Seconds()))
	line := now.Local().Format("15:04:05.000000000") + ": " + prio.String() + " " + msg
	return &engine.Alert{
		Time: now.UnixNano(), Rule: SilenceRule, Priority: prio, Source: "internal",
		Tags: []string{"peregrine", "source_silence"}, Output: line, Message: msg,
		Fields: []engine.OutputField{
			{Name: "evt.time", Kind: engine.ValueNumber, Num: uint64(now.UnixNano())},
			{Name: "peregrine.silent_seconds", Kind: engine.ValueNumber, Num: uint64(quiet.Seconds())},
			{Name: "peregrine.source", Kind: engine.ValueString, Str: src},
		},
	}
}
