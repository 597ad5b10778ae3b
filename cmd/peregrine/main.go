// Command peregrine detects attacks and misuse in Kubernetes audit logs with
// Falco-language rules. This package holds flags and wiring only; each
// subcommand lives in its own file.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes (DESIGN.md): 0 ok, 1 invalid input, 2 usage error.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
)

// exitError carries an exit code up to main without printing twice.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func invalid(err error) error { return &exitError{code: exitInvalid, err: err} }

func main() {
	root := &cobra.Command{
		Use:           "peregrine",
		Short:         "Find attacks and misuse in Kubernetes audit logs with Falco rules",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(replayCmd(), runCmd(), validateCmd(), fieldsCmd(), rulesCmd(), versionCmd(), testCmd(), genCmd(), benchCmd())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w\n%s", err, c.UsageString())}
	})
	err := root.Execute()
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "peregrine:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "peregrine:", err)
	if isUsage(err) {
		return exitUsage
	}
	return exitInvalid
}

// isUsage recognises cobra's own argument errors.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "flag needs"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
