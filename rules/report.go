package rules

import (
	"sort"
	"strconv"
	"strings"
)

// Falco's load result codes (RULES-LANGUAGE.md §1.10). Errors start with
// LOAD_ERR_; everything else is a warning.
const (
	CodeFileRead         = "LOAD_ERR_FILE_READ"
	CodeYAMLParse        = "LOAD_ERR_YAML_PARSE"
	CodeYAMLValidate     = "LOAD_ERR_YAML_VALIDATE"
	CodeCompileCondition = "LOAD_ERR_COMPILE_CONDITION"
	CodeCompileOutput    = "LOAD_ERR_COMPILE_OUTPUT"
	CodeValidate         = "LOAD_ERR_VALIDATE"
	CodeExtension        = "LOAD_ERR_EXTENSION"

	WarnUnknownSource      = "LOAD_UNKNOWN_SOURCE"
	WarnUnsafeNACheck      = "LOAD_UNSAFE_NA_CHECK"
	WarnNoEvttype          = "LOAD_NO_EVTTYPE"
	WarnUnknownFilter      = "LOAD_UNKNOWN_FILTER"
	WarnUnusedMacro        = "LOAD_UNUSED_MACRO"
	WarnUnusedList         = "LOAD_UNUSED_LIST"
	WarnUnknownItem        = "LOAD_UNKNOWN_ITEM"
	WarnDeprecatedItem     = "LOAD_DEPRECATED_ITEM"
	WarnAppendNoValues     = "LOAD_APPEND_NO_VALUES"
	WarnExceptionNotUnique = "LOAD_EXCEPTION_NAME_NOT_UNIQUE"
	WarnInvalidMacroName   = "LOAD_INVALID_MACRO_NAME"
	WarnInvalidListName    = "LOAD_INVALID_LIST_NAME"
	WarnCompileCondition   = "LOAD_COMPILE_CONDITION"
	WarnUnknownKey         = "LOAD_UNKNOWN_KEY"
)

// MaxErrors is how many errors Report.Errors keeps before it adds one
// "N more errors" entry, so CI logs stay readable.
const MaxErrors = 100

// Diag is one error or warning found while loading rules.
type Diag struct {
	Pos     Position
	Code    string // Falco's LOAD_ERR_* or LOAD_* name
	Msg     string // Falco's message where there is one
	Context string // the item, e.g. "rule 'Foo'"; may be empty
	Warning bool
}

// Error gives the DESIGN.md form "FILE:LINE:COL: message".
func (d Diag) Error() string { return d.Pos.String() + ": " + d.Msg }

// ErrorList is what Report.Err returns: the sorted, capped errors.
type ErrorList []Diag

// Error prints one error per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, d := range l {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// Report collects the errors and warnings of a load. Later stages (the
// engine's condition and output compiler) add theirs with Add, so a
// command prints one sorted list.
type Report struct {
	diags []Diag
	files map[string]int // load order of file names, for sorting
}

// Add records a diagnostic.
func (r *Report) Add(d Diag) { r.diags = append(r.diags, d) }

func (r *Report) addFile(name string) {
	if r.files == nil {
		r.files = map[string]int{}
	}
	if _, ok := r.files[name]; !ok {
		r.files[name] = len(r.files)
	}
}

// Err returns the errors as an ErrorList, or nil when there are none.
func (r *Report) Err() error {
	if errs := r.Errors(); len(errs) > 0 {
		return ErrorList(errs)
	}
	return nil
}

// Errors gives the errors sorted by file (in load order) and position,
// keeping the first error of each line and at most MaxErrors of them,
// followed by an "N more errors" entry when some were left out.
func (r *Report) Errors() []Diag {
	errs := r.sorted(false)
	out := errs[:0:0]
	for i, d := range errs {
		if i > 0 && d.Pos.IsValid() && sameLine(d.Pos, errs[i-1].Pos) {
			continue
		}
		out = append(out, d)
	}
	if len(out) > MaxErrors {
		rest := out[MaxErrors]
		more := Diag{Pos: rest.Pos, Code: rest.Code, Msg: strconv.Itoa(len(out)-MaxErrors) + " more errors"}
		out = append(out[:MaxErrors:MaxErrors], more)
	}
	return out
}

// Warnings gives the warnings sorted by file and position.
func (r *Report) Warnings() []Diag { return r.sorted(true) }

func sameLine(p, q Position) bool { return p.File == q.File && p.Line == q.Line }

func (r *Report) sorted(warnings bool) []Diag {
	var out []Diag
	for _, d := range r.diags {
		if d.Warning == warnings {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return r.less(out[i].Pos, out[j].Pos) })
	return out
}

// less orders by file load order (unknown files last, by name), then by
// line and column.
func (r *Report) less(p, q Position) bool {
	if p.File != q.File {
		pi, pok := r.files[p.File]
		qi, qok := r.files[q.File]
		switch {
		case pok && qok:
			return pi < qi
		case pok != qok:
			return pok
		}
		return p.File < q.File
	}
	return p.before(q)
}
