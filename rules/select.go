package rules

// Selector is one entry of falco.yaml's "rules:" list, for example
// "- disable: {rule: 'Create*'}" or "- enable: {tag: k8s}". Rule is a
// wildcard pattern on rule names ('*' any run of characters, '?' one
// character); Tag must equal one of a rule's tags. When both are set,
// both apply, as in Falco.
type Selector struct {
	Enable bool
	Rule   string
	Tag    string
}

// Apply turns rules on or off, one selector after another, after loading.
// A selector can enable a rule whose file says "enabled: false". Rule order
// does not change.
func (c *Collection) Apply(sel []Selector) {
	for _, s := range sel {
		for _, r := range c.Rules {
			if (s.Rule != "" && wildcard(s.Rule, r.Name)) || (s.Tag != "" && hasTag(r, s.Tag)) {
				r.Enabled = s.Enable
			}
		}
	}
}

func hasTag(r *Rule, tag string) bool {
	for _, t := range r.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// wildcard matches name against a pattern of '*' and '?', rune by rune.
// It backtracks only to the last '*', so it runs in linear time.
func wildcard(pattern, name string) bool {
	p, s := []rune(pattern), []rune(name)
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi, si = pi+1, si+1
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
