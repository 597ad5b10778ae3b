package main

import (
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/aks"
	"github.com/peregrine-sec/peregrine/source/eks"
	"github.com/peregrine-sec/peregrine/source/kafka"
)

// historyOpeners are the sources that can replay a past time range, by
// plugin name. Each source package that can contributes its opener here.
var historyOpeners = map[string]source.HistoryOpener{"k8saudit-eks": eks.OpenHistory,
	"k8saudit-aks": aks.History, "kafka": kafka.History}

// historyFlags select a configured source's past instead of files.
type historyFlags struct {
	source       string
	since, until string
}

// open returns the iterator over the chosen source's time range.
func (h *historyFlags) open(cfg *config.Config) (source.Iterator, error) {
	open, ok := historyOpeners[h.source]
	if !ok {
		return nil, fmt.Errorf("--source %s: this build cannot read its history (it can for: %s)", h.source, strings.Join(historyNames(), ", "))
	}
	since, err := parseTime(h.since)
	if err != nil || h.since == "" {
		return nil, fmt.Errorf("--since %q: expected an RFC 3339 time or a duration before now (e.g. 2h)", h.since)
	}
	var until time.Time
	if h.until != "" {
		if until, err = parseTime(h.until); err != nil {
			return nil, fmt.Errorf("--until %q: expected an RFC 3339 time or a duration before now", h.until)
		}
	}
	p, ok := findPlugin(cfg, h.source)
	if !ok {
		return nil, fmt.Errorf("--source %s: no plugins entry with that name in %s", h.source, cfg.Path)
	}
	ic, err := p.InitMap()
	if err != nil {
		return nil, err
	}
	if check, ok := checkers()[p.Name]; ok {
		ws, _ := check(ic, p.OpenParams) // open reports the errors
		for _, w := range ws {
			fmt.Fprintln(os.Stderr, "warning:", w)
		}
	}
	env := source.Env{Plugin: p.Name, InitConfig: ic, OpenParams: p.OpenParams,
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	return open(env, since, until)
}

func findPlugin(cfg *config.Config, name string) (config.Plugin, bool) {
	for _, p := range cfg.Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return config.Plugin{}, false
}

// parseTime reads an RFC 3339 time, or a duration meaning that long ago.
func parseTime(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func historyNames() []string {
	var names []string
	for n := range historyOpeners {
		names = append(names, n)
	}
	sort.Strings(names)
	if names == nil {
		return []string{"none"}
	}
	return names
}
