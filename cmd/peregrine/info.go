package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/peregrine-sec/peregrine/fields"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, commit and Go version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Printf("peregrine %s\ncommit: %s\ngo: %s\n", version, commit(), runtime.Version())
		},
	}
}

// commit reads the VCS revision Go stamps into the binary.
func commit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += " (modified)"
	}
	return rev
}

func fieldsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "fields [--json]",
		Short: "List the supported fields (ka.*, jevt.*, json.*, evt.*)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				return fields.Builtin().WriteJSON(os.Stdout)
			}
			return fields.Builtin().WriteTable(os.Stdout)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return c
}

type ruleJSON struct {
	Rule     string   `json:"rule"`
	Priority string   `json:"priority"`
	Source   string   `json:"source"`
	Enabled  bool     `json:"enabled"`
	Tags     []string `json:"tags"`
	Desc     string   `json:"desc"`
}

func rulesCmd() *cobra.Command {
	f := &engineFlags{}
	c := &cobra.Command{
		Use:   "rules [-r RULES]... [--json]",
		Short: "List the loaded rules with priority, source, enabled state and tags",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			l, err := f.load()
			if err != nil {
				return err
			}
			if l.report.Err() != nil {
				l.printDiags(os.Stderr, false)
				return &exitError{code: exitInvalid}
			}
			var out []ruleJSON
			for _, r := range l.col.Rules {
				tags := r.Tags
				if tags == nil {
					tags = []string{}
				}
				out = append(out, ruleJSON{Rule: r.Name, Priority: r.Priority.String(), Source: r.Source, Enabled: r.Enabled, Tags: tags, Desc: strings.TrimSpace(r.Desc)})
			}
			if f.json {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RULE\tPRIORITY\tSOURCE\tENABLED\tTAGS")
			for _, r := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", r.Rule, r.Priority, r.Source, r.Enabled, strings.Join(r.Tags, ","))
			}
			return tw.Flush()
		},
	}
	f.add(c)
	c.Flags().BoolVar(&f.json, "json", false, "print as a JSON array")
	return c
}
