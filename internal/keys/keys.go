// Package keys finds the keys of a configuration block that nothing
// reads, and the known key each one was probably meant to be. A typo must
// not pass silently: a misspelled bearer_tokens turns the webhook's
// authentication off.
package keys

import (
	"slices"
	"sort"
	"strings"
)

// Unknown is a key nothing reads: its dotted path ("spool.max_byte") and
// the known path it was probably meant to be, "" when none is close.
type Unknown struct {
	Key, Suggestion string
}

// Find returns the keys of m that known does not list, sorted by path.
//
// known lists dotted paths: "spool.max_bytes" is max_bytes in the mapping
// under spool. The keys of a mapping are checked only when known lists
// some of them: other mappings (bearer_tokens) hold data, and their keys
// may be secrets. An Unknown names a key, never a value.
func Find(m map[string]any, known []string) []Unknown {
	out := unknownIn(m, "", known)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// unknownIn checks the mapping m found at prefix ("" or "spool.").
func unknownIn(m map[string]any, prefix string, known []string) []Unknown {
	here, nested := level(prefix, known)
	var out []Unknown
	for k, v := range m {
		if !slices.Contains(here, k) {
			u := Unknown{Key: prefix + k}
			if s := Suggest(k, here); s != "" {
				u.Suggestion = prefix + s
			}
			out = append(out, u)
			continue
		}
		if sub, ok := v.(map[string]any); ok && nested[k] {
			out = append(out, unknownIn(sub, prefix+k+".", known)...)
		}
	}
	return out
}

// level returns the names known directly under prefix, sorted, and those
// of them that have known keys of their own.
func level(prefix string, known []string) ([]string, map[string]bool) {
	var here []string
	nested := map[string]bool{}
	for _, k := range known {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		name, _, sub := strings.Cut(rest, ".")
		if !slices.Contains(here, name) {
			here = append(here, name)
		}
		nested[name] = nested[name] || sub
	}
	sort.Strings(here)
	return here, nested
}

// Suggest returns the known key that key is most likely a misspelling of,
// or "" when none is close: the same but for case, '_' and '-'
// (max_event_size for maxEventSize), else within one edit for short keys
// and two for longer ones. Ties go to the first in known.
func Suggest(key string, known []string) string {
	nk := normalKey(key)
	limit := 2
	if len(nk) <= 4 {
		limit = 1
	}
	best, bestD := "", limit+1
	for _, k := range known {
		if d := editDistance(nk, normalKey(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// normalKey folds the spellings users mix up across plugins: upstream's
// keys are camelCase in some plugins and snake_case in others.
func normalKey(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("_", "", "-", "").Replace(s)
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent bytes each
// count one (a swap is the commonest typo, and Levenshtein counts it two).
func editDistance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
