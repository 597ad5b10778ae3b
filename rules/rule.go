package rules

import (
	"sort"

	"gopkg.in/yaml.v3"
)

const (
	msgEnabledDeprecated = "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace')."
	msgNoPreviousAppend  = "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists"
	msgNoPreviousReplace = "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists"
	msgOtherSource       = "Rule has been re-defined with a different source"
	defaultSource        = "syscall"
)

// Keys that "override" may append to or replace, in the order Falco reads
// them.
var (
	ruleAppendable  = []string{"condition", "exceptions", "output", "desc", "tags"}
	ruleReplaceable = []string{"condition", "exceptions", "output", "desc", "tags", "priority",
		"enabled", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration"}
)

// rule reads a rule item: a definition, the enable-only form, a legacy
// "append: true", or an "override".
func (l *fileLoader) rule(n *yaml.Node) error {
	it := item{l, n, "rule"}
	name, _, err := it.str("rule")
	if err != nil {
		return err
	}
	it.ctx = "rule '" + name + "'"
	appendFlag, o, err := l.appendMode(it, ruleAppendable, ruleReplaceable)
	switch {
	case err != nil:
		return err
	case o.any():
		return l.overrideRule(it, name, o)
	case appendFlag:
		return l.legacyAppendRule(it, name)
	case !it.has("condition") && !it.has("output") && !it.has("desc") && !it.has("priority"):
		return l.enableRule(it, name)
	}
	return l.defineRule(it, name)
}

// enableRule is the deprecated form that only sets "enabled" on an
// existing rule.
func (l *fileLoader) enableRule(it item, name string) error {
	enabled, _, err := it.boolean("enabled", true)
	if err != nil {
		return err
	}
	k, _ := lookup(it.n, "enabled")
	l.warn(k, WarnDeprecatedItem, it.ctx, msgEnabledDeprecated)
	prev := l.col.Rule(name)
	if prev == nil {
		return l.fail(it.n, CodeValidate, it.ctx, "Rule has 'enabled' key but no rule by that name already exists")
	}
	prev.Enabled = enabled
	return nil
}

func (l *fileLoader) defineRule(it item, name string) error {
	r := &Rule{Name: name, Pos: l.src.pos(it.n), Enabled: true, WarnEvttypes: true}
	if err := l.ruleText(it, r); err != nil {
		return err
	}
	if err := l.ruleOptions(it, r); err != nil {
		return err
	}
	raws, err := l.readExceptions(it, false)
	if err != nil {
		return err
	}
	if prev := l.col.Rule(name); prev != nil && prev.Source != r.Source {
		return l.fail(sourceNode(it), CodeValidate, it.ctx, msgOtherSource)
	}
	if r.Exceptions, err = l.defineExceptions(raws); err != nil {
		return err
	}
	l.col.defineRule(r)
	return nil
}

// ruleText reads the required keys of a definition, in Falco's order.
func (l *fileLoader) ruleText(it item, r *Rule) error {
	var err error
	if r.Condition, _, err = it.text("condition"); err != nil {
		return err
	}
	out, _, err := it.text("output")
	if err != nil {
		return err
	}
	l.setOutput(r, out.trimSpace())
	if r.Desc, _, err = it.str("desc"); err != nil {
		return err
	}
	prio, pn, err := it.str("priority")
	if err != nil {
		return err
	}
	p, ok := ParsePriority(prio)
	if !ok {
		return l.invalid(pn, it.ctx, "Invalid priority")
	}
	r.Priority = p
	return nil
}

func (l *fileLoader) setOutput(r *Rule, t Text) {
	r.OutputText, r.Output, r.OutputPos = t, t.S, t.Position(0)
}

// ruleOptions reads the optional keys of a definition.
func (l *fileLoader) ruleOptions(it item, r *Rule) error {
	src, _, err := it.scalar("source", false)
	if err != nil {
		return err
	}
	r.Source = src
	if src == "" {
		r.Source = defaultSource
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{{"enabled", &r.Enabled}, {"warn_evttypes", &r.WarnEvttypes},
		{"skip-if-unknown-filter", &r.SkipIfUnknownFilter}, {"capture", &r.Capture}} {
		v, set, err := it.boolean(b.key, false)
		if err != nil {
			return err
		}
		if set {
			*b.dst = v
		}
	}
	if r.CaptureDuration, _, err = it.uint("capture_duration", false, 64); err != nil {
		return err
	}
	tags, _, _, err := it.strings("tags", false)
	r.Tags = sortedSet(nil, tags)
	return err
}

// sourceNode is where a source mismatch is reported: the item's "source"
// value when it has one.
func sourceNode(it item) *yaml.Node {
	if _, v := lookup(it.n, "source"); v != nil {
		return v
	}
	return it.n
}

// sortedSet merges tags into a sorted list without duplicates, as
// Falco's std::set does.
func sortedSet(a, b []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
