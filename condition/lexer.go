package condition

import (
	"strings"
	"unicode/utf8"
)

// mode tells the lexer what the parser expects next. Falco's grammar is not
// context free at the token level: "<" is an operator after a field but a
// bare string after "=", "foo" is a macro name in check position but a
// value after "in". Each mode lists the tokens that may start there.
type mode uint8

const (
	modeCheck      mode = iota // '(' 'not' 'not(' field transformer( identifier
	modeOperator               // a comparison operator
	modeModifier               // oneof/anyof/allof followed by '(', else tIllegal
	modeString                 // right of a string operator: val( transformer( quoted bare
	modeNumber                 // right of a numeric operator: val( transformer( number
	modeListRHS                // right of a list operator: '(' val( transformer( identifier
	modeListItem               // inside a value list: quoted bare ',' ')'
	modeArg                    // transformer argument: number quoted '(' transformer( field
	modeValField               // the field inside val(
	modePunct                  // ',' or ')'
	modeAfterCheck             // 'and' 'or' ')' or the end
	modeFieldArg               // inside [ ]: quoted or bare; blanks are not skipped
)

// lexer scans tokens on demand. It holds only an offset, so the parser can
// look ahead by copying it.
type lexer struct {
	src string
	off int
}

// next skips blanks (except inside a field argument) and returns the token
// that starts there in mode m. It always advances past the returned token.
func (l *lexer) next(m mode) token {
	if m != modeFieldArg {
		l.skipBlanks()
	}
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: Pos(l.off), end: Pos(l.off), after: l.off}
	}
	var t token
	switch m {
	case modeCheck:
		t = l.scanCheck()
	case modeOperator:
		t = l.scanOperator()
	case modeModifier:
		t = l.scanModifier()
	case modeString:
		t = l.scanString()
	case modeNumber:
		t = l.scanNumberRHS()
	case modeListRHS:
		t = l.scanListRHS()
	case modeListItem:
		t = l.scanListItem()
	case modeArg:
		t = l.scanArg()
	case modeValField:
		t = l.scanValField()
	case modePunct:
		t = l.scanPunct()
	case modeAfterCheck:
		t = l.scanAfterCheck()
	case modeFieldArg:
		t = l.scanFieldArg()
	}
	l.off = t.after
	return t
}

func (l *lexer) skipBlanks() {
	for l.off < len(l.src) && isBlank(l.src[l.off]) {
		l.off++
	}
}

// byteAt returns the byte at i, or 0 past the end (the input has no NULs).
func (l *lexer) byteAt(i int) byte {
	if i < len(l.src) {
		return l.src[i]
	}
	return 0
}

// acceptByte consumes c if it comes next, without skipping blanks: Falco
// wants "[" right after a field name and "]" right after its argument.
func (l *lexer) acceptByte(c byte) bool {
	if l.byteAt(l.off) == c {
		l.off++
		return true
	}
	return false
}

// emit makes a token of kind k spanning l.off..end whose source text is its value.
func (l *lexer) emit(k tokenKind, end int) token {
	return token{kind: k, pos: Pos(l.off), end: Pos(end), after: end, text: l.src[l.off:end]}
}

func (l *lexer) illegal() token {
	return token{kind: tIllegal, pos: Pos(l.off), end: Pos(l.off), after: l.off}
}

func errorToken(pos int, msg string) token {
	return token{kind: tError, pos: Pos(pos), end: Pos(pos), after: pos, text: msg}
}

// wordEnd returns the end of IDENT = [a-zA-Z][a-zA-Z0-9_]* at i, or i.
func (l *lexer) wordEnd(i int) int {
	if !isLetter(l.byteAt(i)) {
		return i
	}
	i++
	for isWordByte(l.byteAt(i)) {
		i++
	}
	return i
}

// fieldEnd extends the word start..end to FIELDNAME = IDENT ( "." IDENT )+.
// It returns end unchanged when no "." IDENT follows.
func (l *lexer) fieldEnd(end int) int {
	for l.byteAt(end) == '.' && isLetter(l.byteAt(end+1)) {
		end = l.wordEnd(end + 1)
	}
	return end
}

// scanCall recognises "val(" (if allowVal) and "tolower(" and the other
// transformers. The "(" must follow the name directly, as in Falco.
func (l *lexer) scanCall(allowVal bool) (token, bool) {
	end := l.wordEnd(l.off)
	if l.byteAt(end) != '(' {
		return token{}, false
	}
	name := l.src[l.off:end]
	switch {
	case name == "val" && allowVal:
		t := l.emit(tVal, end)
		t.after = end + 1
		return t, true
	case transformers[name]:
		t := l.emit(tCall, end)
		t.after = end + 1
		return t, true
	}
	return token{}, false
}

func (l *lexer) scanCheck() token {
	if l.src[l.off] == '(' {
		return l.emit(tLParen, l.off+1)
	}
	end := l.wordEnd(l.off)
	if end == l.off {
		return l.illegal()
	}
	if l.src[l.off:end] == "not" {
		// Falco's "not[[:space:]]+": the blanks belong to the keyword.
		if isSpace(l.byteAt(end)) {
			t := l.emit(tNot, end)
			for isSpace(l.byteAt(t.after)) {
				t.after++
			}
			return t
		}
		if l.byteAt(end) == '(' {
			t := l.emit(tNotParen, end)
			t.after = end + 1
			return t
		}
	}
	if f := l.fieldEnd(end); f > end {
		return l.emit(tField, f)
	}
	if t, ok := l.scanCall(false); ok {
		return t
	}
	return l.emit(tIdent, end)
}

func (l *lexer) scanOperator() token {
	c, d := l.src[l.off], l.byteAt(l.off+1)
	switch {
	case c == '<' && d == '=':
		return l.opToken(OpLe, 2)
	case c == '<':
		return l.opToken(OpLt, 1)
	case c == '>' && d == '=':
		return l.opToken(OpGe, 2)
	case c == '>':
		return l.opToken(OpGt, 1)
	case c == '=' && d == '=':
		return l.opToken(OpEqEq, 2)
	case c == '=':
		return l.opToken(OpEq, 1)
	case c == '!' && d == '=':
		return l.opToken(OpNe, 2)
	}
	end := l.wordEnd(l.off)
	op, ok := wordOps[l.src[l.off:end]]
	if !ok {
		return l.illegal()
	}
	if needsBlank(op) && !isBlank(l.byteAt(end)) {
		return errorToken(end, "expected a blank after '"+op.String()+"'")
	}
	return l.opToken(op, end-l.off)
}

func (l *lexer) opToken(op Op, n int) token {
	t := l.emit(tOp, l.off+n)
	t.op = op
	return t
}

// scanModifier returns tMod only for "oneof (", "anyof (" or "allof (", so
// that "x = oneof" still compares with the bare string "oneof". The token's
// after skips the "(".
func (l *lexer) scanModifier() token {
	end := l.wordEnd(l.off)
	mod, ok := modWords[l.src[l.off:end]]
	if !ok {
		return l.illegal()
	}
	paren := end
	for isBlank(l.byteAt(paren)) {
		paren++
	}
	if l.byteAt(paren) != '(' {
		return l.illegal()
	}
	t := l.emit(tMod, end)
	t.mod, t.after = mod, paren+1
	return t
}

func (l *lexer) scanString() token {
	if t, ok := l.scanCall(true); ok {
		return t
	}
	if c := l.src[l.off]; c == '"' || c == '\'' {
		return l.scanQuoted()
	}
	return l.scanBare()
}

func (l *lexer) scanBare() token {
	end := l.off
	for end < len(l.src) && !endsBare(l.src[end]) {
		end++
	}
	if end == l.off {
		return l.illegal()
	}
	return l.emit(tBare, end)
}

func (l *lexer) scanNumberRHS() token {
	if t, ok := l.scanCall(true); ok {
		return t
	}
	return l.scanNumber()
}

// scanNumber matches 0[xX][0-9a-fA-F]+ or [+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?,
// the longest match as Falco's POSIX regexes do.
func (l *lexer) scanNumber() token {
	i := l.off
	if l.src[i] == '0' && (l.byteAt(i+1) == 'x' || l.byteAt(i+1) == 'X') && isHexDigit(l.byteAt(i+2)) {
		i += 2
		for isHexDigit(l.byteAt(i)) {
			i++
		}
		return l.emit(tNumber, i)
	}
	if c := l.src[i]; c == '+' || c == '-' {
		i++
	}
	if !isDigit(l.byteAt(i)) {
		return l.illegal()
	}
	i = l.digitsEnd(i)
	if l.byteAt(i) == '.' {
		i = l.digitsEnd(i + 1)
	}
	if e := l.byteAt(i); e == 'e' || e == 'E' {
		if s := l.byteAt(i + 1); (s == '+' || s == '-') && isDigit(l.byteAt(i+2)) {
			i = l.digitsEnd(i + 2)
		}
	}
	return l.emit(tNumber, i)
}

func (l *lexer) digitsEnd(i int) int {
	for isDigit(l.byteAt(i)) {
		i++
	}
	return i
}

func (l *lexer) scanListRHS() token {
	if l.src[l.off] == '(' {
		return l.emit(tLParen, l.off+1)
	}
	if t, ok := l.scanCall(true); ok {
		return t
	}
	end := l.wordEnd(l.off)
	if end == l.off {
		return l.illegal()
	}
	// A field here is an error, but naming it lets the parser suggest val().
	if f := l.fieldEnd(end); f > end {
		return l.emit(tField, f)
	}
	return l.emit(tIdent, end)
}

func (l *lexer) scanListItem() token {
	switch c := l.src[l.off]; c {
	case ')':
		return l.emit(tRParen, l.off+1)
	case ',':
		return l.emit(tComma, l.off+1)
	case '"', '\'':
		return l.scanQuoted()
	}
	return l.scanBare()
}

func (l *lexer) scanArg() token {
	switch c := l.src[l.off]; {
	case c == '(':
		return l.emit(tLParen, l.off+1)
	case c == '"' || c == '\'':
		return l.scanQuoted()
	case isDigit(c) || c == '+' || c == '-':
		return l.scanNumber()
	}
	if t, ok := l.scanCall(false); ok {
		return t
	}
	return l.scanValField()
}

func (l *lexer) scanValField() token {
	end := l.wordEnd(l.off)
	if f := l.fieldEnd(end); f > end {
		return l.emit(tField, f)
	}
	return l.illegal()
}

func (l *lexer) scanPunct() token {
	switch l.src[l.off] {
	case ',':
		return l.emit(tComma, l.off+1)
	case ')':
		return l.emit(tRParen, l.off+1)
	}
	return l.illegal()
}

// scanAfterCheck returns 'and', 'or' or ')'. Like Falco it accepts the
// keywords right after a value or ")" ("x=1and y=2"), but the keyword must
// be followed by a blank or "(".
func (l *lexer) scanAfterCheck() token {
	if l.src[l.off] == ')' {
		return l.emit(tRParen, l.off+1)
	}
	end := l.wordEnd(l.off)
	var k tokenKind
	switch l.src[l.off:end] {
	case "and":
		k = tAnd
	case "or":
		k = tOr
	default:
		return l.illegal()
	}
	if c := l.byteAt(end); !isBlank(c) && c != '(' {
		return errorToken(end, "expected blank or '(' after '"+l.src[l.off:end]+"'")
	}
	return l.emit(k, end)
}

func (l *lexer) scanFieldArg() token {
	if c := l.src[l.off]; c == '"' || c == '\'' {
		return l.scanQuoted()
	}
	end := l.off
	for end < len(l.src) && !endsBareArg(l.src[end]) {
		end++
	}
	if end == l.off {
		return l.illegal()
	}
	return l.emit(tBare, end)
}

// scanQuoted scans a '...' or "..." string. As in Falco, a quote closes the
// string only when the byte before it is not a backslash, so "a\\" is
// unterminated [QUIRK]; the content is unescaped afterwards.
func (l *lexer) scanQuoted() token {
	q := l.src[l.off]
	end := l.off + 1
	for ; end < len(l.src); end++ {
		if l.src[end] == q && l.src[end-1] != '\\' {
			break
		}
	}
	if end >= len(l.src) {
		return errorToken(l.off, "unterminated quoted string")
	}
	text, errPos, msg := unescape(l.src[l.off+1:end], q)
	if msg != "" {
		return errorToken(l.off+1+errPos, msg)
	}
	t := l.emit(tQuoted, end+1)
	t.text = text
	return t
}

// unescape decodes the body of a string quoted with q. On error it returns
// the offset of the offending backslash within s and a message.
func unescape(s string, q byte) (text string, errPos int, msg string) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, 0, ""
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		// The closing-quote rule guarantees a byte after every backslash.
		c, n, m := unescapeOne(s[i+1:], q)
		if m != "" {
			return "", i, m
		}
		b.WriteByte(c)
		i += n
	}
	return b.String(), 0, ""
}

// unescapeOne decodes the escape whose letter starts s and returns the byte
// it stands for and how many bytes of s it used.
func unescapeOne(s string, q byte) (byte, int, string) {
	switch s[0] {
	case 'b':
		return '\b', 1, ""
	case 'f':
		return '\f', 1, ""
	case 'n':
		return '\n', 1, ""
	case 'r':
		return '\r', 1, ""
	case 't':
		return '\t', 1, ""
	case '\\', '/':
		return s[0], 1, ""
	case ' ':
		// [QUIRK] Falco keeps "\ " working for old rules: one backslash, no space.
		return '\\', 1, ""
	case '"', '\'':
		if s[0] != q {
			return 0, 0, "invalid \\" + s[:1] + " escape in " + string(q) + "-quoted string"
		}
		return s[0], 1, ""
	case 'x':
		return unescapeHex(s)
	}
	r, _ := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return 0, 0, "unsupported string escape sequence: \\" + strings.ToValidUTF8(s[:1], "?")
	}
	return 0, 0, "unsupported string escape sequence: \\" + string(r)
}

func unescapeHex(s string) (byte, int, string) {
	if len(s) < 3 || !isHexDigit(s[1]) || !isHexDigit(s[2]) {
		return 0, 0, "invalid \\x escape: expected two hex digits"
	}
	c := hexVal(s[1])<<4 | hexVal(s[2])
	if c == 0 {
		return 0, 0, "a filter value must not contain a NUL byte"
	}
	return c, 3, ""
}

func hexVal(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
