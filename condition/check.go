package condition

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/fields"
)

// compileCheck picks one evaluator per (operator, operand type), with every
// constant (sets, patterns, numbers) prepared once here.
func (c *Compiler) compileCheck(n *Check) (Evaluator, error) {
	lhs, err := c.operand(n.Left)
	if err != nil {
		return nil, err
	}
	if n.Op == OpExists {
		if fo, ok := lhs.(*fieldOperand); ok && fo.f.Exists != nil {
			return &fieldExists{fo.f.Exists}, nil
		}
		return &existsCheck{lhs}, nil
	}
	switch lhs.typ() {
	case fields.Uint64, fields.AbsTime:
		return c.numCheck(n, lhs)
	case fields.Bool:
		if err := checkBoolRHS(n); err != nil {
			return nil, err
		}
	}
	if n.Op == OpBContains || n.Op == OpBStartsWith {
		return nil, &Error{Pos: n.At, Msg: fmt.Sprintf("'%s' operator not supported for string filters", n.Op)}
	}
	switch r := n.Right.(type) {
	case *FieldRef, *Transform:
		return c.fieldCompare(n, lhs, r)
	}
	items, err := rhsItems(n)
	if err != nil {
		return nil, err
	}
	c.warnTextOrder(n, items)
	if lhs.isList() {
		return c.listCheck(n, lhs, items)
	}
	m, err := stringMatcher(n, items)
	if err != nil {
		return nil, err
	}
	if e := decimalCheck(n, lhs, items); e != nil {
		return e, nil
	}
	if fo, ok := lhs.(*fieldOperand); ok {
		return &fieldStrCheck{slot: fo.slot, m: m}, nil
	}
	return &strCheck{o: lhs, m: m}, nil
}

// decimalCheck compiles an equality test on a string field whose text is a
// number in decimal (json.rawtime) to a comparison of numbers, which needs
// no text for the event. Only a canonical decimal can equal such text; it
// returns nil for anything it does not cover.
func decimalCheck(n *Check, lhs operand, items []string) Evaluator {
	fo, ok := lhs.(*fieldOperand)
	if !ok || fo.f.Type != fields.String || fo.f.Number == nil || n.Mod != ModNone {
		return nil
	}
	var want []uint64
	for _, it := range items {
		if v, err := strconv.ParseUint(it, 10, 64); err == nil && strconv.FormatUint(v, 10) == it {
			want = append(want, v)
		}
	}
	switch n.Op {
	case OpEq, OpEqEq, OpIn:
		return &decimalIn{num: fo.f.Number, want: want}
	case OpNe:
		return &decimalIn{num: fo.f.Number, want: want, not: true}
	}
	return nil
}

// decimalIn is true when the field has a value and it is (or, with not,
// is not) one of want; a missing value fails either way, as for text.
type decimalIn struct {
	num  func(*audit.Event) (uint64, bool)
	want []uint64
	not  bool
}

func (e *decimalIn) Eval(x *Ctx) bool {
	v, ok := e.num(x.Ev)
	return ok && slices.Contains(e.want, v) != e.not
}

// rhsItems returns the literal right-hand side as a list of strings.
func rhsItems(n *Check) ([]string, error) {
	switch r := n.Right.(type) {
	case *Value:
		return []string{r.Text}, nil
	case *List:
		out := make([]string, len(r.Items))
		for i, v := range r.Items {
			out[i] = v.Text
		}
		if !n.Op.IsList() && n.Mod == ModNone && len(out) != 1 {
			return nil, &Error{Pos: r.At, Msg: fmt.Sprintf("operator '%s' takes a single value, not a list", n.Op)}
		}
		return out, nil
	}
	return nil, &Error{Pos: n.At, Msg: fmt.Sprintf("operator '%s' needs a value", n.Op)}
}

// stringMatcher builds the test a single string value must pass.
func stringMatcher(n *Check, items []string) (func(string) bool, error) {
	if n.Op.IsList() {
		if n.Op == OpPmatch {
			return newPathSet(items).match, nil
		}
		return newStrSet(items).has, nil
	}
	if n.Mod != ModNone {
		return modMatcher(n, items)
	}
	return binaryMatcher(n, items[0])
}

// binaryMatcher returns value OP v.
func binaryMatcher(n *Check, v string) (func(string) bool, error) {
	switch n.Op {
	case OpEq, OpEqEq:
		return func(s string) bool { return s == v }, nil
	case OpNe:
		return func(s string) bool { return s != v }, nil
	case OpLt:
		return func(s string) bool { return s < v }, nil
	case OpLe:
		return func(s string) bool { return s <= v }, nil
	case OpGt:
		return func(s string) bool { return s > v }, nil
	case OpGe:
		return func(s string) bool { return s >= v }, nil
	case OpContains:
		return func(s string) bool { return strings.Contains(s, v) }, nil
	case OpIContains:
		lv := foldASCII(v, 'A', 'Z', 'a'-'A')
		return func(s string) bool { return containsFold(s, lv) }, nil
	case OpStartsWith:
		return func(s string) bool { return strings.HasPrefix(s, v) }, nil
	case OpEndsWith:
		return func(s string) bool { return strings.HasSuffix(s, v) }, nil
	case OpGlob:
		return func(s string) bool { return glob(v, s, false) }, nil
	case OpIGlob:
		return func(s string) bool { return glob(v, s, true) }, nil
	case OpRegex:
		re, err := regexp.Compile(`^(?:` + v + `)$`)
		if err != nil {
			return nil, &Error{Pos: n.At, Msg: "invalid regex pattern: " + err.Error()}
		}
		return re.MatchString, nil
	}
	return nil, &Error{Pos: n.At, Msg: fmt.Sprintf("operator '%s' cannot be used here", n.Op)}
}

// modMatcher handles "op oneof/anyof/allof (list)".
func modMatcher(n *Check, items []string) (func(string) bool, error) {
	ms := make([]func(string) bool, len(items))
	for i, it := range items {
		m, err := binaryMatcher(n, it)
		if err != nil {
			return nil, err
		}
		ms[i] = m
	}
	switch n.Mod {
	case ModAllOf:
		return func(s string) bool {
			for _, m := range ms {
				if !m(s) {
					return false
				}
			}
			return true
		}, nil
	case ModOneOf:
		return func(s string) bool {
			hits := 0
			for _, m := range ms {
				if m(s) {
					if hits++; hits > 1 {
						return false
					}
				}
			}
			return hits == 1
		}, nil
	}
	return func(s string) bool {
		for _, m := range ms {
			if m(s) {
				return true
			}
		}
		return false
	}, nil
}

func checkBoolRHS(n *Check) error {
	v, ok := n.Right.(*Value)
	if !ok || n.Op.IsList() {
		return nil
	}
	if v.Text != "true" && v.Text != "false" {
		return &Error{Pos: v.At, Msg: fmt.Sprintf("%s is not a valid bool (true or false)", v.Text)}
	}
	return nil
}

// listCheck compiles a check on a list-valued field. "in" needs every
// element in the set, "intersects" at least one. Other operators were
// rejected by Falco >= 0.36; older rules files use them, so they load with a
// warning and hold when any element satisfies them.
func (c *Compiler) listCheck(n *Check, lhs operand, items []string) (Evaluator, error) {
	switch n.Op {
	case OpIn:
		return &allInCheck{o: lhs, set: newStrSet(items)}, nil
	case OpIntersects:
		return &anyCheck{o: lhs, m: newStrSet(items).has}, nil
	}
	c.Warnings = append(c.Warnings, Warning{Pos: n.At, Code: "LOAD_COMPILE_CONDITION",
		Msg: fmt.Sprintf("'%s' operator on the list field %s: Falco >= 0.36 rejects this; Peregrine makes it true when any element matches", n.Op, n.Left)})
	m, err := stringMatcher(n, items)
	if err != nil {
		return nil, err
	}
	return &anyCheck{o: lhs, m: m}, nil
}

type existsCheck struct{ o operand }

func (e *existsCheck) Eval(x *Ctx) bool { return len(e.o.values(x)) > 0 }

// fieldExists tests a field's presence with its own Exists, building no value.
type fieldExists struct{ exists func(*audit.Event) bool }

func (e *fieldExists) Eval(x *Ctx) bool { return e.exists(x.Ev) }

// fieldStrCheck is the common case: one field slot, one string test.
type fieldStrCheck struct {
	slot int
	m    func(string) bool
}

func (e *fieldStrCheck) Eval(x *Ctx) bool {
	vs := x.Values(e.slot)
	return len(vs) > 0 && e.m(vs[0])
}

type strCheck struct {
	o operand
	m func(string) bool
}

func (e *strCheck) Eval(x *Ctx) bool {
	vs := e.o.values(x)
	return len(vs) > 0 && e.m(vs[0])
}

type anyCheck struct {
	o operand
	m func(string) bool
}

func (e *anyCheck) Eval(x *Ctx) bool {
	for _, v := range e.o.values(x) {
		if e.m(v) {
			return true
		}
	}
	return false
}

type allInCheck struct {
	o   operand
	set *strSet
}

func (e *allInCheck) Eval(x *Ctx) bool {
	vs := e.o.values(x)
	for _, v := range vs {
		if !e.set.has(v) {
			return false
		}
	}
	return len(vs) > 0
}

// warnTextOrder flags "<", "<=", ">", ">=" against a number on a string
// field: Falco compares the text, so ka.response.code >= 400 holds for "5"
// and not for "1000". The behaviour is kept for compatibility; the warning
// tells the user.
func (c *Compiler) warnTextOrder(n *Check, items []string) {
	switch n.Op {
	case OpLt, OpLe, OpGt, OpGe:
	default:
		return
	}
	if len(items) != 1 {
		return
	}
	if _, err := strconv.ParseFloat(items[0], 64); err != nil {
		return
	}
	c.Warnings = append(c.Warnings, Warning{Pos: n.At, Code: CodeCompileCondition,
		Msg: fmt.Sprintf("'%s' compares %s as text, not as a number (\"5\" > \"10\"), as Falco does", n.Op, n.Left)})
}
