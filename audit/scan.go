package audit

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
)

// scanner finds where one JSON value ends in a stream and validates it in
// the same pass, so that the replay hot path reads each byte once. It accepts
// what fastjson.Validate accepts (the differential fuzz target
// FuzzScanMatchesFastjson holds it to that), except raw control characters
// in strings, which JSON forbids and fastjson misses before an escape
// sequence; so the jsonparser-based Value methods only ever see valid JSON.
//
// The scanner is resumable: when the data ends inside the value it returns
// scanMore and keeps its place (the container stack and the start of the
// token it was reading), and the next call, given the same bytes plus more,
// goes on from there. Only an unfinished token is read again. It never
// recurses, so nesting depth is bounded by memory, not by the goroutine stack.
type scanner struct {
	stack []byte // '{' or '[' for each open container, innermost last
	state uint8  // what may come next at i
	i     int    // next byte to read, relative to the start of the value
	// When the data ended inside a string that starts at i: how far its
	// content is known to be valid, so that the next call goes on from
	// there instead of reading a long string again from its start.
	str int
	// Set when scan returns scanBad.
	errAt  int
	errMsg string

	// When the value is an object: its members, recorded in passing, so
	// that indexing an event needs no second pass over it.
	members    []memberSpan
	key0, key1 int // the member key being read
	val0       int // where its value starts

	// The elements of arrays that are values of top-level members (an
	// EventList's items), and the members of those that are objects, so
	// that a batch's events are found and indexed in the same pass.
	elems        []elemSpan
	elemMembers  []memberSpan
	elem0, elemM int // the element being read: its start, its first member
	ekey0, ekey1 int
	eval0        int
}

// memberSpan locates a member of the top-level object: the key's content
// (between the quotes, as written) and the value (with its quotes, if a
// string), as offsets from the start of the object.
type memberSpan struct{ key0, key1, val0, val1 int }

// elemSpan locates an element of the array that is the value of
// members[parent]: at:end, and its members elemMembers[m0:m1] when it is
// an object (offsets from the start of the top-level value, as for
// members).
type elemSpan struct{ at, end, parent, m0, m1 int }

type scanStatus uint8

const (
	scanDone scanStatus = iota // the value is b[:s.i]
	scanMore                   // the value goes on past the end of b
	scanBad                    // not JSON: see errAt, errMsg
)

// What the scanner expects next.
const (
	stValue        = iota // a value
	stValueOrClose        // just after '[': a value or ']'
	stKeyOrClose          // just after '{': a key or '}'
	stKey                 // after ',' in an object: a key
	stColon               // after a key: ':'
	stAfter               // after a value in a container: ',' or the closer
)

// clone returns a copy of the scanner's place that shares no memory with
// it, for a Tail.
func (s *scanner) clone() scanner {
	c := *s
	c.stack = slices.Clone(s.stack)
	c.members = slices.Clone(s.members)
	c.elems = slices.Clone(s.elems)
	c.elemMembers = slices.Clone(s.elemMembers)
	return c
}

// emptied returns a fresh scanner that reuses s's storage.
func (s *scanner) emptied() scanner {
	return scanner{stack: s.stack[:0], members: s.members[:0], elems: s.elems[:0], elemMembers: s.elemMembers[:0]}
}

func (s *scanner) reset() {
	s.stack = s.stack[:0]
	s.state = stValue
	s.i = 0
	s.str = 0
	s.errAt, s.errMsg = 0, ""
	s.members = s.members[:0]
	s.elems, s.elemMembers = s.elems[:0], s.elemMembers[:0]
}

// scan reads the value at the start of b (b[0] is not whitespace). atEOF
// says that no bytes follow b, so running out of data is an error rather
// than a reason to wait for more.
func (s *scanner) scan(b []byte, atEOF bool) scanStatus {
	i := s.i
	for {
		for i < len(b) && b[i] <= ' ' && isSpace(b[i]) {
			i++
		}
		if i == len(b) {
			s.i = i
			return s.incomplete(b, atEOF)
		}
		c := b[i]
		ended := false // a value ended at i
		switch s.state {
		case stValue, stValueOrClose:
			if c == ']' && s.state == stValueOrClose {
				s.stack = s.stack[:len(s.stack)-1]
				i++
				ended = true
				break
			}
			switch {
			case len(s.stack) == 1:
				s.val0 = i
			case s.at(elemLevel):
				s.elem0, s.elemM = i, len(s.elemMembers)
			case s.at(elemMemberLevel):
				s.eval0 = i
			}
			switch c {
			case '{':
				s.stack = append(s.stack, '{')
				s.state = stKeyOrClose
				i++
				continue
			case '[':
				s.stack = append(s.stack, '[')
				s.state = stValueOrClose
				i++
				continue
			}
			j, st, msg := s.scanScalar(b, i, atEOF)
			if st != scanDone {
				s.i = i
				if st == scanMore {
					return scanMore
				}
				return s.fail(j, msg)
			}
			i = j
			ended = true
		case stKeyOrClose, stKey:
			if c == '}' && s.state == stKeyOrClose {
				s.stack = s.stack[:len(s.stack)-1]
				i++
				ended = true
				break
			}
			if c != '"' {
				return s.fail(i, "invalid character "+quoteChar(c)+" looking for beginning of object key string")
			}
			j, st, msg := s.scanString(b, i)
			if st != scanDone {
				s.i = i
				if st == scanMore {
					return s.incomplete(b, atEOF)
				}
				return s.fail(j, msg)
			}
			switch {
			case len(s.stack) == 1:
				s.key0, s.key1 = i+1, j-1
			case s.at(elemMemberLevel):
				s.ekey0, s.ekey1 = i+1, j-1
			}
			i = j
			s.state = stColon
		case stColon:
			if c != ':' {
				return s.fail(i, "invalid character "+quoteChar(c)+" after object key")
			}
			i++
			s.state = stValue
		case stAfter:
			top := s.stack[len(s.stack)-1]
			switch {
			case c == ',' && top == '{':
				s.state = stKey
				i++
			case c == ',':
				s.state = stValue
				i++
			case c == '}' && top == '{', c == ']' && top == '[':
				s.stack = s.stack[:len(s.stack)-1]
				i++
				ended = true
			case top == '{':
				return s.fail(i, "invalid character "+quoteChar(c)+" after object key:value pair")
			default:
				return s.fail(i, "invalid character "+quoteChar(c)+" after array element")
			}
		}
		if ended {
			switch {
			case len(s.stack) == 0:
				s.i = i
				return scanDone
			case len(s.stack) == 1 && s.stack[0] == '{':
				s.members = append(s.members, memberSpan{s.key0, s.key1, s.val0, i})
			case s.at(elemLevel):
				s.elems = append(s.elems, elemSpan{s.elem0, i, len(s.members), s.elemM, len(s.elemMembers)})
			case s.at(elemMemberLevel):
				s.elemMembers = append(s.elemMembers, memberSpan{s.ekey0, s.ekey1, s.eval0, i})
			}
			s.state = stAfter
		}
	}
}

// The container stacks under which the scanner records elements and
// their members.
const (
	elemLevel       = "{["
	elemMemberLevel = "{[{"
)

// at reports whether the open containers are exactly level. The length
// goes first: comparing a deep stack's bytes on every value would make
// deep nesting quadratic (the race detector reads all of them).
func (s *scanner) at(level string) bool {
	return len(s.stack) == len(level) && string(s.stack) == level
}

// incomplete is the answer when b ends inside the value: wait for more, or,
// at the end of the input, fail at the last byte that is there.
func (s *scanner) incomplete(b []byte, atEOF bool) scanStatus {
	if !atEOF {
		return scanMore
	}
	last := len(b) - 1
	for last > 0 && isSpace(b[last]) {
		last--
	}
	return s.fail(last, "unexpected end of input")
}

func (s *scanner) fail(at int, msg string) scanStatus {
	s.errAt, s.errMsg = at, msg
	return scanBad
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// scanString reads the string whose opening quote is at b[i], going on
// from where the last call left it when the data ended inside it.
func (s *scanner) scanString(b []byte, i int) (int, scanStatus, string) {
	from := i + 1
	if s.str > from {
		from = s.str
	}
	j, st, msg := scanString(b, from)
	s.str = 0
	if st == scanMore {
		s.str = j // where the unfinished content starts: all before is valid
	}
	return j, st, msg
}

// scanScalar reads a string, number or literal starting at b[i] and returns
// the index just past it. For scanBad the index is where the error is.
func (s *scanner) scanScalar(b []byte, i int, atEOF bool) (int, scanStatus, string) {
	switch c := b[i]; {
	case c == '"':
		j, st, msg := s.scanString(b, i)
		if st == scanMore && atEOF {
			return i, scanBad, "unexpected end of input in string"
		}
		return j, st, msg
	case c == 't':
		return scanLiteral(b, i, "true", atEOF)
	case c == 'f':
		return scanLiteral(b, i, "false", atEOF)
	case c == 'n':
		return scanLiteral(b, i, "null", atEOF)
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(b, i, atEOF)
	default:
		return i, scanBad, "invalid character " + quoteChar(c) + " looking for beginning of value"
	}
}

func scanLiteral(b []byte, i int, lit string, atEOF bool) (int, scanStatus, string) {
	for k := 0; k < len(lit); k++ {
		if i+k == len(b) {
			if atEOF {
				return i + k - 1, scanBad, "unexpected end of input in literal " + lit
			}
			return i, scanMore, ""
		}
		if b[i+k] != lit[k] {
			return i + k, scanBad, "invalid character " + quoteChar(b[i+k]) + " in literal " + lit
		}
	}
	return i + len(lit), scanDone, ""
}

// SWAR constants: a word with every byte set to 0x01, and every byte to 0x80.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specials marks with 0x80 the bytes of x (8 bytes of a string, little
// endian) that may be '"', '\\' or a control character, the only bytes a
// string scan must stop at. The lowest marked byte is always a true one
// (the subtraction's borrows can only mark bytes above a true one), so the
// scan jumps straight to it. This is what lets the scanner keep pace with
// fastjson.Validate, which finds quotes with strings.IndexByte.
func specials(x uint64) uint64 {
	q := x ^ (lsb * '"')
	bs := x ^ (lsb * '\\')
	return ((q-lsb)&^q | (bs-lsb)&^bs | (x-lsb*0x20)&^x) & msb
}

// scanString reads the rest of a string whose opening quote is at b[i-1] and
// returns the index just past the closing quote. scanMore means b ended
// inside the string.
func scanString(b []byte, i int) (int, scanStatus, string) {
	for i < len(b) {
		if i+8 <= len(b) {
			m := specials(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, scanDone, ""
		case c == '\\':
			n, st, msg := scanEscape(b, i)
			if st != scanDone {
				return i, st, msg
			}
			i += n
		case c < 0x20:
			return i, scanBad, "invalid character " + quoteChar(c) + " in string literal"
		default:
			i++
		}
	}
	return i, scanMore, ""
}

// scanEscape checks the escape sequence at b[i] (a backslash) and returns
// its length.
func scanEscape(b []byte, i int) (int, scanStatus, string) {
	if i+1 == len(b) {
		return 0, scanMore, ""
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, scanDone, ""
	case 'u':
		for k := i + 2; k < i+6; k++ {
			if k == len(b) {
				return 0, scanMore, ""
			}
			if !isHex(b[k]) {
				return 0, scanBad, "invalid character " + quoteChar(b[k]) + " in \\u escape"
			}
		}
		return 6, scanDone, ""
	}
	return 0, scanBad, "invalid escape " + quoteChar(b[i+1]) + " in string literal"
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
// Whatever follows the number is for the caller to judge. A number that
// reaches the end of b is unfinished unless atEOF: more digits may follow.
func scanNumber(b []byte, i int, atEOF bool) (int, scanStatus, string) {
	j := i
	if b[j] == '-' {
		j++
	}
	intStart := j
	j, st, msg := digits(b, j, atEOF, "in numeric literal")
	if st != scanDone {
		return retry(i, j, st, msg)
	}
	if b[intStart] == '0' && j-intStart > 1 {
		return intStart + 1, scanBad, "invalid character " + quoteChar(b[intStart+1]) + " after leading zero in numeric literal"
	}
	if j < len(b) && b[j] == '.' {
		j, st, msg = digits(b, j+1, atEOF, "after decimal point in numeric literal")
		if st != scanDone {
			return retry(i, j, st, msg)
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		j, st, msg = digits(b, j, atEOF, "in exponent of numeric literal")
		if st != scanDone {
			return retry(i, j, st, msg)
		}
	}
	if j == len(b) && !atEOF {
		return i, scanMore, ""
	}
	return j, scanDone, ""
}

// digits reads one or more digits at b[j].
func digits(b []byte, j int, atEOF bool, where string) (int, scanStatus, string) {
	start := j
	for j < len(b) && isDigit(b[j]) {
		j++
	}
	switch {
	case j > start:
		return j, scanDone, ""
	case j < len(b):
		return j, scanBad, "invalid character " + quoteChar(b[j]) + " " + where
	case atEOF:
		return j - 1, scanBad, "unexpected end of input " + where
	}
	return j, scanMore, ""
}

// retry turns a failure inside a number into the scanner's answer: an
// unfinished number is read again from its start.
func retry(start, j int, st scanStatus, msg string) (int, scanStatus, string) {
	if st == scanMore {
		return start, st, ""
	}
	return j, st, msg
}

// quoteChar shows a byte in an error message: 'x' for printable ASCII, a Go
// escape for control characters and 0xNN for the rest (which may be part of
// a multi-byte character that the message would break).
func quoteChar(c byte) string {
	if c < 0x80 {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02X", c)
}
