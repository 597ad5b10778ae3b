package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/output"
)

// Loaded is what a (re)load yields: the configuration and the engine
// compiled from it, with the alert format.
type Loaded struct {
	Config *config.Config
	Engine *engine.Engine
	Format output.Format
	// Watch are the files whose change reloads (watch_config_files):
	// the configuration files and the rules files.
	Watch []string
	// Warnings are what loading found that does not stop it (keys not
	// used, rules warnings, rules files not found); logged at start and
	// on each reload.
	Warnings []string
}

// newGeneration builds the outputs of a loaded configuration.
func newGeneration(l *Loaded, m *metrics.Metrics, log *slog.Logger, stdout *os.File) (*Generation, error) {
	d := l.Config.Daemon
	sinks, err := buildSinks(l, stdout, log)
	if err != nil {
		return nil, err
	}
	overflow, err := output.ParseOverflow(d.Peregrine.Overflow)
	if err != nil {
		return nil, err
	}
	capacity := d.QueueCapacity
	if capacity <= 0 {
		capacity = output.DefaultCapacity
	}
	router := output.NewRouter(sinks, output.RouterOptions{
		Capacity: capacity, Overflow: overflow,
		Limiter: output.NewLimiter(d.Rate, d.MaxBurst), DropOverRate: d.Peregrine.RateLimit == "drop",
		Metrics: m, Log: log,
	})
	g := &Generation{Engine: l.Engine, Format: l.Format, Router: router}
	dec, err := newDecorator(l)
	if err != nil {
		router.Close(expired())
		return nil, err
	}
	if dec != nil {
		g.Decorate = dec.decorate
	}
	return g, nil
}

// buildSinks opens every enabled output. A syslog that is not there is
// skipped with a warning (containers rarely have one); any other output
// that cannot be opened is an error.
func buildSinks(l *Loaded, stdout *os.File, log *slog.Logger) ([]output.Sink, error) {
	cfg, d := l.Config, l.Config.Daemon
	var sinks []output.Sink
	if cfg.StdoutOutput {
		sinks = append(sinks, output.NewWriter("stdout", stdout))
	}
	if d.FileOutput.Enabled {
		if d.FileOutput.Filename == "" {
			return nil, fmt.Errorf("file_output: filename is required")
		}
		f, err := output.NewFile(d.FileOutput.Filename, d.FileOutput.KeepAlive)
		if err != nil {
			return nil, fmt.Errorf("file_output: %w", err)
		}
		sinks = append(sinks, f)
	}
	if d.ProgramOutput.Enabled {
		if d.ProgramOutput.Program == "" {
			return nil, fmt.Errorf("program_output: program is required")
		}
		sinks = append(sinks, output.NewProgram(d.ProgramOutput.Program, d.ProgramOutput.KeepAlive))
	}
	if d.HTTPOutput.Enabled {
		h := d.HTTPOutput
		s, err := output.NewHTTP(output.HTTPOptions{
			URL: h.URL, UserAgent: h.UserAgent, JSON: l.Format.JSON, Insecure: h.Insecure,
			CACert: h.CACert, CABundle: h.CABundle, CAPath: h.CAPath, MTLS: h.MTLS,
			ClientCert: h.ClientCert, ClientKey: h.ClientKey, CompressUploads: h.CompressUploads,
			KeepAlive: h.KeepAlive, Timeout: max(d.OutputTimeout, 0), Echo: echoTo(h.Echo, stdout),
		})
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, s)
	}
	if ko, err := cfg.KafkaOutput(); err != nil || ko.Enabled {
		if err != nil {
			return nil, err
		}
		s, err := output.NewKafka(output.KafkaOptions{Conn: ko.Conn, Topic: ko.Topic, Key: ko.Key,
			Compression: ko.Compression, Timeout: ko.Timeout, Format: l.Format, Log: log})
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, s)
	}
	if d.SyslogOutput {
		s, err := output.NewSyslog()
		if err != nil {
			log.Warn("syslog_output is enabled but there is no local syslog; skipped", "err", err)
		} else {
			sinks = append(sinks, s)
		}
	}
	if len(sinks) == 0 {
		log.Warn("no output is enabled: alerts are counted on /metrics but written nowhere")
	}
	return sinks, nil
}

// echoTo is where http_output.echo prints the receiver's answers: stdout,
// or nowhere when it is off.
func echoTo(on bool, stdout *os.File) io.Writer {
	if !on {
		return nil
	}
	return stdout
}
