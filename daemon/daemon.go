package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/k8saudit"
)

// Options configure Run.
type Options struct {
	// Load reads the configuration and rules; Run calls it at start and on
	// every reload.
	Load func() (*Loaded, error)
	Log  *slog.Logger
	// Stdout receives stdout_output (default os.Stdout).
	Stdout *os.File
	// Openers build sources by plugin name (default: Openers(), the
	// k8saudit source alone).
	Openers map[string]source.Opener
	// Ready, when set, is called once every source listens, with the
	// daemon (tests read the bound addresses from it).
	Ready func(*Daemon)
}

// Openers are the sources the daemon package itself provides: the k8saudit
// webhook and files. The command adds the cloud sources and Kafka
// (cmd/peregrine/sources.go), so that importing the daemon does not compile
// every cloud SDK.
func Openers() map[string]source.Opener {
	return map[string]source.Opener{"k8saudit": k8saudit.Open}
}

// Daemon is a running `peregrine run`.
type Daemon struct {
	o       Options
	log     *slog.Logger
	m       *metrics.Metrics
	pipe    *Pipeline
	sources []source.Source
	web     *webServer
	reload  sync.Mutex
	watch   []string
	// started is what applies only at start (startSettings); a reload
	// that changes it says a restart is needed.
	started string

	state   sync.Mutex
	failed  map[string]error // sources whose Run returned an error
	running int
}

// Metrics returns the daemon's metrics.
func (d *Daemon) Metrics() *metrics.Metrics { return d.m }

// Sources returns the running sources.
func (d *Daemon) Sources() []source.Source { return d.sources }

// WebAddr returns the webserver's bound address ("" when disabled).
func (d *Daemon) WebAddr() string {
	if d.web == nil {
		return ""
	}
	return d.web.ln.Addr().String()
}

// Run runs the daemon until ctx ends or SIGTERM/SIGINT, then drains; it
// returns nil after a clean stop. SIGHUP reloads.
func Run(ctx context.Context, o Options) error {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Openers == nil {
		o.Openers = Openers()
	}
	// Signals are caught from the start, so a SIGTERM during startup is
	// a graceful stop too, not the default death.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sig)
	l, err := o.Load()
	if err != nil {
		return err
	}
	d := &Daemon{o: o, log: o.Log, m: metrics.New(), failed: map[string]error{}, watch: l.Watch, started: startSettings(l.Config)}
	d.logLoaded(l)
	g, err := newGeneration(l, d.m, d.log, o.Stdout)
	if err != nil {
		return err
	}
	pc := l.Config.Daemon.Peregrine
	d.pipe = NewPipeline(g, pc.Workers, d.m, d.log)
	if err := d.start(l.Config); err != nil {
		d.pipe.Stop()
		Retire(expired(), g)
		return err
	}
	if o.Ready != nil {
		o.Ready(d)
	}
	return d.loop(ctx, l.Config, sig)
}

// start opens and runs the sources and the webserver.
func (d *Daemon) start(cfg *config.Config) error {
	srcs, err := d.openSources(cfg)
	if err != nil {
		return err
	}
	d.sources = srcs
	if cfg.Daemon.Webserver.Enabled {
		if d.web, err = d.newWebServer(cfg); err != nil {
			closeAll(d.sources)
			return err
		}
	}
	for _, s := range d.sources {
		if l, ok := s.(interface{ Listen() error }); ok {
			if err := l.Listen(); err != nil {
				closeAll(d.sources)
				return err
			}
		}
	}
	for _, s := range d.sources {
		d.logSource(s)
	}
	return nil
}

// logSource says where a source reads, when it can tell.
func (d *Daemon) logSource(s source.Source) {
	switch w := s.(type) {
	case interface{ URL() string }:
		d.log.Info("source listening", "source", s.Name(), "url", w.URL())
	case interface{ Path() string }:
		d.log.Info("source reading", "source", s.Name(), "path", w.Path())
	default:
		d.log.Info("source opened", "source", s.Name())
	}
}

func closeAll(srcs []source.Source) {
	for _, s := range srcs {
		s.Close()
	}
}

// openSources builds the sources of every loaded plugin. With no plugins
// configured at all, it is the k8saudit webhook on :9765/k8s-audit,
// unless the legacy webserver endpoint (seed 004) is the source: a second
// listener nobody posts to would only be an open port and a silent source.
func (d *Daemon) openSources(cfg *config.Config) ([]source.Source, error) {
	plugins := cfg.Loaded()
	legacy := cfg.Daemon.Webserver.Enabled && cfg.Daemon.Webserver.LegacyAuditSource
	if len(cfg.Plugins) == 0 && !legacy {
		plugins = []config.Plugin{{Name: "k8saudit", OpenParams: k8saudit.DefaultOpenParams}}
	}
	var out []source.Source
	for _, p := range plugins {
		if p.Name == "json" {
			continue // its fields are built in
		}
		s, err := d.openPlugin(cfg, p)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, s...)
	}
	if legacy {
		h, err := d.legacyHandler(cfg)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no event source: load_plugins names none of the k8saudit family")
	}
	return out, nil
}

func (d *Daemon) openPlugin(cfg *config.Config, p config.Plugin) ([]source.Source, error) {
	open, ok := d.o.Openers[p.Name]
	if !ok {
		if config.KnownPlugins[p.Name] {
			return nil, fmt.Errorf("source %q: %w (this build has: %s)", p.Name, source.ErrUnavailable, d.available())
		}
		return nil, fmt.Errorf("plugin %q is not a k8saudit-family source; Peregrine cannot run it", p.Name)
	}
	ic, err := p.InitMap()
	if err != nil {
		return nil, fmt.Errorf("plugin %s: init_config: %w", p.Name, err)
	}
	srcs, err := open(source.Env{
		Plugin: p.Name, InitConfig: ic, OpenParams: p.OpenParams,
		StateDir: cfg.Daemon.Peregrine.StateDir, SpoolMaxBytes: cfg.Daemon.Peregrine.SpoolMaxBytes, Metrics: d.m, Log: d.log,
	})
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", p.Name, err)
	}
	return srcs, nil
}

func (d *Daemon) available() string {
	s := ""
	for n := range d.o.Openers {
		if s != "" {
			s += ", "
		}
		s += n
	}
	return s
}

// loop runs the sources and waits for a stop, reloading on SIGHUP and on
// watched file changes.
func (d *Daemon) loop(ctx context.Context, cfg *config.Config, sig chan os.Signal) error {
	srcCtx, stopSources := context.WithCancel(context.Background())
	defer stopSources()
	finished := d.runSources(srcCtx)
	if d.web != nil {
		go d.web.serve()
	}
	go d.watchSilence(srcCtx, cfg.Daemon.Peregrine)
	var watchC <-chan time.Time
	if cfg.Daemon.WatchConfigFiles {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		watchC = t.C
	}
	stamps := fileStamps(d.watched())
	d.log.Info("peregrine running", "sources", len(d.sources), "workers", d.pipe.n, "webserver", d.WebAddr())
	for {
		select {
		case <-ctx.Done():
			return d.shutdown(cfg, stopSources, finished)
		case s := <-sig:
			if s != syscall.SIGHUP {
				d.log.Info("stopping", "signal", s.String())
				return d.shutdown(cfg, stopSources, finished)
			}
			d.Reload("SIGHUP")
			stamps = fileStamps(d.watched())
		case <-watchC:
			if now := fileStamps(d.watched()); now != stamps {
				d.Reload("a watched file changed")
				stamps = fileStamps(d.watched())
			}
		case <-finished:
			d.log.Info("every source reached its end; stopping")
			return d.shutdown(cfg, stopSources, finished)
		}
	}
}

// runSources starts every source; the channel is closed when all of them
// returned.
func (d *Daemon) runSources(ctx context.Context) chan struct{} {
	var wg sync.WaitGroup
	d.running = len(d.sources)
	for _, s := range d.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Run(ctx, d.pipe)
			d.state.Lock()
			defer d.state.Unlock()
			d.running--
			if err != nil {
				d.failed[s.Name()] = err
				d.log.Error("source stopped", "source", s.Name(), "err", err)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// shutdown stops accepting, drains within peregrine.drain_timeout, saves
// positions. Batches still undelivered at the deadline stay uncommitted
// and are read again on the next start.
func (d *Daemon) shutdown(cfg *config.Config, stopSources context.CancelFunc, finished chan struct{}) error {
	deadline := cfg.Daemon.Peregrine.DrainTimeout
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	stopSources()
	select {
	case <-finished:
	case <-ctx.Done():
		d.log.Warn("sources did not stop in time")
	}
	stopped := make(chan struct{})
	go func() { d.pipe.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		d.pipe.Abort()
		<-stopped
	}
	var errs []error
	if err := Retire(ctx, d.pipe.Current()); err != nil {
		d.log.Warn("outputs did not drain in time: sources that keep positions (files, the webhook's spool, cloud sources, Kafka) read the events of the undelivered alerts again after a restart; without peregrine.state_dir the webhook's are lost", "err", err)
	}
	for _, s := range d.sources {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", s.Name(), err))
		}
	}
	if d.web != nil {
		d.web.close()
	}
	d.log.Info("stopped")
	return errors.Join(errs...)
}

// Reload loads the configuration and rules again and swaps in the new
// engine and outputs. When loading fails, the running ones stay and the
// reason is logged. Sources and the webserver keep their settings until a
// restart.
func (d *Daemon) Reload(why string) bool {
	d.reload.Lock()
	defer d.reload.Unlock()
	d.log.Info("reloading", "why", why)
	l, err := d.o.Load()
	if err == nil {
		var g *Generation
		if g, err = newGeneration(l, d.m, d.log, d.o.Stdout); err == nil {
			old := d.pipe.Swap(g)
			d.watch = l.Watch
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), l.Config.Daemon.Peregrine.DrainTimeout)
				defer cancel()
				if err := Retire(ctx, old); err != nil {
					d.log.Warn("previous outputs did not drain", "err", err)
				}
			}()
			d.m.Reloads.WithLabelValues("ok").Inc()
			d.log.Info("reloaded")
			d.logLoaded(l)
			if startSettings(l.Config) != d.started {
				d.log.Warn("settings read only at start changed (plugins, load_plugins, webserver, peregrine.state_dir, spool, workers, source_silence, log_level, log_format); they take effect at the next restart, the running ones stay")
			}
			return true
		}
	}
	d.m.Reloads.WithLabelValues("failed").Inc()
	d.log.Error("reload failed; the previous rules and outputs keep running", "err", err)
	d.pipe.Current().Router.Reopen() // SIGHUP still reopens files for logrotate
	return false
}

// logLoaded logs what a load found: its warnings, how many rules run, and
// loudly when none does (a detector that cannot alert).
func (d *Daemon) logLoaded(l *Loaded) {
	for _, w := range l.Warnings {
		d.log.Warn(w)
	}
	n := len(l.Engine.Rules())
	if n == 0 {
		d.log.Error("no rules are loaded: nothing will alert; check rules_files or -r")
		return
	}
	d.log.Info("rules loaded", "rules", n)
}

// startSettings is the part of the configuration read only at start: what
// the sources, the webserver, the workers, the silence watch and the
// logger are built from, as text to compare (fmt prints maps sorted).
func startSettings(cfg *config.Config) string {
	d, p := cfg.Daemon, cfg.Daemon.Peregrine
	return fmt.Sprintf("%v|%+v|%+v|%q|%d|%d|%v|%q|%q|%q", len(cfg.Plugins) == 0, cfg.Loaded(), d.Webserver,
		p.StateDir, p.SpoolMaxBytes, p.Workers, p.SilenceTimeout, p.SilencePriority, d.LogLevel, p.LogFormat)
}

func (d *Daemon) watched() []string {
	d.reload.Lock()
	defer d.reload.Unlock()
	return d.watch
}

// fileStamps summarises the watched files' sizes and modification times.
func fileStamps(paths []string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, p := range paths {
		stampPath(&b, p, seen, 0)
	}
	return b.String()
}

// stampPath adds p's size and modification time, and for a directory
// those of every file under it, following symbolic links: a ConfigMap
// volume's files are links into a directory that Kubernetes swaps on
// update, so the links themselves never change. A directory is read once
// however many links lead to it.
func stampPath(b *strings.Builder, p string, seen map[string]bool, depth int) {
	fi, err := os.Stat(p)
	if err != nil {
		fmt.Fprintf(b, "%s:absent;", p)
		return
	}
	if !fi.IsDir() {
		fmt.Fprintf(b, "%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
		return
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil || seen[real] || depth > 16 {
		return
	}
	seen[real] = true
	ents, _ := os.ReadDir(p)
	for _, e := range ents {
		stampPath(b, filepath.Join(p, e.Name()), seen, depth+1)
	}
}

// expired is an already-ended context: close without waiting.
func expired() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
