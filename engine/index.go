package engine

import (
	"github.com/peregrine-sec/peregrine/condition"
)

// The index narrows the rules worth evaluating for an event by its verb,
// resource and subresource, the way OPA's rule index narrows by reference
// values. A rule whose expanded condition requires, through its top-level
// "and" terms, `ka.verb = v`, `ka.verb in (...)`, or a disjunction of such
// tests (`(kmodify or kdelete)`), can only match events with one of those
// values; a rule that does not restrict a field is a candidate whatever
// its value. Candidates keep evaluation order, so the index never changes
// which alerts come out, only how much work finds them.

// The fields the index keys on, in order.
const (
	keyVerb = iota
	keyResource
	keySubresource
	numKeys
)

var keyFields = [numKeys]string{"ka.verb", "ka.target.resource", "ka.target.subresource"}

// indexKeys are the values of each key field a rule requires; nil for a
// field the rule does not restrict.
type indexKeys [numKeys][]string

// keysOf returns what a condition requires of each key field. Negated
// terms are never used: only a positive top-level test narrows the rule.
func keysOf(n condition.Node) indexKeys {
	var ks indexKeys
	for k, name := range keyFields {
		ks[k] = required(n, name)
	}
	return ks
}

// required returns the values n requires of field name, or nil when n
// can be true whatever the field's value: a conjunction requires what any
// of its terms requires, a disjunction the union of what all its terms
// require.
func required(n condition.Node, name string) []string {
	switch n := n.(type) {
	case *condition.And:
		for _, t := range n.Terms {
			if vs := required(t, name); vs != nil {
				return vs
			}
		}
		return nil
	case *condition.Or:
		var all []string
		for _, t := range n.Terms {
			vs := required(t, name)
			if vs == nil {
				return nil
			}
			all = append(all, vs...)
		}
		return all
	}
	return checkRequires(n, name)
}

// checkRequires returns the values check t requires of field name: one
// for `=`/`==`, each item for `in`/`intersects`; nil when t is no such
// check.
func checkRequires(t condition.Node, name string) []string {
	c, ok := t.(*condition.Check)
	if !ok {
		return nil
	}
	f, ok := c.Left.(*condition.FieldRef)
	if !ok || f.Name != name || f.HasArg || c.Mod != condition.ModNone {
		return nil
	}
	switch c.Op {
	case condition.OpEq, condition.OpEqEq, condition.OpIn, condition.OpIntersects:
	default:
		return nil
	}
	var vs []string
	switch r := c.Right.(type) {
	case *condition.Value:
		vs = []string{r.Text}
	case *condition.List:
		for _, it := range r.Items {
			vs = append(vs, it.Text)
		}
	}
	for _, v := range vs {
		if v == "" {
			return nil // "" stands for "any other value" in the index
		}
	}
	return vs
}

// index is a tree with a level per key field: at each level the rules
// left are split by the values they name for that field, plus "any other"
// (a value no rule of the subtree names, a missing value, or several). A
// level where no rule left names a value has only "any other", and the
// field is then not even read. The leaves hold the candidates in rule
// order.
type index struct {
	fields [numKeys]*condition.Expr
	root   *node
}

type node struct {
	next  map[string]*node // by the field's value
	other *node
	rules []*Rule // at the leaves
}

// buildIndex builds the tree over the enabled rules.
func buildIndex(fields [numKeys]*condition.Expr, rs []*Rule) *index {
	return &index{fields: fields, root: build(rs, 0)}
}

func build(rs []*Rule, k int) *node {
	if k == numKeys {
		return &node{rules: rs}
	}
	n := &node{other: build(filter(rs, k, ""), k+1)}
	for _, r := range rs {
		for _, v := range r.keys[k] {
			if _, ok := n.next[v]; !ok {
				if n.next == nil {
					n.next = map[string]*node{}
				}
				n.next[v] = build(filter(rs, k, v), k+1)
			}
		}
	}
	return n
}

// filter keeps the rules an event whose field k is v can match; v == ""
// stands for a value no rule names.
func filter(rs []*Rule, k int, v string) []*Rule {
	var out []*Rule
	for _, r := range rs {
		if admits(r.keys[k], v) {
			out = append(out, r)
		}
	}
	return out
}

func admits(required []string, v string) bool {
	if required == nil {
		return true
	}
	for _, x := range required {
		if x == v {
			return true
		}
	}
	return false
}

// candidates returns the rules to evaluate for the current event.
func (ix *index) candidates(x *condition.Ctx) []*Rule {
	n := ix.root
	for k := range numKeys {
		next := n.other
		if n.next != nil {
			if vs := ix.fields[k].Values(x); len(vs) == 1 {
				if c, ok := n.next[vs[0]]; ok {
					next = c
				}
			}
		}
		n = next
	}
	return n.rules
}
