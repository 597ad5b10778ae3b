package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/peregrine-sec/peregrine/engine/enginetest"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
)

func testCmd() *cobra.Command {
	var verbose bool
	var run string
	c := &cobra.Command{
		Use:   "test [-v] [--run REGEXP] FILE|DIR...",
		Short: "Run rule unit tests: events in, expected alerts out; exit 1 on any failure",
		Long: `Run rule unit tests. Each test file (YAML) names the rules files to load
(the embedded default rules unless it says otherwise), and cases: inline
events or event files, and the alerts each rule must raise, or silence.
A directory gives every *_test.yaml / *_test.yml file below it.
Each failing case is printed with a diff of wanted (-) and got (+) alerts.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("peregrine test needs test files or directories of *_test.yaml (rules/default/tests holds the default rules' own)")}
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			var filter func(string) bool
			if run != "" {
				re, err := regexp.Compile(run)
				if err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--run: %w", err)}
				}
				filter = re.MatchString
			}
			return runTests(os.Stdout, args, filter, verbose)
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every case, not only the failed ones")
	c.Flags().StringVar(&run, "run", "", "run only the cases whose name matches this regular expression")
	return c
}

func runTests(w io.Writer, args []string, filter func(string) bool, verbose bool) error {
	paths, err := enginetest.FindSuites(args)
	if err != nil {
		return invalid(err)
	}
	opts := enginetest.SuiteOptions{DefaultRules: defaultrules.Sources(), Filter: filter}
	cases, failed, badFiles := 0, 0, 0
	for _, p := range paths {
		s, err := enginetest.LoadSuite(p)
		if err != nil {
			fmt.Fprintf(w, "FAIL %v\n", err)
			badFiles++
			continue
		}
		res := s.Run(opts)
		if res.LoadErr != nil {
			fmt.Fprintf(w, "FAIL %s: %v\n", p, res.LoadErr)
			cases += len(s.Cases)
			failed += len(s.Cases)
			continue
		}
		if len(res.Cases) == 0 && filter != nil {
			continue // --run selected none of its cases
		}
		n := res.Failed()
		cases += len(res.Cases)
		failed += n
		for _, cr := range res.Cases {
			if cr.Passed() {
				if verbose {
					fmt.Fprintf(w, "  ok   %s:%d: %s\n", p, cr.Case.Line, cr.Case.Name)
				}
				continue
			}
			fmt.Fprintf(w, "  FAIL %s:%d: %s\n", p, cr.Case.Line, cr.Case.Name)
			for _, d := range cr.Diff {
				fmt.Fprintf(w, "      %s\n", strings.ReplaceAll(d, "\n", "\n      "))
			}
		}
		status := "ok  "
		if n > 0 {
			status = "FAIL"
		}
		fmt.Fprintf(w, "%s %s (%d cases, %d failed)\n", status, p, len(res.Cases), n)
	}
	fmt.Fprintf(w, "%d test files, %d cases, %d failed", len(paths), cases, failed)
	if badFiles > 0 {
		fmt.Fprintf(w, ", %d files unreadable", badFiles)
	}
	fmt.Fprintln(w)
	if failed > 0 || badFiles > 0 {
		return &exitError{code: exitInvalid}
	}
	return nil
}
