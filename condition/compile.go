package condition

import (
	"fmt"

	"github.com/peregrine-sec/peregrine/fields"
)

// Evaluator is a compiled condition. Eval never fails: a missing field makes
// a check false.
type Evaluator interface {
	Eval(x *Ctx) bool
}

// Compiler turns expanded condition trees into evaluators. All conditions
// compiled by one Compiler share field slots, so an event's field is
// extracted at most once however many rules read it.
type Compiler struct {
	Fields *fields.Table
	// Warnings collects hints found while compiling (e.g. string operators
	// on list fields, which Falco >= 0.36 rejects).
	Warnings []Warning

	slots []slot
	index map[string]int
}

// NewCompiler returns a compiler resolving names against t.
func NewCompiler(t *fields.Table) *Compiler {
	return &Compiler{Fields: t, index: map[string]int{}}
}

// NewCtx returns an evaluation context for conditions of this compiler.
func (c *Compiler) NewCtx() *Ctx {
	x := &Ctx{slots: &c.slots}
	x.grow(len(c.slots))
	return x
}

// Compile compiles an expanded tree (macros and lists already resolved by
// Expand).
func (c *Compiler) Compile(n Node) (ev Evaluator, err error) {
	switch n := n.(type) {
	case *And:
		terms, err := c.compileAll(n.Terms)
		return &evalAnd{terms}, err
	case *Or:
		terms, err := c.compileAll(n.Terms)
		return &evalOr{terms}, err
	case *Not:
		x, err := c.Compile(n.X)
		return &evalNot{x}, err
	case *Check:
		return c.compileCheck(n)
	case *MacroRef:
		return nil, &Error{Pos: n.At, Msg: fmt.Sprintf("Undefined macro '%s' used in filter.", n.Name)}
	}
	return nil, &Error{Pos: n.Position(), Msg: fmt.Sprintf("unexpected %T in condition", n)}
}

func (c *Compiler) compileAll(ns []Node) ([]Evaluator, error) {
	out := make([]Evaluator, len(ns))
	for i, n := range ns {
		e, err := c.Compile(n)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// UnknownFieldError reports a field name that is not in the table. Rules
// with skip-if-unknown-filter turn it into a warning.
type UnknownFieldError struct {
	Pos  Pos
	Name string
}

func (e *UnknownFieldError) Error() string {
	return "filter_check called with nonexistent field " + e.Name
}

// slotFor returns the slot of a field reference, adding it when new.
func (c *Compiler) slotFor(r *FieldRef) (int, *fields.Field, error) {
	f, ok := c.Fields.Lookup(r.Name)
	if !ok {
		return 0, nil, &UnknownFieldError{Pos: r.At, Name: r.Name}
	}
	if f.Deprecated {
		c.Warnings = append(c.Warnings, Warning{Pos: r.At, Code: CodeCompileCondition,
			Msg: fmt.Sprintf("field %s is deprecated; `peregrine fields` names its replacement", r.Name)})
	}
	arg, err := f.ParseArg(r.Arg, r.HasArg)
	if err != nil {
		return 0, nil, &Error{Pos: r.At, Msg: err.Error()}
	}
	key := r.Name
	if r.HasArg {
		key += "[" + r.Arg + "]"
	}
	if i, ok := c.index[key]; ok {
		return i, f, nil
	}
	c.slots = append(c.slots, slot{f: f, arg: arg})
	c.index[key] = len(c.slots) - 1
	return len(c.slots) - 1, f, nil
}

type evalAnd struct{ terms []Evaluator }

func (e *evalAnd) Eval(x *Ctx) bool {
	for _, t := range e.terms {
		if !t.Eval(x) {
			return false
		}
	}
	return true
}

type evalOr struct{ terms []Evaluator }

func (e *evalOr) Eval(x *Ctx) bool {
	for _, t := range e.terms {
		if t.Eval(x) {
			return true
		}
	}
	return false
}

type evalNot struct{ x Evaluator }

func (e *evalNot) Eval(x *Ctx) bool { return !e.x.Eval(x) }
