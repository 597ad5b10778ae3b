package condition

import (
	"strings"
)

// The String methods print canonical condition text: single blanks around
// operators and keywords, parentheses only where the tree needs them, and
// values quoted only when they were quoted or cannot be bare. For a tree
// that Parse returned, Parse(n.String()) gives the same tree back, apart
// from positions.

func (n *And) String() string       { return printed(n) }
func (n *Or) String() string        { return printed(n) }
func (n *Not) String() string       { return printed(n) }
func (n *MacroRef) String() string  { return n.Name }
func (n *Check) String() string     { return printed(n) }
func (n *FieldRef) String() string  { return printed(n) }
func (n *Transform) String() string { return printed(n) }
func (n *Value) String() string     { return printed(n) }
func (n *List) String() string      { return printed(n) }

func printed(n Node) string {
	var b strings.Builder
	writeNode(&b, n)
	return b.String()
}

func writeNode(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *And:
		writeTerms(b, n.Terms, " and ", func(t Node) bool { return isAndOr(t) })
	case *Or:
		writeTerms(b, n.Terms, " or ", func(t Node) bool { _, ok := t.(*Or); return ok })
	case *Not:
		b.WriteString("not ")
		writeGrouped(b, n.X, !isCheckLike(n.X))
	case *MacroRef:
		b.WriteString(n.Name)
	case *Check:
		writeCheck(b, n)
	case *FieldRef:
		writeField(b, n)
	case *Transform:
		writeTransform(b, n)
	case *Value:
		writeValue(b, n)
	case *List:
		writeList(b, n)
	case nil:
		b.WriteString("<nil>")
	default:
		b.WriteString(n.String())
	}
}

// writeTerms joins and/or terms, parenthesising those that would otherwise
// merge into this chain or bind differently.
func writeTerms(b *strings.Builder, terms []Node, sep string, needParens func(Node) bool) {
	for i, t := range terms {
		if i > 0 {
			b.WriteString(sep)
		}
		writeGrouped(b, t, needParens(t))
	}
}

func writeGrouped(b *strings.Builder, n Node, parens bool) {
	if parens {
		b.WriteByte('(')
	}
	writeNode(b, n)
	if parens {
		b.WriteByte(')')
	}
}

func isAndOr(n Node) bool {
	switch n.(type) {
	case *And, *Or:
		return true
	}
	return false
}

// isCheckLike reports whether n can follow "not " without parentheses.
func isCheckLike(n Node) bool {
	switch n.(type) {
	case *Check, *MacroRef:
		return true
	}
	return false
}

func writeCheck(b *strings.Builder, c *Check) {
	writeNode(b, c.Left)
	b.WriteByte(' ')
	b.WriteString(c.Op.String())
	if c.Right == nil {
		return
	}
	b.WriteByte(' ')
	if c.Mod != ModNone {
		b.WriteString(c.Mod.String())
		b.WriteByte(' ')
	}
	if l, ok := c.Right.(*List); ok && c.Mod != ModNone {
		writeParenList(b, l)
		return
	}
	writeNode(b, c.Right)
}

func writeField(b *strings.Builder, f *FieldRef) {
	if f.Val {
		b.WriteString("val(")
	}
	b.WriteString(f.Name)
	if f.HasArg {
		b.WriteByte('[')
		if f.ArgQuoted || !isBareArg(f.Arg) {
			writeQuoted(b, f.Arg)
		} else {
			b.WriteString(f.Arg)
		}
		b.WriteByte(']')
	}
	if f.Val {
		b.WriteByte(')')
	}
}

func writeTransform(b *strings.Builder, t *Transform) {
	b.WriteString(t.Name)
	b.WriteByte('(')
	for i, a := range t.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		if l, ok := a.(*List); ok {
			writeParenList(b, l)
		} else {
			writeNode(b, a)
		}
	}
	b.WriteByte(')')
}

// writeValue prints a value bare when it was bare and still reads back the
// same; numbers are bare strings as far as printing is concerned.
func writeValue(b *strings.Builder, v *Value) {
	if v.Quoted || !isBareValue(v.Text) {
		writeQuoted(b, v.Text)
		return
	}
	b.WriteString(v.Text)
}

// writeList prints the "in foo" form when that is how it was written and
// still reads back the same, and "(a, b)" otherwise.
func writeList(b *strings.Builder, l *List) {
	if !l.Paren && len(l.Items) == 1 && !l.Items[0].Quoted && isIdent(l.Items[0].Text) {
		b.WriteString(l.Items[0].Text)
		return
	}
	writeParenList(b, l)
}

func writeParenList(b *strings.Builder, l *List) {
	b.WriteByte('(')
	for i, v := range l.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		writeValue(b, v)
	}
	b.WriteByte(')')
}

// writeQuoted writes s double-quoted, escaping what the lexer would not
// read back as itself.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\' && i == len(s)-1:
			// "a\\" would not be closed ([QUIRK], see scanQuoted): a final
			// backslash is written in hex instead.
			b.WriteString(`\x5c`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// isBareValue reports whether s lexes back as one bare string.
func isBareValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if endsBare(s[i]) || s[i] == 0 {
			return false
		}
	}
	return true
}

// isBareArg reports whether s lexes back as one bare field argument.
func isBareArg(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if endsBareArg(s[i]) || s[i] == 0 {
			return false
		}
	}
	return true
}

// isIdent reports whether s is an IDENT: [a-zA-Z][a-zA-Z0-9_]*.
func isIdent(s string) bool {
	l := lexer{src: s}
	return s != "" && l.wordEnd(0) == len(s)
}
