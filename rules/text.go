package rules

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// source is the raw bytes of one rules file with its line starts, used to
// map decoded scalars back to the file. The YAML parser only tells where a
// scalar starts; folding, indentation and escapes move everything after
// that, so (like cel-go's policy parser) the raw lines are read again.
type source struct {
	name      string
	raw       []byte
	lineStart []int // byte offset of each line, 0-based index
}

func newSource(name string, raw []byte) *source {
	s := &source{name: name, raw: raw, lineStart: []int{0}}
	for i := 0; i < len(raw); {
		n := lineBreak(raw[i:])
		if n == 0 {
			i++
			continue
		}
		i += n
		s.lineStart = append(s.lineStart, i)
	}
	return s
}

// lineBreak gives the length of the line break at the start of b, or 0.
// These are the breaks the YAML parser counts lines by: CR LF, CR, LF,
// NEL, LS and PS.
func lineBreak(b []byte) int {
	switch {
	case len(b) >= 2 && b[0] == '\r' && b[1] == '\n':
		return 2
	case len(b) >= 1 && (b[0] == '\r' || b[0] == '\n'):
		return 1
	case bytes.HasPrefix(b, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(b, []byte("\u2028")), bytes.HasPrefix(b, []byte("\u2029")):
		return 3
	}
	return 0
}

// lineEnd gives the offset where the line starting at off ends.
func (s *source) lineEnd(off int) int {
	for j := off; j < len(s.raw); j++ {
		if lineBreak(s.raw[j:]) > 0 {
			return j
		}
	}
	return len(s.raw)
}

// lines is the number of lines, counting a last line without a newline.
func (s *source) lines() int {
	n := len(s.lineStart)
	if n > 1 && s.lineStart[n-1] == len(s.raw) {
		n--
	}
	return n
}

// offset converts a 1-based line and rune column to a byte offset, or -1.
func (s *source) offset(line, col int) int {
	if line < 1 || line > len(s.lineStart) || col < 1 {
		return -1
	}
	j := s.lineStart[line-1]
	end := s.lineEnd(j)
	for c := 1; c < col; c++ {
		if j >= end {
			return -1
		}
		_, n := utf8.DecodeRune(s.raw[j:])
		j += n
	}
	return j
}

// mark makes a Text mark at line:col that knows where its line ends.
func (s *source) mark(off, line, col int) mark {
	m := mark{off: off, file: s.name, line: line, col: col}
	if line >= 1 && line <= len(s.lineStart) {
		start := s.lineStart[line-1]
		m.maxCol = max(utf8.RuneCount(s.raw[start:s.lineEnd(start)])+1, col)
	}
	return m
}

// pos gives the position of a node.
func (s *source) pos(n *yaml.Node) Position {
	if n == nil {
		return Position{File: s.name}
	}
	return Position{File: s.name, Line: n.Line, Col: n.Column}
}

// text builds the Text of a scalar node. Every non-blank rune of the
// decoded value is matched, in order, with a rune of the raw file; runs that
// line up byte for byte share one mark. Matching stops at the first rune
// that does not line up, and later offsets then extend the last mark: exact
// for block and plain scalars, and for quoted ones with ordinary escapes.
func (s *source) text(n *yaml.Node) Text {
	t := Text{S: n.Value, file: s.name, marks: []mark{s.mark(0, n.Line, n.Column)}}
	a := aligner{src: s, t: &t, style: n.Style}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		// Content starts on the line after the indicator.
		a.line, a.col = n.Line+1, 1
	case n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0:
		a.line, a.col = n.Line, n.Column+1
		t.marks[0].col++
	default:
		a.line, a.col = n.Line, n.Column
	}
	a.j = s.offset(a.line, a.col)
	if a.j >= 0 {
		a.run()
	}
	return t
}

type aligner struct {
	src       *source
	t         *Text
	style     yaml.Style
	i, j      int // offsets in t.S and src.raw
	line, col int // position of src.raw[j]
	// last matched rune, to tell whether a new mark is needed
	lastI, lastLine, lastCol int
	matched                  bool
}

func (a *aligner) run() {
	raw, s := a.src.raw, a.t.S
	for a.i < len(s) && a.j < len(raw) {
		r, rn := utf8.DecodeRuneInString(s[a.i:])
		if isBlank(r) {
			a.i += rn
			continue
		}
		if n := lineBreak(raw[a.j:]); n > 0 {
			a.j += n
			a.line, a.col = a.line+1, 1
			continue
		}
		c, cn := utf8.DecodeRune(raw[a.j:])
		if isBlank(c) {
			a.advance(cn)
			continue
		}
		ok, stop := a.step(c, cn, r, rn)
		if stop || !ok {
			return
		}
	}
}

// step matches raw rune c (cn bytes) against decoded rune r (rn bytes),
// handling the escapes of quoted styles. stop means the scalar has ended.
func (a *aligner) step(c rune, cn int, r rune, rn int) (ok, stop bool) {
	switch {
	case a.style&yaml.DoubleQuotedStyle != 0 && c == '"':
		return false, true
	case a.style&yaml.DoubleQuotedStyle != 0 && c == '\\':
		return a.escape(r, rn), false
	case a.style&yaml.SingleQuotedStyle != 0 && c == '\'':
		if a.j+1 >= len(a.src.raw) || a.src.raw[a.j+1] != '\'' {
			return false, true
		}
		if r != '\'' {
			return false, false
		}
		a.record()
		a.i += rn
		a.advance(2)
		return true, false
	}
	if c != r {
		return false, false
	}
	a.record()
	a.i += rn
	a.advance(cn)
	return true, false
}

// escape handles a backslash escape of a double-quoted scalar.
func (a *aligner) escape(r rune, rn int) bool {
	raw := a.src.raw
	if a.j+1 >= len(raw) {
		return false
	}
	if lineBreak(raw[a.j+1:]) > 0 {
		a.advance(1) // escaped line break: the break itself is skipped next
		return true
	}
	dec, n := decodeEscape(raw[a.j+1:])
	if n == 0 {
		return false
	}
	if isBlank(dec) {
		a.advance(1 + n) // its decoded blank was skipped on the other side
		return true
	}
	if dec != r {
		return false
	}
	a.record()
	a.i += rn
	a.advance(1 + n)
	return true
}

// advance moves over n bytes of one line of raw, one rune per column.
func (a *aligner) advance(n int) {
	a.col += utf8.RuneCount(a.src.raw[a.j : a.j+n])
	a.j += n
}

// record notes that s[i] sits at line:col, adding a mark only where the
// previous run does not already predict it.
func (a *aligner) record() {
	if a.matched && a.line == a.lastLine &&
		a.col == a.lastCol+utf8.RuneCountInString(a.t.S[a.lastI:a.i]) {
		a.lastI, a.lastCol = a.i, a.col
		return
	}
	m := a.src.mark(a.i, a.line, a.col)
	if last := len(a.t.marks) - 1; a.t.marks[last].off == a.i {
		a.t.marks[last] = m
	} else {
		a.t.marks = append(a.t.marks, m)
	}
	a.matched = true
	a.lastI, a.lastLine, a.lastCol = a.i, a.line, a.col
}

// simpleEscapes and hexEscapes are YAML's double-quoted escapes.
var (
	simpleEscapes = map[byte]rune{
		'0': 0, 'a': 7, 'b': 8, 't': 9, '\t': 9, 'n': 10, 'v': 11, 'f': 12,
		'r': 13, 'e': 27, ' ': ' ', '"': '"', '/': '/', '\\': '\\',
		'N': 0x85, '_': 0xA0, 'L': 0x2028, 'P': 0x2029,
	}
	hexEscapes = map[byte]int{'x': 2, 'u': 4, 'U': 8}
)

// decodeEscape decodes the YAML escape after a backslash: the rune and the
// number of raw bytes it used, or 0 when it is not a valid escape.
func decodeEscape(b []byte) (rune, int) {
	if len(b) == 0 {
		return 0, 0
	}
	if r, ok := simpleEscapes[b[0]]; ok {
		return r, 1
	}
	width := hexEscapes[b[0]]
	if width == 0 || len(b) < 1+width {
		return 0, 0
	}
	v, err := strconv.ParseUint(string(b[1:1+width]), 16, 32)
	if err != nil || v > utf8.MaxRune {
		return 0, 0
	}
	return rune(v), 1 + width
}
