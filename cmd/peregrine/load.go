package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/fields"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
)

// engineFlags are the flags every command that loads rules shares.
type engineFlags struct {
	config    string
	rules     []string
	overrides []string
	json      bool
}

func (f *engineFlags) add(c *cobra.Command) {
	c.Flags().StringVarP(&f.config, "config", "c", "", "falco.yaml-compatible configuration file")
	c.Flags().StringArrayVarP(&f.rules, "rules", "r", nil, "rules file or directory (repeatable; later files append to and override earlier ones; <default> is the embedded rules)")
	c.Flags().StringArrayVarP(&f.overrides, "option", "o", nil, "set a configuration key: KEY=VALUE (repeatable)")
}

// loaded is what a command needs after loading configuration and rules.
type loaded struct {
	cfg     *config.Config
	col     *rules.Collection
	eng     *engine.Engine
	report  *rules.Report
	sources []rules.Source
	notes   []string // warnings that are not about one rules file
}

// load reads the configuration and rules and compiles the engine. Rules come
// from -r, else from rules_files, else the embedded default rules; either
// list may name the embedded rules as <default>, to layer files over them.
func (f *engineFlags) load() (*loaded, error) {
	cfg, err := config.Load(f.config, f.overrides)
	if err != nil {
		return nil, invalid(err)
	}
	l := &loaded{cfg: cfg, notes: cfg.Warnings}
	switch {
	case len(f.rules) > 0:
		l.sources, _, err = readRules(f.rules, false)
	case len(cfg.RulesFiles) > 0:
		var notes []string
		l.sources, notes, err = readRules(cfg.RulesFiles, true)
		l.notes = append(l.notes, notes...)
		if err == nil && len(l.sources) == 0 {
			l.notes = append(l.notes, fmt.Sprintf("rules_files names %d paths but no rules file was found in them: no rules are loaded", len(cfg.RulesFiles)))
		}
	default:
		l.sources = defaultrules.Sources()
	}
	if err != nil {
		return nil, invalid(err)
	}
	l.col, l.report = rules.Load(l.sources, rules.Options{})
	if l.report.Err() != nil {
		return l, nil
	}
	l.col.Apply(cfg.Selectors)
	appendOutputs(l.col, cfg.Daemon.AppendOutput)
	opts := engine.DefaultOptions()
	opts.MatchAll = cfg.MatchAll
	opts.MinPriority = cfg.Priority
	opts.TimeISO8601 = cfg.TimeFormatISO8601
	opts.Fields = fieldTable(cfg.Daemon.StaticFields)
	l.eng = engine.New(l.col, opts, l.report)
	if l.eng != nil && len(l.eng.Skipped) > 0 {
		l.notes = append(l.notes, skippedNote(l.eng.Skipped))
	}
	return l, nil
}

func skippedNote(m map[string]int) string {
	var parts []string
	total := 0
	for src, n := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", src, n))
		total += n
	}
	return fmt.Sprintf("%d rules of other sources skipped (%s); Peregrine evaluates k8s_audit rules only", total, strings.Join(parts, ", "))
}

// outputFormat builds the alert encoder from the configuration and --json.
func (l *loaded) outputFormat(forceJSON bool) output.Format {
	f := output.DefaultFormat()
	f.JSON = l.cfg.JSONOutput || forceJSON
	f.IncludeOutput = l.cfg.JSONIncludeOutputProperty
	f.IncludeTags = l.cfg.JSONIncludeTagsProperty
	f.IncludeMessage = l.cfg.JSONIncludeMessageProperty
	f.IncludeOutputFields = l.cfg.JSONIncludeOutputFieldsProperty
	return f
}

// printDiags writes errors, then warnings, as FILE:LINE:COL: message, each
// followed by the offending source line and a caret.
func (l *loaded) printDiags(w io.Writer, warnings bool) {
	for _, d := range l.report.Errors() {
		printDiag(w, l.sources, d, "")
	}
	if !warnings {
		return
	}
	for _, d := range l.report.Warnings() {
		printDiag(w, l.sources, d, "warning: ")
	}
	for _, n := range l.notes {
		fmt.Fprintln(w, "warning:", n)
	}
}

// warningLines are the warnings one per line, without source excerpts
// (for logs).
func (l *loaded) warningLines() []string {
	var out []string
	for _, d := range l.report.Warnings() {
		out = append(out, diagLine(d, "warning: "))
	}
	return append(out, l.notes...)
}

// diagLine is FILE:LINE:COL: KIND MESSAGE [CODE].
func diagLine(d rules.Diag, kind string) string {
	msg := d.Msg
	if d.Context != "" {
		msg = d.Context + ": " + msg
	}
	if d.Code != "" {
		msg += " [" + d.Code + "]"
	}
	return fmt.Sprintf("%s: %s%s", d.Pos, kind, msg)
}

func printDiag(w io.Writer, srcs []rules.Source, d rules.Diag, kind string) {
	fmt.Fprintln(w, diagLine(d, kind))
	if line, ok := sourceLine(srcs, d.Pos); ok && d.Pos.Col > 0 {
		line, col := excerpt(line, d.Pos.Col-1)
		fmt.Fprintf(w, "   | %s\n   | %s^\n", line, caretPad(line, col))
	}
}

// excerptWidth bounds the source line shown under a message: a binary
// file or a minified document has lines of any length.
const excerptWidth = 160

// excerpt returns the part of line around byte column col that is shown,
// and col in it: at most excerptWidth bytes, with "..." where it was cut,
// and control bytes and invalid UTF-8 shown as '?' so that nothing
// reaches the terminal but text.
func excerpt(line string, col int) (string, int) {
	prefix, suffix := "", ""
	if len(line) > excerptWidth {
		start := max(0, min(col-excerptWidth/2, len(line)-excerptWidth))
		end := start + excerptWidth
		if start > 0 {
			prefix = "..."
		}
		if end < len(line) {
			suffix = "..."
		}
		line, col = line[start:end], col-start+len(prefix)
	}
	b := []byte(prefix + line + suffix)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n == 1) || (r < 0x20 && r != '\t') || r == 0x7f {
			b[i] = '?'
		}
		i += n
	}
	return string(b), col
}

func sourceLine(srcs []rules.Source, p rules.Position) (string, bool) {
	for _, s := range srcs {
		if s.Name != p.File {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(s.Data))
		sc.Buffer(nil, len(s.Data)+1)
		for n := 1; sc.Scan(); n++ {
			if n == p.Line {
				return sc.Text(), true
			}
		}
	}
	return "", false
}

// caretPad keeps tabs so the caret lines up under the column.
func caretPad(line string, col int) string {
	var b strings.Builder
	for i := 0; i < col && i < len(line); i++ {
		if line[i] == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// fieldTable is the built-in fields plus falco.yaml's static_fields.
func fieldTable(static []config.StaticField) *fields.Table {
	tab := fields.Builtin()
	for _, sf := range static {
		tab = tab.With(fields.Static(sf.Name, sf.Value))
	}
	return tab
}

// appendOutputs adds append_output's extra_output to the outputs of the
// rules each entry selects, before they compile.
func appendOutputs(col *rules.Collection, aos []config.AppendOutput) {
	for _, r := range col.Rules {
		for _, ao := range aos {
			if ao.ExtraOutput != "" && ao.Matches(r.Name, r.Tags) {
				r.Output += " " + ao.ExtraOutput
			}
		}
	}
}

// defaultToken names the embedded default rules in -r and rules_files.
const defaultToken = "<default>"

// readRules reads rules paths in order, putting the embedded rules where
// the list says <default>.
func readRules(paths []string, skipMissing bool) (srcs []rules.Source, notes []string, err error) {
	for _, p := range paths {
		if p == defaultToken {
			srcs = append(srcs, defaultrules.Sources()...)
			continue
		}
		s, n, err := rules.ReadPaths([]string{p}, skipMissing)
		notes = append(notes, n...)
		if err != nil {
			return nil, notes, err
		}
		srcs = append(srcs, s...)
	}
	return srcs, notes, nil
}
