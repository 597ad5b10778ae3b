package engine

import (
	"strings"

	"github.com/peregrine-sec/peregrine/condition"
	"github.com/peregrine-sec/peregrine/rules"
)

// exceptionText renders a rule's exceptions as condition text, the way
// Falco does: "not E1 and not E2 ...", where a scalar-form exception is
// "(field comp (v1, v2))" and a list-form one is
// "((f1 c1 x1 and f2 c2 x2) or (...))". It returns "" when no exception has
// values. Values are quoted only when they cannot stand as bare words, so a
// bare value naming a list is still expanded; unlike Falco, a value holding
// quotes, commas or parentheses stays one value.
func exceptionText(exs []rules.Exception) string {
	var parts []string
	for _, ex := range exs {
		if len(ex.Values) == 0 {
			continue
		}
		if ex.Scalar {
			parts = append(parts, scalarException(ex))
		} else {
			parts = append(parts, listException(ex))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "not " + strings.Join(parts, " and not ")
}

func scalarException(ex rules.Exception) string {
	items := make([]string, 0, len(ex.Values))
	for _, row := range ex.Values {
		for _, c := range row {
			items = append(items, quoteItem(c.Text))
		}
	}
	return "(" + ex.Fields[0] + " " + ex.Comps[0] + " (" + strings.Join(items, ", ") + "))"
}

func listException(ex rules.Exception) string {
	groups := make([]string, 0, len(ex.Values))
	for _, row := range ex.Values {
		terms := make([]string, len(row))
		for i, c := range row {
			terms[i] = ex.Fields[i] + " " + ex.Comps[i] + " " + cellText(c, ex.Comps[i])
		}
		groups = append(groups, "("+strings.Join(terms, " and ")+")")
	}
	return "(" + strings.Join(groups, " or ") + ")"
}

// cellText renders one exception value: a YAML list becomes "(a, b)"; a
// scalar used with a list operator is wrapped in parentheses unless it
// already starts with one.
func cellText(c rules.Cell, comp string) string {
	if c.IsList {
		items := make([]string, len(c.List))
		for i, it := range c.List {
			items[i] = quoteItem(it)
		}
		return "(" + strings.Join(items, ", ") + ")"
	}
	if listComp(comp) {
		if strings.HasPrefix(c.Text, "(") {
			return c.Text
		}
		return "(" + quoteItem(c.Text) + ")"
	}
	return quoteItem(c.Text)
}

func listComp(comp string) bool {
	op := condition.ParseOp(comp)
	return op.IsList() || strings.Contains(comp, " ")
}

// quoteItem quotes a value unless it lexes as one bare word.
func quoteItem(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n()\",='\\") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
