package condition

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/peregrine-sec/peregrine/fields"
)

// operand yields the values of one side of a check for the current event.
// Zero values means missing.
type operand interface {
	values(x *Ctx) []string
	isList() bool
	typ() fields.Type
}

// fieldOperand reads a field through its shared slot.
type fieldOperand struct {
	slot int
	f    *fields.Field
}

func (o *fieldOperand) values(x *Ctx) []string { return x.Values(o.slot) }
func (o *fieldOperand) isList() bool           { return o.f.List }
func (o *fieldOperand) typ() fields.Type       { return o.f.Type }

// number returns the numeric value of an operand of a numeric type.
func number(o operand, x *Ctx) (uint64, bool) {
	if fo, ok := o.(*fieldOperand); ok && fo.f.Number != nil {
		return fo.f.Number(x.Ev)
	}
	vs := o.values(x)
	if len(vs) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(vs[0], 10, 64)
	return n, err == nil
}

// mapOperand applies a per-value string function (tolower, toupper, b64,
// basename).
type mapOperand struct {
	in operand
	fn stringFunc
}

// A stringFunc transforms s, writing a new string, if it needs one, at the
// end of the context's text.
type stringFunc func(x *Ctx, s string) (string, bool)

func (o *mapOperand) values(x *Ctx) []string {
	vs := o.in.values(x)
	if len(vs) == 0 {
		return nil
	}
	out := x.list(len(vs))
	for _, v := range vs {
		if s, ok := o.fn(x, v); ok {
			out = append(out, s)
		}
	}
	return out
}
func (o *mapOperand) isList() bool     { return o.in.isList() }
func (o *mapOperand) typ() fields.Type { return fields.String }

// lenOperand is len(x): bytes of a string, or elements of a list.
type lenOperand struct{ in operand }

func (o *lenOperand) values(x *Ctx) []string {
	vs := o.in.values(x)
	switch {
	case len(vs) == 0:
		return nil // an empty list is missing, so len never gives 0 for lists
	case o.in.isList():
		return x.number(len(vs))
	}
	return x.number(len(vs[0]))
}

// number returns n as the context's one-value list.
func (x *Ctx) number(n int) []string {
	from := len(x.text)
	x.text = strconv.AppendInt(x.text, int64(n), 10)
	return append(x.list(1), x.textFrom(from))
}
func (o *lenOperand) isList() bool     { return false }
func (o *lenOperand) typ() fields.Type { return fields.Uint64 }

// joinOperand is join(sep, list) or concat(a, b, ...): one string. A missing
// argument makes the result missing.
type joinOperand struct {
	sep   string
	parts []operand
}

func (o *joinOperand) values(x *Ctx) []string {
	// Every part first: a part that is itself a transformer writes to the
	// text, which must not happen while the result is being written.
	var small [8][]string
	parts := small[:0]
	for _, p := range o.parts {
		vs := p.values(x)
		if len(vs) == 0 {
			return nil
		}
		parts = append(parts, vs)
	}
	from := len(x.text)
	for i, vs := range parts {
		for j, v := range vs {
			if i > 0 || j > 0 {
				x.text = append(x.text, o.sep...)
			}
			x.text = append(x.text, v...)
		}
	}
	return append(x.list(1), x.textFrom(from))
}
func (o *joinOperand) isList() bool     { return false }
func (o *joinOperand) typ() fields.Type { return fields.String }

// constOperand is a literal argument of concat.
type constOperand struct{ v []string }

func (o *constOperand) values(*Ctx) []string { return o.v }
func (o *constOperand) isList() bool         { return false }
func (o *constOperand) typ() fields.Type     { return fields.String }

// stringFuncs are the per-value transformers. Case changes are per byte,
// ASCII only, as in Falco.
var stringFuncs = map[string]stringFunc{
	"tolower":  func(x *Ctx, s string) (string, bool) { return x.foldASCII(s, 'A', 'Z', 'a'-'A'), true },
	"toupper":  func(x *Ctx, s string) (string, bool) { return x.foldASCII(s, 'a', 'z', -('a' - 'A')), true },
	"basename": func(_ *Ctx, s string) (string, bool) { return s[strings.LastIndexByte(s, '/')+1:], true },
	"b64":      b64decode,
}

func b64decode(x *Ctx, s string) (string, bool) {
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	from := len(x.text)
	x.text = slices.Grow(x.text, enc.DecodedLen(len(s)))
	n, err := enc.Decode(x.text[from:from+enc.DecodedLen(len(s))], []byte(s))
	x.text = x.text[:from+n]
	return x.textFrom(from), err == nil
}

// operand compiles a field, transformer or literal argument.
func (c *Compiler) operand(n Node) (operand, error) {
	switch n := n.(type) {
	case *FieldRef:
		i, f, err := c.slotFor(n)
		if err != nil {
			return nil, err
		}
		return &fieldOperand{slot: i, f: f}, nil
	case *Transform:
		return c.transform(n)
	case *Value:
		return &constOperand{v: []string{n.Text}}, nil
	}
	return nil, &Error{Pos: n.Position(), Msg: fmt.Sprintf("expected a field or transformer, found %s", n)}
}

func (c *Compiler) transform(n *Transform) (operand, error) {
	switch n.Name {
	case "tolower", "toupper", "b64", "basename", "len":
		return c.unaryTransform(n)
	case "join":
		return c.join(n)
	case "concat":
		parts, err := c.operands(n.Args)
		return &joinOperand{parts: parts}, err
	}
	return nil, &Error{Pos: n.At, Msg: fmt.Sprintf("transformer '%s' is not supported for k8s_audit fields", n.Name)}
}

func (c *Compiler) unaryTransform(n *Transform) (operand, error) {
	if len(n.Args) != 1 {
		return nil, &Error{Pos: n.At, Msg: fmt.Sprintf("transformer '%s' takes exactly one argument", n.Name)}
	}
	in, err := c.operand(n.Args[0])
	if err != nil {
		return nil, err
	}
	if in.typ() != fields.String {
		return nil, &Error{Pos: n.At, Msg: fmt.Sprintf("transformer '%s' supports only string fields", n.Name)}
	}
	if n.Name == "len" {
		return &lenOperand{in: in}, nil
	}
	return &mapOperand{in: in, fn: stringFuncs[n.Name]}, nil
}

func (c *Compiler) join(n *Transform) (operand, error) {
	if len(n.Args) != 2 {
		return nil, &Error{Pos: n.At, Msg: "transformer 'join' takes a separator and a list"}
	}
	sep, ok := n.Args[0].(*Value)
	if !ok {
		return nil, &Error{Pos: n.At, Msg: "transformer 'join' needs a literal separator"}
	}
	in, err := c.operand(n.Args[1])
	if err != nil {
		return nil, err
	}
	return &joinOperand{sep: sep.Text, parts: []operand{in}}, nil
}

func (c *Compiler) operands(ns []Node) ([]operand, error) {
	out := make([]operand, len(ns))
	for i, a := range ns {
		o, err := c.operand(a)
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

// foldASCII maps bytes in [lo, hi] by delta; Falco changes case per byte,
// ASCII only.
// foldASCII changes the case of s's bytes in lo..hi by delta; s itself
// when none is in the range.
func foldASCII(s string, lo, hi byte, delta int) string {
	if !hasIn(s, lo, hi) {
		return s
	}
	return string(appendFold(nil, s, lo, hi, delta))
}

// foldASCII is foldASCII writing to the context's text.
func (x *Ctx) foldASCII(s string, lo, hi byte, delta int) string {
	if !hasIn(s, lo, hi) {
		return s
	}
	from := len(x.text)
	x.text = appendFold(x.text, s, lo, hi, delta)
	return x.textFrom(from)
}

func hasIn(s string, lo, hi byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= lo && s[i] <= hi {
			return true
		}
	}
	return false
}

func appendFold(dst []byte, s string, lo, hi byte, delta int) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= lo && c <= hi {
			c = byte(int(c) + delta)
		}
		dst = append(dst, c)
	}
	return dst
}

// Expr is a compiled field or transformer expression on its own, as output
// format strings use them.
type Expr struct {
	o operand
	// Field is the field read, or nil for a transformer.
	Field *fields.Field
}

// CompileExpr compiles a field or transformer expression. Plain fields share
// the compiler's slots with conditions.
func (c *Compiler) CompileExpr(n Operand) (*Expr, error) {
	o, err := c.operand(n)
	if err != nil {
		return nil, err
	}
	e := &Expr{o: o}
	if fo, ok := o.(*fieldOperand); ok {
		e.Field = fo.f
	}
	return e, nil
}

// Values returns the expression's values for the current event; none means
// missing.
func (e *Expr) Values(x *Ctx) []string { return e.o.values(x) }

// Number returns the numeric value of an expression of a numeric type.
func (e *Expr) Number(x *Ctx) (uint64, bool) { return number(e.o, x) }

// IsList reports whether the expression may yield several values.
func (e *Expr) IsList() bool { return e.o.isList() }

// Type returns the type of the expression's values.
func (e *Expr) Type() fields.Type { return e.o.typ() }
