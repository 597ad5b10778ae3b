package audit

import (
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// scanAll scans b as one complete input, giving the scanner its bytes in
// pieces of chunk bytes (0: all at once), as a stream would.
func scanAll(b []byte, chunk int) (scanStatus, *scanner) {
	var s scanner
	s.reset()
	if chunk <= 0 {
		chunk = len(b)
	}
	for n := min(chunk, len(b)); ; n = min(n+chunk, len(b)) {
		st := s.scan(b[:n], n == len(b))
		if st != scanMore {
			return st, &s
		}
	}
}

func TestScan(t *testing.T) {
	tests := []struct {
		in  string
		end int    // for valid values: where the value ends (-1: at the end)
		err string // for invalid ones: errMsg
		at  int    // and errAt
	}{
		{in: `{}`, end: 2},
		{in: `[]`, end: 2},
		{in: `{"a":[1,-2.5e+3,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"]}`, end: -1},
		{in: "{ \"a\" :\n[ 1 , {} ] }  ", end: 20},
		{in: `{}{}`, end: 2},
		{in: `"s" x`, end: 3},
		{in: `12abc`, end: 2},
		{in: `-0`, end: 2},
		{in: `0.5`, end: 3},
		{in: `true`, end: 4},
		{in: `[[[[[[[[[[]]]]]]]]]]`, end: 20},
		{in: "{\"k\xc3\xa9\":\"\xff\"}", end: -1}, // fastjson does not check UTF-8
		{in: `{`, err: "unexpected end of input", at: 0},
		{in: "{\"a\":1,\n  ", err: "unexpected end of input", at: 6},
		{in: `{"a" 1}`, err: "invalid character '1' after object key", at: 5},
		{in: `{"a":1 "b":2}`, err: `invalid character '"' after object key:value pair`, at: 7},
		{in: `[1 2]`, err: "invalid character '2' after array element", at: 3},
		{in: `{1:2}`, err: "invalid character '1' looking for beginning of object key string", at: 1},
		{in: `{"a":}`, err: "invalid character '}' looking for beginning of value", at: 5},
		{in: `[1,]`, err: "invalid character ']' looking for beginning of value", at: 3},
		{in: `{"a":1,}`, err: "invalid character '}' looking for beginning of object key string", at: 7},
		{in: "[\"a\nb\"]", err: `invalid character '\n' in string literal`, at: 3},
		{in: `["\x"]`, err: `invalid escape 'x' in string literal`, at: 2},
		{in: `["\u12g4"]`, err: `invalid character 'g' in \u escape`, at: 2},
		{in: `["abc`, err: "unexpected end of input in string", at: 1},
		{in: `[01]`, err: "invalid character '1' after leading zero in numeric literal", at: 2},
		{in: `[-]`, err: "invalid character ']' in numeric literal", at: 2},
		{in: `[1.]`, err: "invalid character ']' after decimal point in numeric literal", at: 3},
		{in: `[1e]`, err: "invalid character ']' in exponent of numeric literal", at: 3},
		{in: `[1e`, err: "unexpected end of input in exponent of numeric literal", at: 2},
		{in: `[tru]`, err: "invalid character ']' in literal true", at: 4},
		{in: `[nul`, err: "unexpected end of input in literal null", at: 3},
		{in: `[}`, err: "invalid character '}' looking for beginning of value", at: 1},
		{in: `{"a":1]`, err: "invalid character ']' after object key:value pair", at: 6},
		{in: "[\xff]", err: "invalid character byte 0xFF looking for beginning of value", at: 1},
	}
	for _, tt := range tests {
		if tt.end < 0 {
			tt.end = len(tt.in)
		}
		for _, chunk := range []int{0, 1, 3} {
			st, s := scanAll([]byte(tt.in), chunk)
			if tt.err == "" {
				if st != scanDone || s.i != tt.end {
					t.Errorf("scan(%q) chunk %d = %v end %d (%s), want end %d", tt.in, chunk, st, s.i, s.errMsg, tt.end)
				}
				continue
			}
			if st != scanBad || s.errMsg != tt.err || s.errAt != tt.at {
				t.Errorf("scan(%q) chunk %d = %v %q at %d, want %q at %d", tt.in, chunk, st, s.errMsg, s.errAt, tt.err, tt.at)
			}
		}
	}
}

// validAlone says whether b is one JSON value and whitespace, by the scanner.
func validAlone(b []byte, chunk int) bool {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) {
		return false
	}
	st, s := scanAll(b[i:], chunk)
	if st != scanDone {
		return false
	}
	return strings.TrimLeft(string(b[i+s.i:]), " \t\r\n") == ""
}

func TestScanLongStrings(t *testing.T) {
	// Exercise the 8-byte path with specials at every alignment.
	for n := 0; n < 20; n++ {
		for _, special := range []string{`\"`, `\\`, `\u0041`, "é", "\x7f"} {
			s := `["` + strings.Repeat("a", n) + special + strings.Repeat("b", 20-n) + `"]`
			if !validAlone([]byte(s), 0) || fastjson.Validate(s) != nil {
				t.Errorf("%q: scanner %v, fastjson %v", s, validAlone([]byte(s), 0), fastjson.Validate(s))
			}
		}
		for _, bad := range []string{"\n", "\x00", "\x1f", `\q`} {
			s := `["` + strings.Repeat("a", n) + bad + strings.Repeat("b", 20-n) + `"]`
			if validAlone([]byte(s), 0) {
				t.Errorf("%q: scanner accepts it", s)
			}
		}
	}
}

// FuzzScanMatchesFastjson holds the scanner to fastjson.Validate: the bytes
// it passes are exactly the bytes fastjson accepts, however they are split.
func FuzzScanMatchesFastjson(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2.5e-3,"a\u00e9\n"]`, `{"a":{"b":[true,false,null]}}`, `-0.0E+1`, `"x"`, ` [ ] `, `01`, `[1,]`, `{"a" :1 , "b":[ ]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := fastjson.ValidateBytes(b) == nil
		if want && fastjsonMissesControl(b) {
			want = false
		}
		for _, chunk := range []int{0, 1, 5} {
			if got := validAlone(b, chunk); got != want {
				t.Fatalf("%q (chunk %d): scanner says valid=%v, fastjson %v", b, chunk, got, want)
			}
		}
	})
}

// fastjsonMissesControl reports fastjson.Validate's one known leniency: it
// checks strings for raw control characters only after their last escape
// sequence, so it accepts "\x10\\b". JSON forbids them everywhere in a
// string, and so does the scanner. fastjson accepted b, so a control
// character the scanner rejects can only be inside a string.
func fastjsonMissesControl(b []byte) bool {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	st, s := scanAll(b[i:], 0)
	return st == scanBad && strings.HasSuffix(s.errMsg, " in string literal") && b[i+s.errAt] < 0x20
}
