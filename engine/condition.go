package engine

import (
	"errors"
	"fmt"

	"github.com/peregrine-sec/peregrine/condition"
	"github.com/peregrine-sec/peregrine/rules"
)

// Positions in a rule's expanded tree come from several texts: the rule's
// condition, its exceptions and every macro it uses. Each macro's nodes are
// shifted by (index+1)<<macroShift so an offset tells which text it is in.
const (
	macroShift = 20
	offsetMask = 1<<macroShift - 1
	// exceptionsBase marks nodes parsed from the generated exceptions text.
	exceptionsBase = condition.Pos(1<<31 - 1<<macroShift)
)

// condition parses, extends with exceptions, expands and compiles a rule's
// condition. It also returns the verbs and resources the rule requires,
// for the index.
func (b *builder) condition(r *rules.Rule) (condition.Evaluator, indexKeys, error) {
	tree, err := condition.Parse(r.Condition.S)
	if err != nil {
		return nil, indexKeys{}, err
	}
	if exc := exceptionText(r.Exceptions); exc != "" {
		et, err := condition.Parse(exc)
		if err != nil {
			return nil, indexKeys{}, &condition.Error{Pos: exceptionsBase, Msg: "in exceptions: " + err.Error()}
		}
		shift(et, exceptionsBase)
		tree = &condition.And{At: tree.Position(), Terms: []condition.Node{tree, et}}
	}
	tree, err = condition.Expand(tree, b)
	if err != nil {
		return nil, indexKeys{}, err
	}
	for _, w := range condition.Warnings(tree) {
		b.warn(b.position(r, w.Pos), w.Code, fmt.Sprintf("rule '%s'", r.Name), w.Msg)
	}
	ev, err := b.comp.Compile(tree)
	return ev, keysOf(tree), err
}

// Macro implements condition.Env: macro bodies are parsed on first use.
func (b *builder) Macro(name string) (condition.Node, bool) {
	if n, ok := b.parsed[name]; ok {
		return n, n != nil
	}
	m, ok := b.macros[name]
	if !ok {
		return nil, false
	}
	n, err := condition.Parse(m.Condition.S)
	if err != nil {
		var ce *condition.Error
		msg := err.Error()
		pos := m.Pos
		if errors.As(err, &ce) {
			pos, msg = m.Condition.Position(int(ce.Pos)), ce.Msg
		}
		b.add(rules.Diag{Pos: pos, Code: rules.CodeCompileCondition, Context: fmt.Sprintf("macro '%s'", name), Msg: msg})
		b.parsed[name] = nil
		return nil, false
	}
	shift(n, b.macroBase(name))
	b.parsed[name] = n
	return n, true
}

// List implements condition.Env.
func (b *builder) List(name string) ([]string, bool) {
	items, ok := b.lists[name]
	return items, ok
}

func (b *builder) macroBase(name string) condition.Pos {
	for i, m := range b.col.Macros {
		if m.Name == name {
			return condition.Pos(i+1) << macroShift
		}
	}
	return 0
}

// position maps a position in a rule's expanded tree back to its file.
func (b *builder) position(r *rules.Rule, p condition.Pos) rules.Position {
	switch {
	case p >= exceptionsBase:
		return r.Pos
	case p>>macroShift == 0:
		return r.Condition.Position(int(p))
	}
	i := int(p>>macroShift) - 1
	if i < len(b.col.Macros) {
		return b.col.Macros[i].Condition.Position(int(p & offsetMask))
	}
	return r.Pos
}

// conditionError records err, found compiling r's condition, at its place.
func (b *builder) conditionError(r *rules.Rule, ctx string, err error) {
	d := rules.Diag{Pos: r.Pos, Code: rules.CodeCompileCondition, Context: ctx, Msg: err.Error()}
	var ce *condition.Error
	var uf *condition.UnknownFieldError
	switch {
	case errors.As(err, &ce):
		d.Pos, d.Msg = b.position(r, ce.Pos), ce.Msg
	case errors.As(err, &uf):
		d.Pos = b.position(r, uf.Pos)
	}
	if d.Msg == "" {
		d.Msg = err.Error()
	}
	b.add(d)
}

// shift adds base to every position in a freshly parsed tree.
func shift(n condition.Node, base condition.Pos) {
	switch n := n.(type) {
	case *condition.And:
		n.At += base
		for _, t := range n.Terms {
			shift(t, base)
		}
	case *condition.Or:
		n.At += base
		for _, t := range n.Terms {
			shift(t, base)
		}
	case *condition.Not:
		n.At += base
		shift(n.X, base)
	case *condition.Check:
		n.At += base
		shift(n.Left, base)
		if n.Right != nil {
			shift(n.Right, base)
		}
	case *condition.Transform:
		n.At += base
		for _, a := range n.Args {
			shift(a, base)
		}
	case *condition.List:
		n.At += base
		for _, v := range n.Items {
			v.At += base
		}
	case *condition.MacroRef:
		n.At += base
	case *condition.FieldRef:
		n.At += base
	case *condition.Value:
		n.At += base
	}
}
