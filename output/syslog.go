package output

import (
	"context"
	"log/syslog"

	"github.com/peregrine-sec/peregrine/rules"
)

// Syslog is syslog_output: each alert to the local syslog (facility
// user), at the syslog severity of the alert's priority, as Falco does.
type Syslog struct {
	w *syslog.Writer
}

// NewSyslog connects to the local syslog daemon; the error says it is not
// there (containers seldom have one), and the daemon then runs without
// this output.
func NewSyslog() (*Syslog, error) {
	w, err := syslog.New(syslog.LOG_USER|syslog.LOG_INFO, "peregrine")
	if err != nil {
		return nil, err
	}
	return &Syslog{w: w}, nil
}

func (s *Syslog) Name() string { return "syslog" }

func (s *Syslog) Write(_ context.Context, items []*Item) (int, error) {
	for i, it := range items {
		if err := s.send(it); err != nil {
			return i, err
		}
	}
	return len(items), nil
}

// send writes one alert; Falco's priorities are syslog's severities, in
// the same order (emergency 0 ... debug 7).
func (s *Syslog) send(it *Item) error {
	msg := string(it.Body())
	switch it.Alert.Priority {
	case rules.Emergency:
		return s.w.Emerg(msg)
	case rules.Alert:
		return s.w.Alert(msg)
	case rules.Critical:
		return s.w.Crit(msg)
	case rules.Error:
		return s.w.Err(msg)
	case rules.Warning:
		return s.w.Warning(msg)
	case rules.Notice:
		return s.w.Notice(msg)
	case rules.Informational:
		return s.w.Info(msg)
	}
	return s.w.Debug(msg)
}

func (s *Syslog) Close() error { return s.w.Close() }
