package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

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
	if err != nil {
		return err
	}
	if f.json {
		if err := writeDiagsJSON(l); err != nil {
			return err
		}
	} else {
		l.printDiags(os.Stdout, true)
		n := len(l.report.Errors())
		fmt.Printf("%d errors, %d warnings in %d rules files\n", n, len(l.report.Warnings())+len(l.notes), len(l.sources))
	}
	if l.report.Err() != nil || l.eng == nil {
		return &exitError{code: exitInvalid}
	}
	return nil
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

func writeDiagsJSON(l *loaded) error {
	out := []diagJSON{}
	add := func(d rules.Diag, sev string) {
		out = append(out, diagJSON{File: d.Pos.File, Line: d.Pos.Line, Col: d.Pos.Col, Severity: sev, Code: d.Code, Context: d.Context, Message: d.Msg})
	}
	for _, d := range l.report.Errors() {
		add(d, "error")
	}
	for _, d := range l.report.Warnings() {
		add(d, "warning")
	}
	for _, n := range l.notes {
		out = append(out, diagJSON{Severity: "warning", Message: n})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
