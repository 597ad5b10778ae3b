package rules

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// rawException is an exceptions entry as read, before it is checked
// against the rule (defaults, operators, row shapes).
type rawException struct {
	name       string
	n          *yaml.Node
	ctx        string
	fields     strOrList
	comps      strOrList
	rows       []valueRow
	valuesNode *yaml.Node // nil when the entry has no "values"
}

// strOrList is a "fields" or "comps" value: one scalar, or a sequence of
// scalars. set is false when absent or empty, which Falco treats alike.
type strOrList struct {
	set   bool
	list  bool
	items []string
	pos   []Position
	n     *yaml.Node
}

// valueRow is one entry of "values": a scalar (scalar form) or a
// sequence of cells (list form).
type valueRow struct {
	n      *yaml.Node
	isList bool
	text   string
	cells  []Cell
}

// readExceptions reads a rule item's "exceptions". appending is Falco's
// flag for appends and overrides: "fields" may be left out and an entry
// without "values" is warned about.
func (l *fileLoader) readExceptions(it item, appending bool) ([]rawException, error) {
	_, v := lookup(it.n, "exceptions")
	if isNull(v) {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, l.invalid(v, it.ctx, "Rule exceptions must be a sequence")
	}
	if err := l.spend(v, len(v.Content)); err != nil {
		return nil, err
	}
	var out []rawException
	seen := map[string]bool{}
	for _, e := range v.Content {
		if e = deref(e); e.Kind != yaml.MappingNode {
			return nil, l.invalid(e, it.ctx, "Rule exception must be a mapping")
		}
		ex, err := l.readException(item{l, e, it.ctx}, appending, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, ex)
	}
	return out, nil
}

func (l *fileLoader) readException(it item, appending bool, seen map[string]bool) (rawException, error) {
	name, _, err := it.str("name")
	if err != nil {
		return rawException{}, err
	}
	ex := rawException{name: name, n: it.n, ctx: it.ctx + " exception '" + name + "'"}
	if seen[name] {
		l.warn(it.n, WarnExceptionNotUnique, ex.ctx, "Multiple definitions of exception '"+name+"' in the same rule")
	}
	seen[name] = true
	_, fv := lookup(it.n, "fields")
	if fv == nil && !appending {
		return ex, l.invalid(it.n, ex.ctx, "Item has no mapping for key 'fields'")
	}
	if ex.fields, err = l.readStrOrList(fv, ex.ctx); err != nil {
		return ex, err
	}
	_, cv := lookup(it.n, "comps")
	if ex.comps, err = l.readStrOrList(cv, ex.ctx); err != nil {
		return ex, err
	}
	_, ex.valuesNode = lookup(it.n, "values")
	if ex.valuesNode == nil {
		if appending {
			l.warn(it.n, WarnAppendNoValues, ex.ctx, "Overriding/appending exception with no values")
		}
		return ex, nil
	}
	ex.rows, err = l.readRows(ex.valuesNode, ex.ctx)
	return ex, err
}

// readStrOrList decodes fields or comps. A null, an empty sequence or a
// mapping count as absent, as in Falco.
func (l *fileLoader) readStrOrList(v *yaml.Node, ctx string) (strOrList, error) {
	s := strOrList{n: v}
	switch {
	case isNull(v):
		return s, nil
	case v.Kind == yaml.ScalarNode:
		if v.Value == "" {
			return s, l.invalid(v, ctx, "Value must be non-empty")
		}
		s.set, s.items, s.pos = true, []string{v.Value}, []Position{l.src.pos(v)}
	case v.Kind == yaml.SequenceNode:
		if err := l.spend(v, len(v.Content)); err != nil {
			return s, err
		}
		for _, e := range v.Content {
			text, err := l.nonEmptyScalar(deref(e), ctx)
			if err != nil {
				return s, err
			}
			s.items, s.pos = append(s.items, text), append(s.pos, l.src.pos(deref(e)))
		}
		s.set, s.list = len(s.items) > 0, true
	}
	return s, nil
}

// nonEmptyScalar is the check Falco applies to every exception scalar.
func (l *fileLoader) nonEmptyScalar(n *yaml.Node, ctx string) (string, error) {
	switch {
	case isNull(n) || (n.Kind == yaml.ScalarNode && n.Value == ""):
		return "", l.invalid(n, ctx, "Value must be non-empty")
	case n.Kind != yaml.ScalarNode:
		return "", l.invalid(n, ctx, "Value is not a scalar value")
	}
	return n.Value, nil
}

func (l *fileLoader) readRows(v *yaml.Node, ctx string) ([]valueRow, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, l.invalid(v, ctx, "Rule exception values must be a sequence")
	}
	if err := l.spend(v, len(v.Content)); err != nil {
		return nil, err
	}
	rows := make([]valueRow, 0, len(v.Content))
	for _, r := range v.Content {
		row, err := l.readRow(deref(r), ctx)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// readRow decodes one values entry. A row that is neither a scalar nor a
// sequence is kept as an empty non-list row; the form check rejects it.
func (l *fileLoader) readRow(r *yaml.Node, ctx string) (valueRow, error) {
	row := valueRow{n: r}
	switch {
	case r.Kind == yaml.ScalarNode && !isNull(r):
		text, err := l.nonEmptyScalar(r, ctx)
		row.text = text
		return row, err
	case r.Kind != yaml.SequenceNode:
		return row, nil
	}
	row.isList = true
	if err := l.spend(r, len(r.Content)); err != nil {
		return row, err
	}
	for _, c := range r.Content {
		cell, err := l.readCell(deref(c), ctx)
		if err != nil {
			return row, err
		}
		row.cells = append(row.cells, cell)
	}
	return row, nil
}

func (l *fileLoader) readCell(c *yaml.Node, ctx string) (Cell, error) {
	cell := Cell{Pos: l.src.pos(c)}
	if c.Kind != yaml.SequenceNode {
		text, err := l.nonEmptyScalar(c, ctx)
		cell.Text = text
		return cell, err
	}
	if err := l.spend(c, len(c.Content)); err != nil {
		return cell, err
	}
	cell.IsList, cell.List = true, []string{}
	for _, e := range c.Content {
		text, err := l.nonEmptyScalar(deref(e), ctx)
		if err != nil {
			return cell, err
		}
		cell.List = append(cell.List, text)
	}
	return cell, nil
}

// exception validates a new exception (a rule definition, a replacement,
// or an appended exception whose name is new) and fills in default comps:
// "=" per field in list form, "in" in scalar form.
func (l *fileLoader) exception(ex rawException, fieldsMsg string) (Exception, error) {
	out := Exception{Name: ex.name, Pos: l.src.pos(ex.n)}
	if !ex.fields.set {
		return out, l.fail(ex.n, CodeValidate, ex.ctx, fieldsMsg)
	}
	out.Scalar = !ex.fields.list
	out.Fields, out.FieldPos = ex.fields.items, ex.fields.pos
	comps, err := l.comps(ex, out.Scalar)
	if err != nil {
		return out, err
	}
	out.Comps = comps
	return out, l.addRows(&out, ex.rows, ex.ctx)
}

func (l *fileLoader) comps(ex rawException, scalar bool) ([]string, error) {
	n := ex.comps.n
	if !ex.comps.set {
		if scalar {
			return []string{"in"}, nil
		}
		return repeat("=", len(ex.fields.items)), nil
	}
	if scalar {
		if ex.comps.list {
			return nil, l.fail(n, CodeValidate, ex.ctx, "Fields and comps must both be strings")
		}
		c := strings.TrimSpace(ex.comps.items[0])
		if !scalarComp(c) {
			return nil, l.fail(n, CodeValidate, ex.ctx, "When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)")
		}
		return []string{c}, nil
	}
	if len(ex.comps.items) != len(ex.fields.items) || !ex.comps.list {
		return nil, l.fail(n, CodeValidate, ex.ctx, "Fields and comps lists must have equal length")
	}
	out := make([]string, len(ex.comps.items))
	for i, c := range ex.comps.items {
		out[i] = strings.TrimSpace(c)
		if !validComp(out[i]) {
			return nil, l.fail(n, CodeValidate, ex.ctx, "'"+out[i]+"' is not a supported comparison operator")
		}
	}
	return out, nil
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// addRows checks value rows against the exception's form and appends them.
func (l *fileLoader) addRows(ex *Exception, rows []valueRow, ctx string) error {
	for _, r := range rows {
		switch {
		case ex.Scalar && r.isList:
			return l.fail(r.n, CodeValidate, ctx, "Expected values array to contain a list of strings")
		case ex.Scalar && isNull(r.n):
			return l.fail(r.n, CodeValidate, ctx, "Value must be non-empty")
		case ex.Scalar && r.n.Kind != yaml.ScalarNode:
			return l.fail(r.n, CodeValidate, ctx, "Expected values array to contain a list of strings")
		case ex.Scalar:
			ex.Values = append(ex.Values, []Cell{{Text: r.text, Pos: l.src.pos(r.n)}})
		case !r.isList || len(r.cells) != len(ex.Fields):
			return l.fail(r.n, CodeValidate, ctx, "Fields and values lists must have equal length")
		default:
			ex.Values = append(ex.Values, r.cells)
		}
	}
	return nil
}

// Operators an exception may use (RULES-LANGUAGE.md §2.3).
var (
	stringOps = []string{"=", "==", "!=", "contains", "icontains", "bcontains", "startswith",
		"bstartswith", "endswith", "glob", "iglob", "regex"}
	otherOps  = []string{"<", "<=", ">", ">=", "in", "intersects", "pmatch", "exists"}
	modifiers = []string{"oneof", "anyof", "allof"}
)

func validComp(c string) bool {
	return contains(stringOps, c) || contains(otherOps, c) || modifierComp(c)
}

// scalarComp is what the scalar form allows: the comparison takes the
// whole values list.
func scalarComp(c string) bool {
	return c == "in" || c == "pmatch" || c == "intersects" || modifierComp(c)
}

// modifierComp matches "<string operator> <modifier>", e.g.
// "startswith oneof".
func modifierComp(c string) bool {
	f := strings.Fields(c)
	return len(f) == 2 && contains(stringOps, f[0]) && contains(modifiers, f[1])
}

// defineExceptions validates the exceptions of a rule definition or an
// "exceptions: replace" (where upstream skips the check; we do not).
func (l *fileLoader) defineExceptions(raws []rawException) ([]Exception, error) {
	out := make([]Exception, 0, len(raws))
	for _, r := range raws {
		ex, err := l.exception(r, "Rule exception item must have fields property with a list of fields")
		if err != nil {
			return nil, err
		}
		out = append(out, ex)
	}
	return out, nil
}

// appendExceptions merges appended exceptions into a rule: values only for
// a known name, a whole new exception otherwise.
func (l *fileLoader) appendExceptions(r *Rule, raws []rawException) error {
	for _, raw := range raws {
		if i := exceptionIndex(r.Exceptions, raw.name); i >= 0 {
			if err := l.appendValues(&r.Exceptions[i], raw); err != nil {
				return err
			}
			continue
		}
		ex, err := l.newAppendedException(raw)
		if err != nil {
			return err
		}
		r.Exceptions = append(r.Exceptions, ex)
	}
	return nil
}

func (l *fileLoader) appendValues(ex *Exception, raw rawException) error {
	if raw.fields.set {
		return l.fail(raw.fields.n, CodeValidate, raw.ctx, "Can not append exception fields to existing exception, only values")
	}
	if raw.comps.set {
		return l.fail(raw.comps.n, CodeValidate, raw.ctx, "Can not append exception comps to existing exception, only values")
	}
	return l.addRows(ex, raw.rows, raw.ctx)
}

func (l *fileLoader) newAppendedException(raw rawException) (Exception, error) {
	if !raw.fields.set {
		return Exception{}, l.fail(raw.n, CodeValidate, raw.ctx, "Rule exception must have fields property with a list of fields")
	}
	if len(raw.rows) == 0 {
		return Exception{}, l.fail(raw.n, CodeValidate, raw.ctx, "Rule exception must have values property with a list of values")
	}
	return l.exception(raw, "")
}

func exceptionIndex(exs []Exception, name string) int {
	for i, e := range exs {
		if e.Name == name {
			return i
		}
	}
	return -1
}
