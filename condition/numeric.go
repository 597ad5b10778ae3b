package condition

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/peregrine-sec/peregrine/fields"
)

// numCheck compares a numeric operand (evt.num, evt.rawtime, len(...)) with
// constants parsed when the rule loads.
type numCheck struct {
	o    operand
	op   Op
	vals []uint64
}

func (c *Compiler) numCheck(n *Check, lhs operand) (Evaluator, error) {
	if _, ok := n.Right.(*FieldRef); ok {
		return c.fieldCompare(n, lhs, n.Right)
	}
	switch n.Op {
	case OpEq, OpEqEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn, OpIntersects:
	default:
		return nil, &Error{Pos: n.At, Msg: fmt.Sprintf("'%s' operator not supported for numeric filters", n.Op)}
	}
	items, err := rhsItems(n)
	if err != nil {
		return nil, err
	}
	vals := make([]uint64, len(items))
	for i, it := range items {
		v, err := strconv.ParseUint(it, 10, 64)
		if err != nil {
			return nil, &Error{Pos: n.Right.Position(), Msg: fmt.Sprintf("%s is not a valid number", it)}
		}
		vals[i] = v
	}
	return &numCheck{o: lhs, op: n.Op, vals: vals}, nil
}

func (e *numCheck) Eval(x *Ctx) bool {
	v, ok := number(e.o, x)
	if !ok {
		return false
	}
	if e.op == OpIn || e.op == OpIntersects {
		return slices.Contains(e.vals, v)
	}
	return cmpOrdered(e.op, v, e.vals[0])
}

// cmpOrdered applies a comparison operator to two ordered values (numbers, or
// strings compared byte by byte as Falco does).
func cmpOrdered[T cmp.Ordered](op Op, a, b T) bool {
	switch op {
	case OpEq, OpEqEq:
		return a == b
	case OpNe:
		return a != b
	case OpLt:
		return a < b
	case OpLe:
		return a <= b
	case OpGt:
		return a > b
	case OpGe:
		return a >= b
	}
	return false
}

// fieldCompare compiles "lhs op val(field)" or "lhs op transformer(...)":
// both sides are extracted per event.
func (c *Compiler) fieldCompare(n *Check, lhs operand, r Node) (Evaluator, error) {
	if n.Op == OpPmatch || n.Op == OpRegex || n.Mod != ModNone {
		return nil, &Error{Pos: n.At, Msg: fmt.Sprintf("operator '%s' cannot take a field on the right-hand side", n.Op)}
	}
	rhs, err := c.operand(r)
	if err != nil {
		return nil, err
	}
	if numeric(lhs.typ()) != numeric(rhs.typ()) {
		return nil, &Error{Pos: r.Position(), Msg: "the two sides of the comparison have different types"}
	}
	return &fieldCmpCheck{l: lhs, r: rhs, op: n.Op, num: numeric(lhs.typ())}, nil
}

func numeric(t fields.Type) bool { return t == fields.Uint64 || t == fields.AbsTime }

type fieldCmpCheck struct {
	l, r operand
	op   Op
	num  bool
}

func (e *fieldCmpCheck) Eval(x *Ctx) bool {
	rv := e.r.values(x)
	if len(rv) == 0 {
		return false
	}
	if e.num {
		a, ok1 := number(e.l, x)
		b, ok2 := number(e.r, x)
		if !ok1 || !ok2 {
			return false
		}
		if e.op.IsList() {
			return a == b
		}
		return cmpOrdered(e.op, a, b)
	}
	lv := e.l.values(x)
	if len(lv) == 0 {
		return false
	}
	switch e.op {
	case OpIn:
		return allIn(lv, rv)
	case OpIntersects:
		for _, v := range lv {
			if slices.Contains(rv, v) {
				return true
			}
		}
		return false
	}
	return cmpStr(e.op, lv[0], rv[0])
}

// cmpStr applies a binary string operator to two values known only at
// evaluation time.
func cmpStr(op Op, a, b string) bool {
	switch op {
	case OpEq, OpEqEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		return cmpOrdered(op, a, b)
	case OpContains:
		return strings.Contains(a, b)
	case OpIContains:
		return containsFold(a, foldASCII(b, 'A', 'Z', 'a'-'A'))
	case OpStartsWith:
		return strings.HasPrefix(a, b)
	case OpEndsWith:
		return strings.HasSuffix(a, b)
	case OpGlob:
		return glob(b, a, false)
	case OpIGlob:
		return glob(b, a, true)
	}
	return false
}

func allIn(vs, set []string) bool {
	for _, v := range vs {
		if !slices.Contains(set, v) {
			return false
		}
	}
	return true
}
