package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/peregrine-sec/peregrine/condition"
	"github.com/peregrine-sec/peregrine/fields"
)

// Format is a compiled Falco output string: literal text and %field tokens.
type Format struct {
	parts []part
	// keys are the output_fields keys in JSON order (sorted, unique), with
	// the expression that fills each.
	keys []outKey
}

type part struct {
	lit   string
	expr  *condition.Expr // nil for literal text
	width int             // pad or truncate to this many bytes; 0 = as is
}

type outKey struct {
	name string
	expr *condition.Expr
}

// compileFormat compiles an output string. After '%' come optional width
// digits and then a field or transformer expression; for a plain field the
// longest prefix that names a field is used, so "%ka.verbx" prints the verb
// followed by "x".
func compileFormat(c *condition.Compiler, s string) (*Format, error) {
	f := &Format{}
	keys := map[string]*condition.Expr{}
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			f.lit(s)
			break
		}
		f.lit(s[:i])
		s = s[i+1:]
		if s == "" {
			return nil, fmt.Errorf("invalid formatting syntax: formatting cannot end with a %%")
		}
		width, n := leadingDigits(s)
		s = s[n:]
		tok, rest, err := splitToken(c.Fields, s)
		if err != nil {
			return nil, err
		}
		e, names, err := compileToken(c, tok)
		if err != nil {
			return nil, err
		}
		f.parts = append(f.parts, part{expr: e, width: width})
		for name, ex := range names {
			keys[name] = ex
		}
		s = rest
	}
	f.keys = sortedKeys(keys)
	return f, nil
}

func (f *Format) lit(s string) {
	if s != "" {
		f.parts = append(f.parts, part{lit: s})
	}
}

func leadingDigits(s string) (int, int) {
	w, n := 0, 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' && w < 1<<20 {
		w = w*10 + int(s[n]-'0')
		n++
	}
	return w, n
}

// splitToken returns the expression at the start of s and the text after it.
func splitToken(t *fields.Table, s string) (tok, rest string, err error) {
	n := 0
	for n < len(s) && isNameByte(s[n]) {
		n++
	}
	name := s[:n]
	if n < len(s) && s[n] == '(' && isTransformer(name) {
		end := matchParen(s, n)
		if end < 0 {
			return "", "", fmt.Errorf("unknown filter: %s: unbalanced parentheses", s)
		}
		return s[:end], s[end:], nil
	}
	if n < len(s) && s[n] == '[' {
		if _, ok := t.Lookup(name); ok {
			end := strings.IndexByte(s[n:], ']')
			if end < 0 {
				return "", "", fmt.Errorf("unknown filter: %s: missing ']'", s)
			}
			return s[:n+end+1], s[n+end+1:], nil
		}
	}
	if f, ok := t.LongestPrefix(name); ok {
		return s[:len(f.Name)], s[len(f.Name):], nil
	}
	return "", "", fmt.Errorf("unknown filter: %s", firstWord(s))
}

func isNameByte(c byte) bool {
	return c == '.' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isTransformer(name string) bool {
	switch name {
	case "tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt":
		return true
	}
	return false
}

// matchParen returns the index after the parenthesis closing the one at
// s[open], skipping quoted text, or -1.
func matchParen(s string, open int) int {
	depth := 0
	var quote byte
	for i := open; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// compileToken compiles one %token and returns it with the output_fields
// keys it contributes: the field itself, or the fields inside a transformer.
func compileToken(c *condition.Compiler, tok string) (*condition.Expr, map[string]*condition.Expr, error) {
	n, err := condition.Parse(tok + " exists")
	if err != nil {
		return nil, nil, fmt.Errorf("unknown filter: %s: %v", tok, err)
	}
	chk, ok := n.(*condition.Check)
	if !ok {
		return nil, nil, fmt.Errorf("unknown filter: %s", tok)
	}
	e, err := c.CompileExpr(chk.Left)
	if err != nil {
		return nil, nil, fmt.Errorf("unknown filter: %s: %v", tok, err)
	}
	keys := map[string]*condition.Expr{}
	if err := collectFieldKeys(c, chk.Left, keys); err != nil {
		return nil, nil, err
	}
	return e, keys, nil
}

func collectFieldKeys(c *condition.Compiler, n condition.Node, keys map[string]*condition.Expr) error {
	switch n := n.(type) {
	case *condition.FieldRef:
		e, err := c.CompileExpr(n)
		if err != nil {
			return err
		}
		keys[n.String()] = e
	case *condition.Transform:
		for _, a := range n.Args {
			if err := collectFieldKeys(c, a, keys); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]*condition.Expr) []outKey {
	out := make([]outKey, 0, len(m))
	for k, e := range m {
		out = append(out, outKey{name: k, expr: e})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// render writes the formatted output for the current event: a missing value
// prints "<NA>", a list prints "(a,b,c)".
func (f *Format) render(x *condition.Ctx, b *strings.Builder) {
	for _, p := range f.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		if p.width == 0 {
			writeValue(b, p.expr, x)
			continue
		}
		var tmp strings.Builder
		writeValue(&tmp, p.expr, x)
		s := tmp.String()
		if len(s) > p.width {
			s = s[:p.width]
		}
		b.WriteString(s)
		b.WriteString(strings.Repeat(" ", p.width-len(s)))
	}
}

func writeValue(b *strings.Builder, e *condition.Expr, x *condition.Ctx) {
	vs := e.Values(x)
	switch {
	case len(vs) == 0:
		b.WriteString("<NA>")
	case e.IsList():
		b.WriteByte('(')
		for i, v := range vs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v)
		}
		b.WriteByte(')')
	default:
		b.WriteString(vs[0])
	}
}
