package main

import (
	"fmt"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/daemon"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/aks"
	"github.com/peregrine-sec/peregrine/source/eks"
	"github.com/peregrine-sec/peregrine/source/gke"
	"github.com/peregrine-sec/peregrine/source/k8saudit"
	"github.com/peregrine-sec/peregrine/source/kafka"
)

// openers are every source this build has, by plugin name: the daemon's
// own (the k8saudit webhook and files) and the cloud sources and Kafka.
func openers() map[string]source.Opener {
	m := daemon.Openers()
	m["k8saudit-eks"] = eks.Open
	m["k8saudit-aks"] = aks.Open
	m["k8saudit-gke"] = gke.Open
	m["kafka"] = kafka.Open
	return m
}

// checker reads a plugin entry's init_config and open_params as its
// opener does, without opening files or ports or connecting anywhere; it
// returns a warning per init_config key the source does not read.
type checker func(initConfig map[string]any, openParams string) ([]string, error)

// checkers are the checks of the sources of openers(), by plugin name.
func checkers() map[string]checker {
	return map[string]checker{
		"k8saudit": k8saudit.Check, "k8saudit-eks": eks.Check, "k8saudit-aks": aks.Check,
		"k8saudit-gke": gke.Check, "kafka": kafka.Check,
	}
}

// checkSources checks the entry of every plugin `run` would load, so that
// `validate -c` finds the misspelled keys and bad values that `run` would
// ignore or fail on. Each warning and error starts with "plugin NAME: ".
// json and names this build cannot run are left to the code that already
// reports them.
func checkSources(cfg *config.Config) (warnings []string, errs []error) {
	for _, p := range cfg.Loaded() {
		ws, err := checkSource(p)
		warnings = append(warnings, ws...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return warnings, errs
}

// checkSource is checkSources for one plugin entry.
func checkSource(p config.Plugin) (warnings []string, err error) {
	check, ok := checkers()[p.Name]
	if !ok {
		return nil, nil
	}
	ic, err := p.InitMap()
	if err != nil {
		return nil, fmt.Errorf("plugin %s: init_config: %w", p.Name, err)
	}
	ws, err := check(ic, p.OpenParams)
	for _, w := range ws {
		warnings = append(warnings, fmt.Sprintf("plugin %s: %s", p.Name, w))
	}
	if err != nil {
		err = fmt.Errorf("plugin %s: %w", p.Name, err)
	}
	return warnings, err
}
