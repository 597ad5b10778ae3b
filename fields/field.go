package fields

import "github.com/peregrine-sec/peregrine/audit"

// Type is the type of a field's values.
type Type uint8

// The field types. Every ka.*, json.* and jevt.* field is a String; evt.*
// fields have their own types.
const (
	String  Type = iota
	Uint64       // compared as numbers; JSON output_fields give a number
	Bool         // "true" or "false"
	AbsTime      // an event time: text is formatted per field, JSON output_fields give integer ns
)

// ArgKind says what may follow a field name in brackets.
type ArgKind uint8

// The argument kinds.
const (
	ArgNone  ArgKind = iota
	ArgIndex         // optional [N]: digits only, no leading zeros
	ArgKey           // [text], any text; see Field.ArgRequired
)

// Arg is a field argument, checked and parsed once when a rule is compiled.
type Arg struct {
	Text     string // as written, quotes removed
	Index    int    // for ArgIndex, when HasIndex
	HasIndex bool
	Has      bool // an argument was given
}

// Extractor appends the field's values for ev to dst and returns the result.
// Zero values appended means the field is missing (a list field with no
// elements is missing too). Single-value fields append at most one value.
// Appended strings may share memory with ev.Raw.
type Extractor func(ev *audit.Event, arg *Arg, dst []string) []string

// Field is one row of the field table: the single definition of a field used
// by the compiler, by `peregrine fields` and by the generated docs.
type Field struct {
	Name        string
	Type        Type
	List        bool // may yield several values
	Arg         ArgKind
	ArgRequired bool
	Doc         string
	// Extension marks Peregrine-only fields that upstream never had.
	Extension bool
	// Deprecated marks fields kept only for old rules files; a newer field
	// says the same thing better (the Doc names it).
	Deprecated bool
	Extract    Extractor
	// Number gives the numeric value of Uint64 and AbsTime fields, for
	// comparisons and for JSON output_fields.
	Number func(ev *audit.Event) (uint64, bool)
	// Exists, when set, says whether Extract would give a value, without
	// building it: "exists" tests use it.
	Exists func(ev *audit.Event) bool
}
