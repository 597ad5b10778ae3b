package audit

import (
	"encoding/binary"
	"math/bits"
)

// This file finds a member of an object in its bytes. Every Value is cut
// from an event the scanner validated, so the walk trusts the syntax and
// only looks for where things end. It finds what jsonparser.Get finds (the
// first member with the key, keys compared unescaped, a key that cannot be
// unescaped ending the search), which FuzzMemberMatchesJSONParser holds it
// to.

// memberOf returns the value of key in the valid JSON object obj, or Missing.
func memberOf(obj []byte, key string) Value {
	i := 1 // past '{'
	for {
		i = skipSpace(obj, i)
		if obj[i] != '"' {
			return Value{} // '}'
		}
		end, escaped := stringEnd(obj, i+1)
		match := false
		if escaped {
			k, ok := unescape(obj[i+1 : end])
			if !ok {
				return Value{}
			}
			match = k == key
		} else {
			match = string(obj[i+1:end]) == key
		}
		i = skipSpace(obj, skipSpace(obj, end+1)+1) // past ':'
		vend := valueEnd(obj, i)
		if match {
			return valueOf(obj[i:vend])
		}
		i = skipSpace(obj, vend)
		if obj[i] != ',' {
			return Value{}
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' {
		i++
	}
	return i
}

// stringEnd returns the index of the quote that closes the string whose
// content starts at b[i], and whether the content holds an escape. It
// looks at eight bytes at a time for a quote or a backslash, as the
// scanner does.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for {
		if i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			q, bs := x^(lsb*'"'), x^(lsb*'\\')
			m := ((q-lsb)&^q | (bs-lsb)&^bs) & msb
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		switch b[i] {
		case '"':
			return i, escaped
		case '\\':
			escaped = true
			i++ // the escaped byte cannot close the string
		}
		i++
	}
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i+1)
		return end + 1
	case '{', '[':
		depth := 0
		for {
			switch b[i] {
			case '"':
				i, _ = stringEnd(b, i+1)
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] > ' ' {
		i++
	}
	return i
}
