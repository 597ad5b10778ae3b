package condition

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a syntax or expansion error in a condition. Pos is a byte offset
// into the condition text; line and column are worked out only when the
// error is printed, by Position or Render.
type Error struct {
	Pos Pos
	Msg string
}

// Error returns the message alone, because the caller knows where the
// condition sits in its file and adds the position itself (rules.Error). Use
// Render to show the position within the condition.
func (e *Error) Error() string { return e.Msg }

// Position returns the 1-based line and column of e in src. Lines are
// separated by '\n'; the column counts runes, as editors do.
func (e *Error) Position(src string) (line, col int) {
	line, col, _ = locate(src, e.Pos)
	return line, col
}

// Render returns "LINE:COL: msg", then the source line and a caret under
// the column, each indented by a "   | " gutter:
//
//	1:9: unexpected token after 'b', expecting 'or', 'and'
//	   | a = b c
//	   |       ^
func (e *Error) Render(src string) string {
	line, col, text := locate(src, e.Pos)
	return fmt.Sprintf("%d:%d: %s\n   | %s\n   | %s^", line, col, e.Msg, text, caretPad(text, col))
}

// locate finds the line holding byte offset p (clamped into src) and the
// 1-based line and rune column of p.
func locate(src string, p Pos) (line, col int, text string) {
	off := min(max(int(p), 0), len(src))
	start := strings.LastIndexByte(src[:off], '\n') + 1
	end := strings.IndexByte(src[off:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += off
	}
	line = strings.Count(src[:start], "\n") + 1
	col = utf8.RuneCountInString(src[start:off]) + 1
	return line, col, strings.TrimSuffix(src[start:end], "\r")
}

// caretPad returns the blanks that put a caret under column col of text,
// copying tabs so the caret lines up however tabs are displayed.
func caretPad(text string, col int) string {
	var b strings.Builder
	n := 1
	for _, r := range text {
		if n >= col {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	for ; n < col; n++ {
		b.WriteByte(' ')
	}
	return b.String()
}

// bailout carries an *Error up the parser's recursion. Parse recovers only
// this type, so a genuine bug still crashes loudly.
type bailout struct{ err *Error }

// describe names what stands at byte offset i of src, for "found X" in
// messages: "end of condition", or the text up to the next delimiter,
// quoted and shortened.
func describe(src string, i int) string {
	if i >= len(src) {
		return "end of condition"
	}
	if c := src[i]; isSpace(c) || isBlank(c) {
		return strconv.QuoteRune(rune(c))
	}
	const maxLen = 24
	end := i + 1
	if !strings.ContainsRune("()[],=\"'", rune(src[i])) {
		for end < len(src) && end-i < maxLen && !isSpace(src[end]) && !isBlank(src[end]) &&
			!strings.ContainsRune("()[],=\"'", rune(src[end])) {
			end++
		}
	}
	for end < len(src) && !utf8.RuneStart(src[end]) {
		end++ // do not cut a rune in half
	}
	s := strings.ToValidUTF8(src[i:end], "\uFFFD")
	if end < len(src) && end-i >= maxLen {
		s += "..."
	}
	return "'" + s + "'"
}
