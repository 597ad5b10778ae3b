package condition

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth is how deeply groups and transformers may nest, as in Falco.
const MaxDepth = 1000

// Parse parses a condition (RULES-LANGUAGE §2.1) into its syntax tree. It
// stops at the first error, which is always an *Error. Macro references and
// list names are left as they are; Expand resolves them.
func Parse(src string) (Node, error) {
	if err := checkInput(src); err != nil {
		return nil, err
	}
	p := &parser{lex: lexer{src: src}}
	return p.parse()
}

// checkInput rejects what the grammar cannot describe before lexing starts.
func checkInput(src string) *Error {
	if strings.TrimLeft(src, " \t\b\r\n\v\f") == "" {
		return &Error{Pos: 0, Msg: "filter input string is empty"}
	}
	if len(src) > math.MaxInt32 {
		return &Error{Pos: 0, Msg: "condition is too long"}
	}
	if i := strings.IndexByte(src, 0); i >= 0 {
		return &Error{Pos: Pos(i), Msg: "a filter value must not contain a NUL byte"}
	}
	return nil
}

// parser is a recursive-descent parser. Every method consumes what it
// parses and panics with a bailout on the first error.
type parser struct {
	lex   lexer
	last  string // text of the last consumed token, for Falco's "after '<last>'"
	depth int
	trace *[]lexCall // if set, records every lexer call (BenchmarkLex replays them)
}

// lexCall is one recorded lexer call.
type lexCall struct {
	m   mode
	off int
}

func (p *parser) parse() (n Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			n, err = nil, b.err
		}
	}()
	n = p.parseOr()
	if t := p.peek(modeAfterCheck); t.kind != tEOF {
		p.failf(t.pos, "unexpected token after '%s', expecting 'or', 'and'", shown(p.last))
	}
	return n, nil
}

// next consumes and returns the next token in mode m.
func (p *parser) next(m mode) token {
	t := p.peek(m)
	p.consume(t)
	return t
}

// peek returns the next token in mode m without consuming it. A malformed
// token is an error whatever the parser would do with it.
func (p *parser) peek(m mode) token {
	if p.trace != nil {
		*p.trace = append(*p.trace, lexCall{m, p.lex.off})
	}
	save := p.lex.off
	t := p.lex.next(m)
	p.lex.off = save
	if t.kind == tError {
		p.fail(t.pos, t.text)
	}
	return t
}

func (p *parser) consume(t token) {
	p.lex.off = t.after
	if t.kind != tEOF && t.kind != tIllegal {
		p.last = p.lex.src[t.pos:t.end]
	}
}

func (p *parser) fail(pos Pos, msg string) {
	panic(bailout{&Error{Pos: pos, Msg: msg}})
}

func (p *parser) failf(pos Pos, format string, args ...any) {
	p.fail(pos, fmt.Sprintf(format, args...))
}

// failExpected reports "expected <what>, found <t>".
func (p *parser) failExpected(t token, what string) {
	p.failf(t.pos, "expected %s, found %s", what, describe(p.lex.src, int(t.pos)))
}

// shown prepares token text for a message: Falco prints the token as it
// is, which is what we do unless it is long or has bytes that would break
// the message's line; those are escaped as in Go.
func shown(s string) string {
	const maxLen = 40
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < ' ' || r == 0x7f:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// enter and leave bound the nesting of groups and transformers.
func (p *parser) enter(pos Pos) {
	p.depth++
	if p.depth > MaxDepth {
		p.failf(pos, "exceeded max depth limit of %d", MaxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

// parseOr parses and_expr { "or" (BLANK and_expr | "(" expr ")") }. As in
// the spec's grammar, "or(" takes just the group, so "a or(b) and c" is an
// error, while "a or (b) and c" is a or ((b) and c).
func (p *parser) parseOr() Node {
	first := p.parseAnd()
	if p.peek(modeAfterCheck).kind != tOr {
		return first
	}
	terms := []Node{first}
	for p.acceptKeyword(tOr) {
		if p.lex.byteAt(p.lex.off) == '(' {
			terms = append(terms, p.parseGroupRest(p.next(modeCheck)))
		} else {
			terms = append(terms, p.parseAnd())
		}
	}
	return &Or{At: first.Position(), Terms: terms}
}

// parseAnd parses not_expr { "and" not_expr }; "and(" starts a group,
// which not_expr parses anyway.
func (p *parser) parseAnd() Node {
	first := p.parseNot()
	if p.peek(modeAfterCheck).kind != tAnd {
		return first
	}
	terms := []Node{first}
	for p.acceptKeyword(tAnd) {
		terms = append(terms, p.parseNot())
	}
	return &And{At: first.Position(), Terms: terms}
}

func (p *parser) acceptKeyword(k tokenKind) bool {
	t := p.peek(modeAfterCheck)
	if t.kind != k {
		return false
	}
	p.consume(t)
	return true
}

// parseNot parses { "not" BLANK+ } ( "not(" expr ")" | check ). Each "not"
// toggles, so "not not x" is x; the Not node sits at the first "not".
func (p *parser) parseNot() Node {
	neg, at := false, Pos(-1)
	for {
		t := p.peek(modeCheck)
		if t.kind != tNot && t.kind != tNotParen {
			return negate(neg, at, p.parseCheck())
		}
		p.consume(t)
		neg = !neg
		if at < 0 {
			at = t.pos
		}
		if t.kind == tNotParen {
			return negate(neg, at, p.parseGroupRest(t))
		}
	}
}

func negate(neg bool, at Pos, x Node) Node {
	if !neg {
		return x
	}
	return &Not{At: at, X: x}
}

// parseCheck parses "(" expr ")" | operand condition | IDENT.
func (p *parser) parseCheck() Node {
	t := p.next(modeCheck)
	switch t.kind {
	case tLParen:
		return p.parseGroupRest(t)
	case tField:
		return p.parseCondition(p.fieldRest(t))
	case tCall:
		return p.parseCondition(p.callRest(t))
	case tIdent:
		return p.macroRef(t)
	}
	p.failExpected(t, "a field, a macro name, 'not' or '('")
	return nil
}

// macroRef turns an identifier in check position into a macro reference.
// The keywords cannot be macro names: Falco would take "a and and" as a
// reference to a macro "and", which only ever fails later, less clearly.
func (p *parser) macroRef(t token) Node {
	switch t.text {
	case "not":
		next := p.peek(modeCheck)
		p.failf(next.pos, "expected a check after 'not', found %s", describe(p.lex.src, int(next.pos)))
	case "and", "or":
		p.failExpected(t, "a field, a macro name, 'not' or '('")
	}
	return &MacroRef{At: t.pos, Name: t.text}
}

// parseGroupRest parses the rest of a group after its opening token ("("
// or "not(").
func (p *parser) parseGroupRest(open token) Node {
	p.enter(open.pos)
	x := p.parseOr()
	t := p.peek(modeAfterCheck)
	if t.kind == tEOF {
		p.failExpected(t, "')'")
	}
	if t.kind != tRParen {
		p.failf(t.pos, "expected 'and', 'or' or ')' after '%s', found %s", shown(p.last), describe(p.lex.src, int(t.pos)))
	}
	p.consume(t)
	p.leave()
	return x
}

// parseCondition parses the operator and right-hand side of a check.
func (p *parser) parseCondition(left Operand) Node {
	t := p.peek(modeOperator)
	if t.kind != tOp {
		p.failExpected(t, fmt.Sprintf("a comparison operator after '%s'", shown(p.last)))
	}
	p.consume(t)
	c := &Check{At: left.Position(), Left: left, Op: t.op}
	switch {
	case t.op == OpExists:
	case t.op.IsList():
		c.Right = p.parseListRHS(t.op)
	case isNumeric(t.op):
		c.Right = p.parseNumberRHS(t.op)
	default:
		if m := p.peek(modeModifier); m.kind == tMod {
			p.consume(m)
			c.Mod = m.mod
			c.Right = p.listRest(Pos(m.after - 1))
		} else {
			c.Right = p.parseStringRHS(t.op)
		}
	}
	return c
}

// parseStringRHS parses QUOTED | BARESTR | val(field) | transformer.
func (p *parser) parseStringRHS(op Op) Node {
	t := p.next(modeString)
	switch t.kind {
	case tVal:
		return p.valRest(t)
	case tCall:
		return p.callRest(t)
	case tQuoted, tBare:
		return &Value{At: t.pos, Text: t.text, Quoted: t.kind == tQuoted}
	}
	p.failExpected(t, fmt.Sprintf("a string, val(field) or a transformer after '%s'", op))
	return nil
}

// parseNumberRHS parses NUMBER | val(field) | transformer.
func (p *parser) parseNumberRHS(op Op) Node {
	t := p.next(modeNumber)
	switch t.kind {
	case tVal:
		return p.valRest(t)
	case tCall:
		return p.callRest(t)
	case tNumber:
		return &Value{At: t.pos, Text: t.text}
	}
	p.failExpected(t, fmt.Sprintf("a number, val(field) or a transformer after '%s'", op))
	return nil
}

// parseListRHS parses list | IDENT | val(field) | transformer. "in foo" is a
// one-element list so that expansion can treat it like "in (foo)".
func (p *parser) parseListRHS(op Op) Node {
	t := p.next(modeListRHS)
	switch t.kind {
	case tLParen:
		return p.listRest(t.pos)
	case tVal:
		return p.valRest(t)
	case tCall:
		return p.callRest(t)
	case tIdent:
		return &List{At: t.pos, Items: []*Value{{At: t.pos, Text: t.text}}}
	case tField:
		p.failf(t.pos, "expected a list, a list name, val(field) or a transformer after '%s', found field '%s' (write val(%s) to compare with a field)",
			op, t.text, t.text)
	}
	p.failExpected(t, fmt.Sprintf("a list, a list name, val(field) or a transformer after '%s'", op))
	return nil
}

// listRest parses the items of a value list after its "(" at pos. An empty
// list is allowed; a trailing comma is not.
func (p *parser) listRest(at Pos) *List {
	l := &List{At: at, Paren: true}
	t := p.next(modeListItem)
	if t.kind == tRParen {
		return l
	}
	for {
		if t.kind != tQuoted && t.kind != tBare {
			p.failExpected(t, "a list item")
		}
		l.Items = append(l.Items, &Value{At: t.pos, Text: t.text, Quoted: t.kind == tQuoted})
		t = p.peek(modeListItem)
		if t.kind != tComma && t.kind != tRParen {
			p.failExpected(t, fmt.Sprintf("',' or ')' after list item '%s'", shown(p.last)))
		}
		p.consume(t)
		if t.kind == tRParen {
			return l
		}
		t = p.next(modeListItem)
	}
}

// fieldRest completes a field name with its optional [argument], which must
// follow the name directly.
func (p *parser) fieldRest(t token) *FieldRef {
	f := &FieldRef{At: t.pos, Name: t.text}
	if !p.lex.acceptByte('[') {
		return f
	}
	a := p.next(modeFieldArg)
	if a.kind != tQuoted && a.kind != tBare {
		p.failExpected(a, "a field argument (a quoted or bare string) after '['")
	}
	f.Arg, f.HasArg, f.ArgQuoted = a.text, true, a.kind == tQuoted
	if !p.lex.acceptByte(']') {
		p.failf(Pos(p.lex.off), "expected ']' after the argument of '%s', found %s", f.Name, describe(p.lex.src, p.lex.off))
	}
	p.last = "]"
	return f
}

// valRest parses the field and ")" after "val(".
func (p *parser) valRest(open token) *FieldRef {
	t := p.next(modeValField)
	if t.kind != tField {
		p.failExpected(t, "a field inside val()")
	}
	f := p.fieldRest(t)
	f.At, f.Val = open.pos, true
	if c := p.next(modePunct); c.kind != tRParen {
		p.failExpected(c, "')' to close val(")
	}
	return f
}

// callRest parses the arguments and ")" of a transformer after "name(".
func (p *parser) callRest(open token) *Transform {
	p.enter(open.pos)
	tr := &Transform{At: open.pos, Name: open.text}
	for {
		tr.Args = append(tr.Args, p.parseArg(tr.Name))
		t := p.next(modePunct)
		if t.kind == tRParen {
			break
		}
		if t.kind != tComma {
			p.failExpected(t, fmt.Sprintf("',' or ')' in the arguments of '%s'", tr.Name))
		}
	}
	p.leave()
	return tr
}

// parseArg parses targ = transformer | field | QUOTED | NUMBER | "(" list ")".
func (p *parser) parseArg(name string) Node {
	t := p.next(modeArg)
	switch t.kind {
	case tNumber, tQuoted:
		return &Value{At: t.pos, Text: t.text, Quoted: t.kind == tQuoted}
	case tLParen:
		return p.argListRest(t.pos)
	case tCall:
		return p.callRest(t)
	case tField:
		return p.fieldRest(t)
	}
	p.failExpected(t, fmt.Sprintf("a field, a transformer, a quoted string, a number or a list as argument of '%s'", name))
	return nil
}

// argListRest parses a list inside transformer arguments. Falco also allows
// fields and transformers there; List holds only values, so we do not.
func (p *parser) argListRest(at Pos) *List {
	l := &List{At: at, Paren: true}
	if t := p.peek(modePunct); t.kind == tRParen {
		p.consume(t)
		return l
	}
	for {
		t := p.next(modeArg)
		switch t.kind {
		case tQuoted, tNumber:
		case tField, tCall:
			p.failf(t.pos, "a list inside transformer arguments may hold only quoted strings and numbers, found %s",
				describe(p.lex.src, int(t.pos)))
		default:
			p.failExpected(t, "a quoted string or a number")
		}
		l.Items = append(l.Items, &Value{At: t.pos, Text: t.text, Quoted: t.kind == tQuoted})
		s := p.next(modePunct)
		if s.kind == tRParen {
			return l
		}
		if s.kind != tComma {
			p.failExpected(s, "',' or ')' in the list")
		}
	}
}
