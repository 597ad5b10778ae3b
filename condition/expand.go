package condition

import (
	"fmt"
	"slices"
)

// Env resolves the names a condition may use.
type Env interface {
	// Macro returns the parsed condition of a macro. Expand never changes
	// the tree it returns, so the caller may hand the same tree to every rule.
	Macro(name string) (Node, bool)
	// List returns the raw items of a rules-file list, as written in YAML.
	List(name string) ([]string, bool)
}

// maxExpandedNodes bounds the size of an expanded tree. Macros that use
// each other twice over double in size at each level; without a bound a
// short rules file could exhaust memory.
const maxExpandedNodes = 1 << 20

// Expand returns a copy of n in which every macro reference is replaced by
// the macro's expanded tree and every list name in a value list is replaced
// by the list's items (RULES-LANGUAGE §1.9, done on the tree):
//
//   - A *MacroRef becomes the macro's tree, expanded in turn. A macro that
//     uses itself, directly or not, fails with "reference loop in macro
//     '<m>'"; an unknown one with "Undefined macro '<name>' used in filter.".
//   - In a *List on the right of in, intersects, pmatch or a modifier
//     (oneof, anyof, allof), an unquoted item that names a list is replaced
//     by that list's items, which may name lists in turn. A list reached
//     again while it is being expanded stays a literal. Quoted items and
//     names that are not lists are literal values. Single values (the right
//     of "=") are never list names.
//
// Every node of the result is new. Nodes copied from a macro take the
// position of the outermost macro reference in n, and items taken from a
// list take the position of the name they replace, so that a later error
// points at text of n's condition. Errors are *Error with such positions.
func Expand(n Node, env Env) (Node, error) {
	x := &expander{env: env}
	return x.node(n)
}

type expander struct {
	env    Env
	macros []string // macros being expanded, outermost first
	lists  []string // lists being expanded, outermost first
	at     Pos      // position of the outermost macro reference
	nodes  int
}

// pos gives the position a copied node keeps: its own. A macro body's
// positions are offsets into the macro's text, so callers that expand
// several texts into one tree give each text its own range of offsets (the
// engine shifts each macro's tree before expanding) and can then tell where
// any node came from.
func (x *expander) pos(p Pos) Pos { return p }

// errorf reports an expansion error at the outermost macro reference when
// inside a macro, so the position is always in the text being expanded.
func (x *expander) errorf(p Pos, format string, args ...any) *Error {
	if len(x.macros) > 0 {
		p = x.at
	}
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// grow counts new nodes against maxExpandedNodes.
func (x *expander) grow(p Pos, n int) error {
	x.nodes += n
	if x.nodes > maxExpandedNodes {
		return x.errorf(p, "condition is too large after expanding macros and lists (more than %d nodes)", maxExpandedNodes)
	}
	return nil
}

func (x *expander) node(n Node) (Node, error) {
	if n == nil {
		return nil, &Error{Msg: "condition: cannot expand a nil node"}
	}
	if err := x.grow(n.Position(), 1); err != nil {
		return nil, err
	}
	switch n := n.(type) {
	case *And:
		terms, err := x.terms(n.Terms)
		return &And{At: x.pos(n.At), Terms: terms}, err
	case *Or:
		terms, err := x.terms(n.Terms)
		return &Or{At: x.pos(n.At), Terms: terms}, err
	case *Not:
		c, err := x.node(n.X)
		return &Not{At: x.pos(n.At), X: c}, err
	case *MacroRef:
		return x.macro(n)
	case *Check:
		return x.check(n)
	}
	return x.copy(n), nil
}

func (x *expander) terms(in []Node) ([]Node, error) {
	out := make([]Node, len(in))
	for i, t := range in {
		c, err := x.node(t)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func (x *expander) macro(ref *MacroRef) (Node, error) {
	if slices.Contains(x.macros, ref.Name) {
		return nil, x.errorf(ref.At, "reference loop in macro '%s'", ref.Name)
	}
	body, ok := x.env.Macro(ref.Name)
	if !ok || body == nil {
		return nil, x.errorf(ref.At, "Undefined macro '%s' used in filter.", ref.Name)
	}
	if len(x.macros) == 0 {
		x.at = ref.At
	}
	x.macros = append(x.macros, ref.Name)
	out, err := x.node(body)
	x.macros = x.macros[:len(x.macros)-1]
	return out, err
}

func (x *expander) check(c *Check) (Node, error) {
	left, _ := x.copy(c.Left).(Operand)
	out := &Check{At: x.pos(c.At), Left: left, Op: c.Op, Mod: c.Mod}
	l, isList := c.Right.(*List)
	switch {
	case c.Right == nil:
	case isList && (c.Op.IsList() || c.Mod != ModNone):
		r, err := x.list(l)
		if err != nil {
			return nil, err
		}
		out.Right = r
	default:
		out.Right = x.copy(c.Right)
	}
	return out, nil
}

// list expands the list names among the items of l.
func (x *expander) list(l *List) (*List, error) {
	out := &List{At: x.pos(l.At), Paren: l.Paren, Items: make([]*Value, 0, len(l.Items))}
	for _, v := range l.Items {
		expanded, err := x.item(out, v, x.pos(v.At))
		if err != nil {
			return nil, err
		}
		if expanded {
			out.Paren = true // "in foo" with foo = [a, b] must print as "in (a, b)"
		}
	}
	return out, nil
}

// item appends v to out, or the items of the list v names. It reports
// whether v was a list name.
func (x *expander) item(out *List, v *Value, at Pos) (bool, error) {
	raw, ok := x.listItems(v)
	if !ok {
		if err := x.grow(at, 1); err != nil {
			return false, err
		}
		out.Items = append(out.Items, &Value{At: at, Text: v.Text, Quoted: v.Quoted})
		return false, nil
	}
	x.lists = append(x.lists, v.Text)
	defer func() { x.lists = x.lists[:len(x.lists)-1] }()
	for _, r := range raw {
		iv, err := rawItem(r, v.Text, at)
		if err != nil {
			return true, err
		}
		if _, err := x.item(out, iv, at); err != nil {
			return true, err
		}
	}
	return true, nil
}

// listItems returns the raw items of the list v names, if v is an unquoted
// list name that is not already being expanded.
func (x *expander) listItems(v *Value) ([]string, bool) {
	if v.Quoted || slices.Contains(x.lists, v.Text) {
		return nil, false
	}
	return x.env.List(v.Text)
}

// rawItem turns a list item as written in YAML into a value. Falco pastes
// items into the condition text, so an item written with quotes ('"a b"')
// is a quoted string there; we read it the same way. Any other item is
// taken literally: quoted if it could not be written bare (Falco quotes
// items with spaces), and otherwise bare, so that it may name a list.
func rawItem(raw, list string, at Pos) (*Value, error) {
	if raw == "" || (raw[0] != '"' && raw[0] != '\'') {
		return &Value{At: at, Text: raw, Quoted: !isBareValue(raw)}, nil
	}
	l := lexer{src: raw}
	t := l.scanQuoted()
	if t.kind == tError {
		return nil, &Error{Pos: at, Msg: fmt.Sprintf("list '%s': item %s: %s", list, raw, t.text)}
	}
	if t.after != len(raw) {
		return nil, &Error{Pos: at, Msg: fmt.Sprintf("list '%s': item %s: unexpected text after the closing quote", list, raw)}
	}
	return &Value{At: at, Text: t.text, Quoted: true}, nil
}

// copy deep-copies an operand, value or list.
func (x *expander) copy(n Node) Node {
	switch n := n.(type) {
	case *FieldRef:
		c := *n
		c.At = x.pos(n.At)
		return &c
	case *Transform:
		c := &Transform{At: x.pos(n.At), Name: n.Name, Args: make([]Node, len(n.Args))}
		for i, a := range n.Args {
			c.Args[i] = x.copy(a)
		}
		return c
	case *Value:
		return &Value{At: x.pos(n.At), Text: n.Text, Quoted: n.Quoted}
	case *List:
		c := &List{At: x.pos(n.At), Paren: n.Paren, Items: make([]*Value, len(n.Items))}
		for i, v := range n.Items {
			c.Items[i] = x.copy(v).(*Value)
		}
		return c
	}
	return n
}
