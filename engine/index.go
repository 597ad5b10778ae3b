package engine

import (
	"github.com/peregrine-sec/peregrine/condition"
)

// index narrows the rules worth evaluating for an event by its verb, the
// way OPA's rule index narrows by reference values. A rule whose expanded
// condition has a top-level "and" term `ka.verb = v` or `ka.verb in (...)`
// can only match events with one of those verbs; every other rule is a
// candidate for every event. Candidates keep evaluation order, so the index
// never changes which alerts come out, only how much work finds them.
type index struct {
	verb   *condition.Expr
	byVerb map[string][]*Rule // candidates for a verb, in rule order
	any    []*Rule            // candidates for any other (or no) verb
}

// verbsOf returns the verbs a condition requires, or nil when it can match
// any verb. Negated terms are never used: only a positive top-level test
// narrows the rule.
func verbsOf(n condition.Node) []string {
	for _, t := range andTerms(n, nil) {
		c, ok := t.(*condition.Check)
		if !ok {
			continue
		}
		f, ok := c.Left.(*condition.FieldRef)
		if !ok || f.Name != "ka.verb" || f.HasArg || c.Mod != condition.ModNone {
			continue
		}
		switch c.Op {
		case condition.OpEq, condition.OpEqEq, condition.OpIn, condition.OpIntersects:
		default:
			continue
		}
		switch r := c.Right.(type) {
		case *condition.Value:
			return []string{r.Text}
		case *condition.List:
			vs := make([]string, 0, len(r.Items))
			for _, it := range r.Items {
				vs = append(vs, it.Text)
			}
			return vs
		}
	}
	return nil
}

// andTerms flattens nested conjunctions into one list of terms.
func andTerms(n condition.Node, out []condition.Node) []condition.Node {
	if a, ok := n.(*condition.And); ok {
		for _, t := range a.Terms {
			out = andTerms(t, out)
		}
		return out
	}
	return append(out, n)
}

// buildIndex groups the compiled rules by the verbs they require.
func buildIndex(verb *condition.Expr, rs []*Rule, verbs [][]string) *index {
	ix := &index{verb: verb, byVerb: map[string][]*Rule{}}
	for i, r := range rs {
		if verbs[i] == nil {
			ix.any = append(ix.any, r)
			for v := range ix.byVerb {
				ix.byVerb[v] = append(ix.byVerb[v], r)
			}
			continue
		}
		for _, v := range verbs[i] {
			if _, ok := ix.byVerb[v]; !ok {
				ix.byVerb[v] = append([]*Rule(nil), ix.any...)
			}
			if l := ix.byVerb[v]; len(l) == 0 || l[len(l)-1] != r {
				ix.byVerb[v] = append(l, r)
			}
		}
	}
	return ix
}

// candidates returns the rules to evaluate for the current event.
func (ix *index) candidates(x *condition.Ctx) []*Rule {
	vs := ix.verb.Values(x)
	if len(vs) == 1 {
		if l, ok := ix.byVerb[vs[0]]; ok {
			return l
		}
	}
	return ix.any
}
