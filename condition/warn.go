package condition

import "strings"

// Warning is a problem that does not stop a condition from loading.
type Warning struct {
	Pos  Pos
	Code string // Falco's load_result warning code
	Msg  string
}

// Warning codes, as Falco names them (RULES-LANGUAGE §1.10).
const (
	CodeUnsafeNACheck    = "LOAD_UNSAFE_NA_CHECK"
	CodeCompileCondition = "LOAD_COMPILE_CONDITION"
)

// noValue is the text Falco prints for a field that has no value. Comparing
// with it never does what it seems to: a missing field makes every check
// false (RULES-LANGUAGE §2.3).
const noValue = "<NA>"

// Warnings returns the warnings that the syntax alone shows, in source
// order, one for each offending value:
//
//   - LOAD_UNSAFE_NA_CHECK: a ka.* or jevt.* field compared with <NA> by =,
//     ==, !=, in, intersects or pmatch (for a list: any item <NA>). exists
//     never warns. This is Falco's filter_warning_resolver; it needs no
//     field table, since it looks only at the field's prefix.
//   - LOAD_COMPILE_CONDITION: evt.dir compared with < or >. Plugin events
//     have no direction, so such a check cannot mean what it says.
//
// Run it on the expanded tree to see problems inside macros too.
func Warnings(n Node) []Warning {
	var ws []Warning
	Inspect(n, func(n Node) bool {
		c, ok := n.(*Check)
		if !ok {
			return true
		}
		f, ok := c.Left.(*FieldRef)
		if !ok {
			return false
		}
		switch {
		case isUnsafeField(f.Name) && isEqualityOp(c.Op):
			ws = appendMatches(ws, c.Right, CodeUnsafeNACheck, "Unsafe <NA> comparison in condition", noValue)
		case f.Name == "evt.dir" && !f.HasArg:
			ws = appendMatches(ws, c.Right, CodeCompileCondition, "evt.dir is not supported for this source: its events have no direction", "<", ">")
		}
		return false
	})
	return ws
}

func isUnsafeField(name string) bool {
	return strings.HasPrefix(name, "ka.") || strings.HasPrefix(name, "jevt.")
}

func isEqualityOp(o Op) bool {
	switch o {
	case OpEq, OpEqEq, OpNe, OpIn, OpIntersects, OpPmatch:
		return true
	}
	return false
}

// appendMatches adds a warning for each value on the right of a check,
// single or in a list, whose text is one of texts.
func appendMatches(ws []Warning, right Node, code, msg string, texts ...string) []Warning {
	var vals []*Value
	switch r := right.(type) {
	case *Value:
		vals = []*Value{r}
	case *List:
		vals = r.Items
	}
	for _, v := range vals {
		for _, t := range texts {
			if v.Text == t {
				ws = append(ws, Warning{Pos: v.At, Code: code, Msg: msg})
			}
		}
	}
	return ws
}
