// Package daemontest runs a real daemon (daemon.Run) inside a test, over a
// falco.yaml, as the sources' end-to-end tests need: configuration and
// rules are loaded as `peregrine run` loads them, and the test gets a
// handle to wait on and stop it.
package daemontest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/daemon"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
	"github.com/peregrine-sec/peregrine/source"
)

// Options say what to run.
type Options struct {
	// Config is the path of the falco.yaml.
	Config string
	// Rules is rules text to load; without it, the config's rules_files,
	// or the embedded default rules when it names none.
	Rules string
	// Openers are the sources the daemon may open, by plugin name.
	Openers map[string]source.Opener
	// Stdout receives stdout_output (default: discarded).
	Stdout *os.File
}

// Running is a daemon started by Start.
type Running struct {
	// D is the daemon, for its bound addresses and sources.
	D      *daemon.Daemon
	done   chan error
	cancel context.CancelFunc
	err    error
	ended  bool
}

// Start runs the daemon until Stop or the end of the test, and returns
// once its sources listen.
func Start(t testing.TB, o Options) *Running {
	t.Helper()
	r := &Running{done: make(chan error, 1)}
	ready := make(chan *daemon.Daemon, 1)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	opts := daemon.Options{Load: load(o), Openers: o.Openers, Stdout: o.Stdout,
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ready: func(d *daemon.Daemon) { ready <- d }}
	go func() { r.done <- daemon.Run(ctx, opts) }()
	select {
	case r.D = <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("daemon did not start")
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	return r
}

// Stop cancels the daemon and returns what Run returned; it waits at most
// 30 s and may be called again.
func (r *Running) Stop() error {
	if r.ended {
		return r.err
	}
	r.cancel()
	select {
	case r.err = <-r.done:
	case <-time.After(30 * time.Second):
		r.err = errors.New("the daemon did not stop within 30 s")
	}
	r.ended = true
	return r.err
}

// Exited returns Run's error when the daemon stopped by itself, without
// waiting; ok is false while it runs.
func (r *Running) Exited() (err error, ok bool) {
	if r.ended {
		return r.err, true
	}
	select {
	case r.err = <-r.done:
		r.ended = true
		return r.err, true
	default:
		return nil, false
	}
}

func load(o Options) func() (*daemon.Loaded, error) {
	return func() (*daemon.Loaded, error) {
		// The webserver (on by default, on :8765) listens on a free loopback
		// port: test packages run in parallel, and a fixed port would
		// collide.
		cfg, err := config.Load(o.Config, []string{"webserver.listen_port=0", "webserver.listen_address=127.0.0.1"})
		if err != nil {
			return nil, err
		}
		srcs, err := ruleSources(o.Rules, cfg)
		if err != nil {
			return nil, err
		}
		col, rep := rules.Load(srcs, rules.Options{})
		if err := rep.Err(); err != nil {
			return nil, err
		}
		col.Apply(cfg.Selectors)
		opts := engine.DefaultOptions()
		opts.MatchAll, opts.MinPriority = cfg.MatchAll, cfg.Priority
		eng := engine.New(col, opts, rep)
		if eng == nil {
			return nil, rep.Err()
		}
		f := output.DefaultFormat()
		f.JSON = cfg.JSONOutput
		return &daemon.Loaded{Config: cfg, Engine: eng, Format: f}, nil
	}
}

func ruleSources(text string, cfg *config.Config) ([]rules.Source, error) {
	switch {
	case text != "":
		return []rules.Source{{Name: "test-rules.yaml", Data: []byte(text)}}, nil
	case len(cfg.RulesFiles) > 0:
		srcs, _, err := rules.ReadPaths(cfg.RulesFiles, false)
		return srcs, err
	}
	return defaultrules.Sources(), nil
}
