package engine

import (
	"github.com/peregrine-sec/peregrine/condition"
	"github.com/peregrine-sec/peregrine/rules"
)

// syscallSource is registered by Falco even when only plugins are loaded,
// so Falco compiles syscall rules that Peregrine skips.
const syscallSource = "syscall"

// warnUnused reports the macros and lists nothing uses, as Falco does once
// every rule has compiled (rules.WarnUnused says what counts as a use).
func (b *builder) warnUnused() {
	var compiled []*rules.Rule
	for _, r := range b.col.Rules {
		if b.falcoCompiles(r) {
			compiled = append(compiled, r)
		}
	}
	rules.WarnUnused(b.col, compiled, macroRefs, b.report)
}

// falcoCompiles says whether Falco gets as far as r's condition, where
// macros and lists are marked used. It skips unknown sources and, with
// skip-if-unknown-filter, rules whose output fails (it checks that first).
func (b *builder) falcoCompiles(r *rules.Rule) bool {
	switch r.Source {
	case syscallSource:
		return true
	case Source:
		return !b.outputSkipped[r]
	}
	return false
}

// macroRefs lists the macros a condition names. Text that does not parse
// names none: the engine reports parse errors where it compiles.
func macroRefs(text string) []string {
	n, err := condition.Parse(text)
	if err != nil {
		return nil
	}
	var names []string
	condition.Inspect(n, func(n condition.Node) bool {
		if m, ok := n.(*condition.MacroRef); ok {
			names = append(names, m.Name)
		}
		return true
	})
	return names
}
