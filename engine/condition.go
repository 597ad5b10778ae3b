package engine

import (
	"errors"
	"fmt"
	"slices"

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
	if err := b.checkRuleRefs(r, tree); err != nil {
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

// Macro implements condition.Env with the bodies compileMacros parsed.
func (b *builder) Macro(name string) (condition.Node, bool) {
	n, ok := b.parsed[name]
	return n, ok
}

// List implements condition.Env.
func (b *builder) List(name string) ([]string, bool) {
	items, ok := b.lists[name]
	return items, ok
}

// position maps a position in a rule's expanded tree back to its file.
func (b *builder) position(r *rules.Rule, p condition.Pos) rules.Position {
	switch {
	case p >= exceptionsBase:
		return r.Pos
	case p>>macroShift == 0:
		return r.Condition.Position(int(p))
	}
	if pos, ok := b.macroPosition(p); ok {
		return pos
	}
	return r.Pos
}

// macroPosition maps a position in a shifted macro tree to its file.
func (b *builder) macroPosition(p condition.Pos) (rules.Position, bool) {
	i := int(p>>macroShift) - 1
	if i < 0 || i >= len(b.col.Macros) {
		return rules.Position{}, false
	}
	return b.col.Macros[i].Condition.Position(int(p & offsetMask)), true
}

// conditionError records err, found compiling r's condition, at its place.
func (b *builder) conditionError(r *rules.Rule, ctx string, err error) {
	d := rules.Diag{Pos: r.Pos, Code: rules.CodeCompileCondition, Context: ctx, Msg: err.Error()}
	var ve *validateError
	var ce *condition.Error
	var uf *condition.UnknownFieldError
	switch {
	case errors.As(err, &ve):
		d.Code, d.Pos, d.Msg = rules.CodeValidate, b.position(r, ve.Pos), ve.Msg
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

// validateError is a condition error Falco reports as LOAD_ERR_VALIDATE:
// an undefined macro or a reference loop.
type validateError struct {
	Pos condition.Pos
	Msg string
}

func (e *validateError) Error() string { return e.Msg }

func newValidateError(at condition.Pos, format string, args ...any) *validateError {
	return &validateError{Pos: at, Msg: fmt.Sprintf(format, args...)}
}

// errBrokenMacro marks a rule that uses a macro whose own error is
// reported; Falco stops at that macro, before any rule.
var errBrokenMacro = errors.New("uses a macro that does not compile")

func macroContext(name string) string { return fmt.Sprintf("macro '%s'", name) }

// compileMacros parses every macro, then resolves the macros each one
// uses, before any rule, as Falco does: a macro no rule uses must be valid
// too.
func (b *builder) compileMacros() {
	for i, m := range b.col.Macros {
		b.parseMacro(m, condition.Pos(i+1)<<macroShift)
	}
	for _, m := range b.col.Macros {
		b.resolveMacro(m)
		b.resolved[m.Name] = true
	}
}

// parseMacro parses m's condition, shifted by base so that positions tell
// which macro a node comes from.
func (b *builder) parseMacro(m *rules.Macro, base condition.Pos) {
	n, err := condition.Parse(m.Condition.S)
	if err != nil {
		pos, msg := m.Pos, err.Error()
		var ce *condition.Error
		if errors.As(err, &ce) {
			pos, msg = m.Condition.Position(int(ce.Pos)), ce.Msg
		}
		b.add(rules.Diag{Pos: pos, Code: rules.CodeCompileCondition, Context: macroContext(m.Name), Msg: msg})
		b.broken[m.Name] = true
		return
	}
	shift(n, base)
	b.parsed[m.Name] = n
}

// resolveMacro checks the macros m uses. As in Falco, m sees only the
// macros first defined before its latest define or append
// (RULES-LANGUAGE §1.5), so order matters across files too.
func (b *builder) resolveMacro(m *rules.Macro) {
	n := b.parsed[m.Name]
	if n == nil {
		return
	}
	c := &refCheck{b: b, seen: map[string]bool{}, visible: func(t *rules.Macro) bool { return t.First < m.Last }}
	c.walk(n)
	err := c.err()
	if err != nil {
		pos, ok := b.macroPosition(err.Pos)
		if !ok {
			pos = m.Pos
		}
		b.add(rules.Diag{Pos: pos, Code: rules.CodeValidate, Context: macroContext(m.Name), Msg: err.Msg})
	}
	if err != nil || c.broken {
		b.broken[m.Name] = true
	}
}

// refCheck follows macro references the way Falco's macro resolver does:
// a macro already resolved is not entered (Falco pastes its resolved
// body); a visible one not resolved yet is entered with the same
// visibility. Errors point at the outermost reference.
type refCheck struct {
	b         *builder
	visible   func(*rules.Macro) bool
	path      []string        // macros entered, outermost first
	seen      map[string]bool // entered once: a second visit finds nothing new
	at        condition.Pos   // the outermost reference
	loop      *validateError  // the first reference loop
	undefined *validateError  // the first undefined or invisible macro
	broken    bool            // uses a macro whose own error is reported
}

func (c *refCheck) walk(n condition.Node) {
	condition.Inspect(n, func(n condition.Node) bool {
		if ref, ok := n.(*condition.MacroRef); ok {
			c.ref(ref)
		}
		return true
	})
}

func (c *refCheck) ref(ref *condition.MacroRef) {
	if len(c.path) == 0 {
		c.at = ref.At
	}
	m := c.b.col.Macro(ref.Name)
	switch {
	case m == nil || !c.visible(m):
		if c.undefined == nil {
			c.undefined = newValidateError(c.at, "Undefined macro '%s' used in filter.", ref.Name)
		}
	case slices.Contains(c.path, m.Name):
		if c.loop == nil {
			c.loop = newValidateError(c.at, "reference loop in macro '%s'", m.Name)
		}
	case c.b.broken[m.Name]:
		c.broken = true
	case !c.b.resolved[m.Name] && !c.seen[m.Name]:
		c.seen[m.Name] = true
		c.path = append(c.path, m.Name)
		c.walk(c.b.parsed[m.Name])
		c.path = c.path[:len(c.path)-1]
	}
}

// err is what Falco reports: the first loop, else the first undefined macro.
func (c *refCheck) err() *validateError {
	if c.loop != nil {
		return c.loop
	}
	return c.undefined
}

// checkRuleRefs checks the macros r's condition names. Every macro is
// resolved by now and visible to rules, but Falco compiles after each
// file: a macro first defined in a later file than the reference is
// undefined then.
func (b *builder) checkRuleRefs(r *rules.Rule, tree condition.Node) error {
	var undefined *validateError
	broken := false
	condition.Inspect(tree, func(n condition.Node) bool {
		ref, ok := n.(*condition.MacroRef)
		if !ok || undefined != nil {
			return true
		}
		m := b.col.Macro(ref.Name)
		switch {
		case m == nil || b.laterFile(m, r.Condition.Position(int(ref.At)).File):
			undefined = newValidateError(ref.At, "Undefined macro '%s' used in filter.", ref.Name)
		case b.broken[m.Name]:
			broken = true
		}
		return true
	})
	switch {
	case undefined != nil:
		return undefined
	case broken:
		return errBrokenMacro
	}
	return nil
}

// laterFile reports whether m was first defined in a file loaded after file.
func (b *builder) laterFile(m *rules.Macro, file string) bool {
	mi, fi := b.col.FileIndex(m.Pos.File), b.col.FileIndex(file)
	return mi >= 0 && fi >= 0 && mi > fi
}
