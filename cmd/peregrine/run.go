package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/daemon"
)

func runCmd() *cobra.Command {
	f := &engineFlags{}
	c := &cobra.Command{
		Use:   "run [-c CONFIG] [-r RULES]... [-o KEY=VALUE]... [--json]",
		Short: "Run the daemon: receive audit events (webhook, followed files) and send alerts to the outputs",
		Long: `Run the detection daemon.

With no configuration it listens for kube-apiserver's audit webhook on
:9765 at /k8s-audit, evaluates the embedded rules and prints alerts on
stdout; /healthz and /metrics are on :8765. SIGTERM or SIGINT drains and
stops; SIGHUP reloads the configuration and rules (a broken reload keeps
the running ones). See docs/DAEMON.md.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runDaemon(f) },
	}
	f.add(c)
	c.Flags().BoolVar(&f.json, "json", false, "write alerts as JSON (json_output: true)")
	return c
}

func runDaemon(f *engineFlags) error {
	first, err := buildLoaded(f)
	if err != nil {
		return err
	}
	log := newLogger(first.Config.Daemon)
	slog.SetDefault(log)
	calls := 0
	load := func() (*daemon.Loaded, error) {
		calls++
		if calls == 1 {
			return first, nil // already loaded, to pick the logger
		}
		return buildLoaded(f)
	}
	if err := daemon.Run(context.Background(), daemon.Options{Load: load, Log: log, Openers: openers()}); err != nil {
		return invalid(err)
	}
	return nil
}

// buildLoaded loads configuration and rules as replay and validate do.
func buildLoaded(f *engineFlags) (*daemon.Loaded, error) {
	l, err := f.load()
	if err != nil {
		return nil, err
	}
	eng := l.eng
	if eng == nil {
		var b bytes.Buffer
		l.printDiags(&b, false)
		return nil, invalid(fmt.Errorf("rules did not load:\n%s", strings.TrimRight(b.String(), "\n")))
	}
	watch := append([]string(nil), l.cfg.Files...)
	for _, s := range l.sources {
		if !strings.HasPrefix(s.Name, "<") { // not embedded
			watch = append(watch, s.Name)
		}
	}
	return &daemon.Loaded{Config: l.cfg, Engine: eng, Format: l.outputFormat(f.json), Watch: watch,
		Warnings: l.warningLines()}, nil
}

// newLogger logs to stderr, as text or JSON (peregrine.log_format), at
// log_level.
func newLogger(d config.Daemon) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(d.LogLevel) {
	case "debug":
		level = slog.LevelDebug
	case "notice", "info", "informational":
	case "warning", "warn":
		level = slog.LevelWarn
	case "error", "critical", "alert", "emergency":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if d.Peregrine.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
