package rules

import (
	"sort"

	"gopkg.in/yaml.v3"
)

// ruleUpdate is what an append or a replace carries; a nil field was not
// given. Falco's rule_update_info.
type ruleUpdate struct {
	it         item
	source     *string
	cond       *Text
	output     *Text
	desc       *string
	tags       []string
	hasTags    bool
	exceptions []rawException
	hasExcs    bool
	priority   *Priority
	bools      map[string]bool // enabled, warn_evttypes, skip-if-unknown-filter, capture
	duration   *uint64
}

func (u *ruleUpdate) empty() bool {
	return u.cond == nil && u.output == nil && u.desc == nil && !u.hasTags && !u.hasExcs &&
		u.priority == nil && len(u.bools) == 0 && u.duration == nil
}

func (l *fileLoader) newUpdate(it item) (*ruleUpdate, error) {
	u := &ruleUpdate{it: it, bools: map[string]bool{}}
	src, v, err := it.scalar("source", false)
	if v != nil {
		u.source = &src
	}
	return u, err
}

// legacyAppendRule is "append: true": only condition and exceptions count.
func (l *fileLoader) legacyAppendRule(it item, name string) error {
	u, err := l.newUpdate(it)
	if err != nil {
		return err
	}
	for _, key := range []string{"condition", "exceptions"} {
		if !it.has(key) {
			continue
		}
		if err := l.readUpdateKey(u, key); err != nil {
			return err
		}
	}
	return l.appendRule(u, name)
}

// overrideRule applies "override:": appends first, then replaces, then it
// rejects overridable keys that override does not mention, as Falco does.
func (l *fileLoader) overrideRule(it item, name string, o overrides) error {
	expected := map[string]bool{}
	for _, k := range ruleReplaceable {
		if it.has(k) {
			expected[k] = true
		}
	}
	steps := []struct {
		op    string
		keys  []string
		asked map[string]*yaml.Node
		apply func(*ruleUpdate, string) error
	}{
		{"append", ruleAppendable, o.append, l.appendRule},
		{"replace", ruleReplaceable, o.replace, l.replaceRule},
	}
	for _, s := range steps {
		if len(s.asked) == 0 {
			continue
		}
		u, err := l.newUpdate(it)
		if err != nil {
			return err
		}
		for _, key := range s.keys {
			if err := l.overrideKey(u, key, s.op, s.asked, expected); err != nil {
				return err
			}
		}
		if err := s.apply(u, name); err != nil {
			return err
		}
	}
	return l.unexpectedKeys(it, expected)
}

// overrideKey reads one key named under override, when it is.
func (l *fileLoader) overrideKey(u *ruleUpdate, key, op string, asked map[string]*yaml.Node, expected map[string]bool) error {
	k := asked[key]
	if k == nil {
		return nil
	}
	if !expected[key] {
		return l.invalid(k, u.it.ctx, "An "+op+" override for '"+key+"' was specified but '"+key+"' is not defined")
	}
	delete(expected, key)
	return l.readUpdateKey(u, key)
}

func (l *fileLoader) unexpectedKeys(it item, expected map[string]bool) error {
	keys := make([]string, 0, len(expected))
	for k := range expected {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	k, _ := lookup(it.n, keys[0])
	return l.invalid(k, it.ctx, "Unexpected key '"+keys[0]+"': no corresponding entry under 'override' is defined.")
}

// readUpdateKey decodes one key of an update with the same checks as a
// definition.
func (l *fileLoader) readUpdateKey(u *ruleUpdate, key string) error {
	it := u.it
	switch key {
	case "condition", "output":
		t, _, err := it.text(key)
		if key == "condition" {
			u.cond = &t
		} else {
			t = t.trimSpace()
			u.output = &t
		}
		return err
	case "desc":
		s, _, err := it.str(key)
		u.desc = &s
		return err
	case "tags":
		tags, _, _, err := it.strings(key, false)
		u.tags, u.hasTags = tags, true
		return err
	case "exceptions":
		excs, err := l.readExceptions(it, true)
		u.exceptions, u.hasExcs = excs, true
		return err
	case "priority":
		return l.readUpdatePriority(u)
	case "capture_duration":
		d, _, err := it.uint(key, true, 64)
		u.duration = &d
		return err
	}
	b, _, err := it.boolean(key, true)
	u.bools[key] = b
	return err
}

func (l *fileLoader) readUpdatePriority(u *ruleUpdate) error {
	s, v, err := u.it.str("priority")
	if err != nil {
		return err
	}
	p, ok := ParsePriority(s)
	if !ok {
		return l.invalid(v, u.it.ctx, "Invalid priority")
	}
	u.priority = &p
	return nil
}

// target finds the rule an update applies to and checks its source.
func (l *fileLoader) target(u *ruleUpdate, name, missing, emptyMsg string) (*Rule, error) {
	prev := l.col.Rule(name)
	if prev == nil {
		return nil, l.fail(u.it.n, CodeValidate, u.it.ctx, missing)
	}
	if u.empty() {
		return nil, l.fail(u.it.n, CodeValidate, u.it.ctx, emptyMsg)
	}
	if u.source != nil && *u.source != prev.Source {
		return nil, l.fail(sourceNode(u.it), CodeValidate, u.it.ctx, msgOtherSource)
	}
	return prev, nil
}

// appendRule adds text with one space (no parentheses), merges tags and
// appends exceptions.
func (l *fileLoader) appendRule(u *ruleUpdate, name string) error {
	r, err := l.target(u, name, msgNoPreviousAppend, "Appended rule must have exceptions or condition property")
	if err != nil {
		return err
	}
	if err := l.appendExceptions(r, u.exceptions); err != nil {
		return err
	}
	if u.cond != nil && u.cond.S != "" {
		r.Condition = r.Condition.join(*u.cond)
	}
	if u.output != nil && u.output.S != "" {
		l.setOutput(r, r.OutputText.join(*u.output))
	}
	if u.desc != nil && *u.desc != "" {
		r.Desc += " " + *u.desc
	}
	if u.hasTags {
		r.Tags = sortedSet(r.Tags, u.tags)
	}
	r.Last = l.col.tick()
	return nil
}

// replaceRule overwrites each given key. Replaced exceptions are validated
// and get default comps like a definition's, unlike upstream.
func (l *fileLoader) replaceRule(u *ruleUpdate, name string) error {
	r, err := l.target(u, name, msgNoPreviousReplace, "The rule must have at least one field that can be replaced")
	if err != nil {
		return err
	}
	if u.hasExcs {
		if r.Exceptions, err = l.defineExceptions(u.exceptions); err != nil {
			return err
		}
	}
	l.replaceFields(r, u)
	r.Last = l.col.tick()
	return nil
}

func (l *fileLoader) replaceFields(r *Rule, u *ruleUpdate) {
	if u.cond != nil {
		r.Condition = *u.cond
	}
	if u.output != nil {
		l.setOutput(r, *u.output)
	}
	if u.desc != nil {
		r.Desc = *u.desc
	}
	if u.hasTags {
		r.Tags = sortedSet(nil, u.tags)
	}
	if u.priority != nil {
		r.Priority = *u.priority
	}
	if u.duration != nil {
		r.CaptureDuration = *u.duration
	}
	for key, dst := range map[string]*bool{"enabled": &r.Enabled, "warn_evttypes": &r.WarnEvttypes,
		"skip-if-unknown-filter": &r.SkipIfUnknownFilter, "capture": &r.Capture} {
		if b, ok := u.bools[key]; ok {
			*dst = b
		}
	}
}
