package rules

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Position is a place in a rules file. Line and Col are 1-based; Col counts
// characters (runes), as the YAML parser does. A zero Line means unknown.
type Position struct {
	File      string
	Line, Col int
}

// IsValid reports whether the position names a line.
func (p Position) IsValid() bool { return p.Line > 0 }

// String gives "file:line:col", leaving out what is unknown (like
// go/token.Position).
func (p Position) String() string {
	s := p.File
	if p.IsValid() {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	if s == "" {
		s = "-"
	}
	return s
}

// before orders positions inside one file.
func (p Position) before(q Position) bool {
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Text is a condition (or output) string together with a map from byte
// offsets in S back to positions in the rules file. Conditions are usually
// folded block scalars and appends join several YAML nodes, so an offset
// reported by the condition parser is only meaningful through Position.
type Text struct {
	S     string
	file  string // for Position when there are no marks
	marks []mark // sorted by off; each starts a run that maps byte for byte
}

// mark says that the rune at byte offset off of S sits at file:line:col,
// and so do the following runes, one column each, until the next mark.
// Appends join texts from several files, so each mark names its file.
type mark struct {
	off       int
	file      string
	line, col int
	maxCol    int // one past the line's last column; 0 when unknown
}

// NewText returns a Text whose runes all sit on one line starting at pos,
// for conditions that do not come from a file (tests, command lines).
func NewText(s string, pos Position) Text {
	t := Text{S: s, file: pos.File}
	if pos.IsValid() {
		t.marks = []mark{{off: 0, file: pos.File, line: pos.Line, col: max(pos.Col, 1)}}
	}
	return t
}

// Position maps a byte offset in S to the file. Offsets out of range are
// clamped, so a parser's "unexpected end" offset (len(S)) still maps.
func (t Text) Position(off int) Position {
	if len(t.marks) == 0 {
		return Position{File: t.file}
	}
	off = min(max(off, 0), len(t.S))
	k := sort.Search(len(t.marks), func(i int) bool { return t.marks[i].off > off }) - 1
	m := t.marks[max(k, 0)]
	col := m.col
	if off > m.off {
		col += utf8.RuneCountInString(t.S[m.off:off])
	}
	if m.maxCol > 0 {
		// Past the run, e.g. a folded line break: stay on the line.
		col = min(col, m.maxCol)
	}
	return Position{File: m.file, Line: m.line, Col: col}
}

// join gives t + " " + u, the way Falco appends conditions and outputs.
func (t Text) join(u Text) Text {
	base := len(t.S) + 1
	r := Text{S: t.S + " " + u.S, file: t.file}
	r.marks = append(r.marks, t.marks...)
	for _, m := range u.marks {
		m.off += base
		r.marks = append(r.marks, m)
	}
	if r.file == "" {
		r.file = u.file
	}
	return r
}

// trimSpace drops leading and trailing white space the way Falco trims a
// rule's output, keeping the positions of what is left.
func (t Text) trimSpace() Text {
	const ws = " \t\n\v\f\r"
	s := strings.TrimLeft(t.S, ws)
	start := len(t.S) - len(s)
	s = strings.TrimRight(s, ws)
	r := Text{S: s, file: t.file}
	if len(t.marks) > 0 {
		p := t.Position(start)
		first := t.marks[0]
		for _, m := range t.marks {
			if m.off <= start {
				first = m
			}
		}
		r.marks = append(r.marks, mark{0, p.File, p.Line, p.Col, first.maxCol})
	}
	for _, m := range t.marks {
		if m.off > start && m.off-start < len(s) {
			m.off -= start
			r.marks = append(r.marks, m)
		}
	}
	return r
}

// isBlank is the white space the aligner skips on both sides. It must be
// the same set for the decoded string and for decoded escapes.
func isBlank(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r'
}
