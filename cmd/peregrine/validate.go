package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/rules"
)

func validateCmd() *cobra.Command {
	f := &engineFlags{}
	c := &cobra.Command{
		Use:   "validate [--json] -r RULES... | -c CONFIG",
		Short: "Check rules files (and a configuration); print each problem as FILE:LINE:COL: message",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if len(f.rules) == 0 && f.config == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("validate needs -r RULES or -c CONFIG")}
			}
			return runValidate(f)
		},
	}
	f.add(c)
	c.Flags().BoolVar(&f.json, "json", false, "print the problems as a JSON array")
	return c
}

func runValidate(f *engineFlags) error {
	l, err := f.load()
	if ce := configError(err); ce != nil {
		return reportConfigError(f.json, ce)
	}
	if err != nil {
		return err
	}
	cfgDiags, notes := splitNotes(l)
	srcErrs, srcWarns := sourceDiags(l.cfg)
	cfgDiags = append(cfgDiags, srcWarns...)
	if f.json {
		if err := writeDiagsJSON(l, srcErrs, cfgDiags, notes); err != nil {
			return err
		}
	} else {
		printConfigDiags(os.Stdout, srcErrs, "")
		printValidate(os.Stdout, l, cfgDiags, notes)
		n := len(l.report.Errors()) + len(srcErrs)
		fmt.Printf("%d errors, %d warnings in %d rules files\n", n, len(l.report.Warnings())+len(notes)+len(cfgDiags), len(l.sources))
	}
	if l.report.Err() != nil || l.eng == nil || len(srcErrs) > 0 {
		return &exitError{code: exitInvalid}
	}
	return nil
}

// sourceDiags checks every plugin entry as `run` would read it
// (checkSources), as problems of the configuration file.
func sourceDiags(cfg *config.Config) (errs, warns []config.Diag) {
	for _, p := range cfg.Loaded() {
		ws, err := checkSource(p)
		at := cfg.PluginPos(p.Name)
		if err != nil {
			errs = append(errs, config.Diag{Pos: at, Msg: err.Error()})
		}
		for _, w := range ws {
			warns = append(warns, config.Diag{Pos: at, Msg: w})
		}
	}
	return errs, warns
}

// configError is the invalid configuration load failed on, if it did.
func configError(err error) *config.Error {
	var ee *exitError
	if errors.As(err, &ee) {
		err = ee.err
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// reportConfigError prints an invalid configuration's problems where
// validate prints the rules': on stdout, as JSON or as FILE:LINE:COL.
func reportConfigError(asJSON bool, ce *config.Error) error {
	if asJSON {
		out := []diagJSON{}
		for _, d := range ce.Diags {
			out = append(out, configDiagJSON(d, "error"))
		}
		for _, d := range ce.Warnings {
			out = append(out, configDiagJSON(d, "warning"))
		}
		if err := encodeJSON(out); err != nil {
			return err
		}
	} else {
		printConfigDiags(os.Stdout, ce.Diags, "")
		printConfigDiags(os.Stdout, ce.Warnings, "warning: ")
		fmt.Printf("%d errors, %d warnings in the configuration; no rules checked\n", len(ce.Diags), len(ce.Warnings))
	}
	return &exitError{code: exitInvalid}
}

// splitNotes parts the configuration's warnings, which have places, from
// the other notes (load puts both in l.notes, as lines).
func splitNotes(l *loaded) ([]config.Diag, []string) {
	fromConfig := map[string]bool{}
	for _, w := range l.cfg.Warnings {
		fromConfig[w] = true
	}
	var notes []string
	for _, n := range l.notes {
		if !fromConfig[n] {
			notes = append(notes, n)
		}
	}
	return l.cfg.Diags, notes
}

// printValidate writes errors, then warnings, each as FILE:LINE:COL:
// message with the source line under it.
func printValidate(w io.Writer, l *loaded, cfgDiags []config.Diag, notes []string) {
	for _, d := range l.report.Errors() {
		printDiag(w, l.sources, d, "")
	}
	for _, d := range l.report.Warnings() {
		printDiag(w, l.sources, d, "warning: ")
	}
	printConfigDiags(w, cfgDiags, "warning: ")
	for _, n := range notes {
		fmt.Fprintln(w, "warning:", n)
	}
}

// printConfigDiags prints configuration problems as the rules' are, with
// the line of the file that set the key.
func printConfigDiags(w io.Writer, diags []config.Diag, kind string) {
	srcs := configSources(diags)
	for _, d := range diags {
		if d.Pos == (rules.Position{}) {
			fmt.Fprintf(w, "%s%s\n", kind, d.Msg)
			continue
		}
		printDiag(w, srcs, rules.Diag{Pos: d.Pos, Msg: d.Msg}, kind)
	}
}

// configSources reads the files the problems point into, for the source
// line under each message; a file that cannot be read shows none.
func configSources(diags []config.Diag) []rules.Source {
	var srcs []rules.Source
	seen := map[string]bool{}
	for _, d := range diags {
		if d.Pos.Line == 0 || seen[d.Pos.File] {
			continue
		}
		seen[d.Pos.File] = true
		if b, err := os.ReadFile(d.Pos.File); err == nil {
			srcs = append(srcs, rules.Source{Name: d.Pos.File, Data: b})
		}
	}
	return srcs
}

type diagJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"`
	Code     string `json:"code,omitempty"`
	Context  string `json:"context,omitempty"`
	Message  string `json:"message"`
}

func configDiagJSON(d config.Diag, sev string) diagJSON {
	return diagJSON{File: d.Pos.File, Line: d.Pos.Line, Col: d.Pos.Col, Severity: sev, Message: d.Msg}
}

func writeDiagsJSON(l *loaded, cfgErrs, cfgDiags []config.Diag, notes []string) error {
	out := []diagJSON{}
	for _, d := range cfgErrs {
		out = append(out, configDiagJSON(d, "error"))
	}
	add := func(d rules.Diag, sev string) {
		out = append(out, diagJSON{File: d.Pos.File, Line: d.Pos.Line, Col: d.Pos.Col, Severity: sev, Code: d.Code, Context: d.Context, Message: d.Msg})
	}
	for _, d := range l.report.Errors() {
		add(d, "error")
	}
	for _, d := range l.report.Warnings() {
		add(d, "warning")
	}
	for _, d := range cfgDiags {
		out = append(out, configDiagJSON(d, "warning"))
	}
	for _, n := range notes {
		out = append(out, diagJSON{Severity: "warning", Message: n})
	}
	return encodeJSON(out)
}

func encodeJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
