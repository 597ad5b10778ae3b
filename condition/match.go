package condition

import (
	"strings"
	"unicode/utf8"
)

// strSet is a constant set of strings built once per check. Small sets are
// scanned, which beats hashing for the handful of items most rules list.
type strSet struct {
	small []string
	big   map[string]struct{}
}

const smallSet = 8

func newStrSet(items []string) *strSet {
	if len(items) <= smallSet {
		return &strSet{small: items}
	}
	m := make(map[string]struct{}, len(items))
	for _, it := range items {
		m[it] = struct{}{}
	}
	return &strSet{big: m}
}

func (s *strSet) has(v string) bool {
	if s.big != nil {
		_, ok := s.big[v]
		return ok
	}
	for _, it := range s.small {
		if it == v {
			return true
		}
	}
	return false
}

// pathSet implements pmatch: a value matches when some item's path parts
// are a prefix of the value's parts. Empty parts are dropped, so "/var/run"
// matches "/var/run/docker.sock" but not "/var/runx". Item parts holding
// glob characters are matched with glob.
type pathSet struct{ items [][]string }

func newPathSet(items []string) *pathSet {
	p := &pathSet{}
	for _, it := range items {
		p.items = append(p.items, splitPath(it))
	}
	return p
}

func splitPath(s string) []string {
	var parts []string
	for _, p := range strings.Split(s, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

func (p *pathSet) match(v string) bool {
	parts := splitPath(v)
	for _, it := range p.items {
		if pathPrefix(it, parts) {
			return true
		}
	}
	return false
}

func pathPrefix(prefix, parts []string) bool {
	if len(prefix) > len(parts) {
		return false
	}
	for i, p := range prefix {
		if strings.ContainsAny(p, "*?[") {
			if !glob(p, parts[i], false) {
				return false
			}
		} else if p != parts[i] {
			return false
		}
	}
	return true
}

// glob reports whether s matches pattern with fnmatch(3) semantics and no
// flags: '*' and '?' also match '/', leading dots are not special, "[...]"
// classes (with '!' or '^' negation and ranges) work, and a backslash quotes
// the next character. Go's path.Match differs on '/', so it is not used.
func glob(pattern, s string, fold bool) bool {
	if fold {
		pattern = foldASCII(pattern, 'A', 'Z', 'a'-'A')
		s = foldASCII(s, 'A', 'Z', 'a'-'A')
	}
	// Iterative matching with one backtrack point: the last '*' seen.
	var starP, starS = -1, 0
	p, i := 0, 0
	for i < len(s) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starS = p, i
				p++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(s[i:])
				p, i = p+1, i+w
				continue
			case '[':
				if n, ok, valid := matchClass(pattern[p:], s[i:]); valid {
					if ok {
						_, w := utf8.DecodeRuneInString(s[i:])
						p, i = p+n, i+w
						continue
					}
					break
				}
				if s[i] == '[' { // an unterminated class is a literal '['
					p, i = p+1, i+1
					continue
				}
			case '\\':
				if p+1 < len(pattern) && pattern[p+1] == s[i] {
					p, i = p+2, i+1
					continue
				}
			default:
				if c == s[i] {
					p, i = p+1, i+1
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		p, i = starP+1, starS
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchClass matches one character of s against the class at the start of
// pattern ("[...]"). It returns the class length, whether it matched, and
// whether the class was well formed.
func matchClass(pattern, s string) (n int, ok bool, valid bool) {
	r, _ := utf8.DecodeRuneInString(s)
	i := 1
	negate := i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^')
	if negate {
		i++
	}
	matched := false
	for first := true; i < len(pattern); first = false {
		if pattern[i] == ']' && !first {
			return i + 1, matched != negate, true
		}
		lo, w := classChar(pattern[i:])
		i += w
		hi := lo
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			hi, w = classChar(pattern[i+1:])
			i += 1 + w
		}
		if lo <= r && r <= hi {
			matched = true
		}
	}
	return 0, false, false
}

func classChar(p string) (rune, int) {
	if p[0] == '\\' && len(p) > 1 {
		r, w := utf8.DecodeRuneInString(p[1:])
		return r, w + 1
	}
	return utf8.DecodeRuneInString(p)
}

// containsFold reports whether lowerNeedle (already ASCII lower-case) occurs
// in s, folding ASCII case per byte as Falco does, without allocating.
func containsFold(s, lowerNeedle string) bool {
	n := len(lowerNeedle)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n && lowerASCII(s[i+j]) == lowerNeedle[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
