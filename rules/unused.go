package rules

import "strings"

// Falco's messages for macros and lists that nothing uses.
const (
	msgUnusedMacro = "Macro not referred to by any other rule/macro"
	msgUnusedList  = "List not referred to by any other rule/macro"
)

// MacroRefs returns the names of the macros a condition refers to. This
// package does not parse conditions, so the caller (the engine) supplies it.
type MacroRefs func(condition string) []string

// WarnUnused adds Falco's LOAD_UNUSED_MACRO and LOAD_UNUSED_LIST warnings.
// Falco emits them once every rule has compiled; compiled are the rules it
// gets as far as compiling (the caller decides). As in Falco's compiler:
//
//   - a list is used when a list's items name it and it was first defined
//     before that list last changed, whether or not that list is used; or
//     when its name stands between delimiters in any macro, used or not, or
//     in a compiled rule with its exceptions, after the lists before it
//     were pasted in (RULES-LANGUAGE §1.9: text, so quoted strings count);
//   - a macro is used when any macro, used or not, or a compiled rule names it.
//
// Enabled and priority do not matter. Warnings come macros first, then
// lists, in first-definition order, at the latest definition.
func WarnUnused(col *Collection, compiled []*Rule, refs MacroRefs, rep *Report) {
	u := newUsage(col)
	for _, m := range col.Macros {
		u.text(m.Condition.S)
		u.macros(refs(m.Condition.S))
	}
	for _, r := range compiled {
		u.text(falcoConditionText(r))
		u.macros(refs(r.Condition.S))
	}
	for _, m := range col.Macros {
		if !u.usedMacros[m.Name] {
			rep.Add(Diag{Pos: m.DefPos, Code: WarnUnusedMacro, Context: "macro '" + m.Name + "'", Msg: msgUnusedMacro, Warning: true})
		}
	}
	for _, l := range col.Lists {
		if !u.usedLists[l.Name] {
			rep.Add(Diag{Pos: l.DefPos, Code: WarnUnusedList, Context: "list '" + l.Name + "'", Msg: msgUnusedList, Warning: true})
		}
	}
}

// usage tracks what Falco's compiler marks used.
type usage struct {
	col        *Collection
	items      [][]string // per list: its items, with earlier lists pasted in
	usedLists  map[string]bool
	usedMacros map[string]bool
}

// newUsage pastes into each list the lists its items name that were defined
// before it last changed (one level, as Falco compiles lists) and marks them
// used.
func newUsage(col *Collection) *usage {
	u := &usage{col: col, usedLists: map[string]bool{}, usedMacros: map[string]bool{}}
	for _, l := range col.Lists {
		var items []string
		for _, it := range l.Items {
			ref := col.List(it)
			if ref == nil || ref.First >= l.Last {
				items = append(items, it)
				continue
			}
			u.usedLists[ref.Name] = true
			items = append(items, ref.Items...)
		}
		u.items = append(u.items, items)
	}
	return u
}

func (u *usage) macros(names []string) {
	for _, n := range names {
		u.usedMacros[n] = true
	}
}

// maxSubstituted bounds a condition's text while lists are pasted in: lists
// whose items name later lists twice over double it at each step. Real
// conditions stay far below it.
const maxSubstituted = 1 << 20

// text pastes every list into a condition, in definition order, marking
// those that occur.
func (u *usage) text(s string) {
	for i, l := range u.col.Lists {
		var found bool
		s, found = substituteList(s, l.Name, u.items[i])
		if found {
			u.usedLists[l.Name] = true
		}
	}
}

const (
	listBlanks = " \t\r\n"
	listDelims = listBlanks + "(),="
)

// findListName returns the first occurrence of name at or after from with
// a delimiter, or an end of s, on both sides; -1 if there is none.
func findListName(s, name string, from int) int {
	for name != "" && from <= len(s) {
		i := strings.Index(s[from:], name)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(name)
		if (i == 0 || strings.IndexByte(listDelims, s[i-1]) >= 0) &&
			(end == len(s) || strings.IndexByte(listDelims, s[end]) >= 0) {
			return i
		}
		from = i + 1
	}
	return -1
}

// substituteList replaces each delimited occurrence of name by the items
// joined with ", " (RULES-LANGUAGE §1.9), as Falco does: the blanks around
// the name go, one space goes on each side, an empty list takes a
// neighbouring comma with it, and the search goes on after the items.
// Past maxSubstituted it only reports whether name occurs.
func substituteList(s, name string, items []string) (string, bool) {
	sub := joinItems(items)
	var b strings.Builder
	last, found := 0, false
	for i := findListName(s, name, 0); i >= 0; {
		found = true
		if b.Len()+len(sub) > maxSubstituted {
			return s, true
		}
		start, end := i, i+len(name)
		for start > last && strings.IndexByte(listBlanks, s[start-1]) >= 0 {
			start--
		}
		for end < len(s) && strings.IndexByte(listBlanks, s[end]) >= 0 {
			end++
		}
		if sub == "" {
			if start > last && s[start-1] == ',' {
				start--
			} else if end < len(s) && s[end] == ',' {
				end++
			}
		}
		b.WriteString(s[last:start])
		if start > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(sub + " ")
		next := end
		if start == 0 {
			next++ // Falco's off-by-one when the name starts the text
		}
		last = end
		i = findListName(s, name, next)
	}
	if !found {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

func joinItems(items []string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = quoteItem(it)
	}
	return strings.Join(q, ", ")
}

// quoteItem is Falco's: an item with a space that does not start with a
// quote is put in double quotes; nothing is escaped.
func quoteItem(s string) string {
	if strings.Contains(s, " ") && !strings.HasPrefix(s, `"`) && !strings.HasPrefix(s, "'") {
		return `"` + s + `"`
	}
	return s
}

// falcoConditionText is the text Falco pastes lists into for a rule: the
// condition followed by its exceptions, rendered as Falco renders them
// (RULES-LANGUAGE §1.8), which the engine does not do exactly.
func falcoConditionText(r *Rule) string {
	if len(r.Exceptions) == 0 {
		return r.Condition.S
	}
	s := "(" + r.Condition.S + ")"
	for _, ex := range r.Exceptions {
		if e := falcoExceptionText(ex); e != "" {
			s += " and not " + e
		}
	}
	return s
}

func falcoExceptionText(ex Exception) string {
	switch {
	case len(ex.Values) == 0:
		return ""
	case ex.Scalar:
		items := make([]string, len(ex.Values))
		for i, row := range ex.Values {
			items[i] = quoteItem(row[0].Text)
		}
		return "(" + ex.Fields[0] + " " + ex.Comps[0] + " (" + strings.Join(items, ", ") + "))"
	}
	groups := make([]string, len(ex.Values))
	for i, row := range ex.Values {
		terms := make([]string, len(row))
		for j, c := range row {
			terms[j] = ex.Fields[j] + " " + ex.Comps[j] + " " + falcoCell(c, ex.Comps[j])
		}
		groups[i] = strings.Join(terms, " and ")
	}
	return "((" + strings.Join(groups, ") or (") + "))"
}

// falcoCell renders one exception value: a YAML list as "(a, b)", a scalar
// after a list operator in parentheses (unquoted), any other scalar quoted.
func falcoCell(c Cell, comp string) string {
	switch {
	case c.IsList:
		return "(" + joinItems(c.List) + ")"
	case comp == "in" || comp == "intersects" || comp == "pmatch" || strings.Contains(comp, " "):
		if strings.HasPrefix(c.Text, "(") {
			return c.Text
		}
		return "(" + c.Text + ")"
	}
	return quoteItem(c.Text)
}
