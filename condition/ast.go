package condition

import "strings"

// Pos is a byte offset into the condition text. Nodes store offsets only;
// line and column are worked out when an error is printed.
type Pos int32

// Node is a node of a parsed condition.
type Node interface {
	Position() Pos
	String() string
}

// Operand is the left- or right-hand side of a check: a field or a
// transformer applied to operands.
type Operand interface {
	Node
	operand()
}

// And is an n-ary conjunction; it short-circuits.
type And struct {
	At    Pos
	Terms []Node
}

// Or is an n-ary disjunction; it short-circuits.
type Or struct {
	At    Pos
	Terms []Node
}

// Not negates the next check or parenthesised group.
type Not struct {
	At Pos
	X  Node
}

// MacroRef is a bare identifier in check position: a reference to a macro.
type MacroRef struct {
	At   Pos
	Name string
}

// Check is a comparison: Left Op Right. For "exists" Right is nil.
type Check struct {
	At   Pos
	Left Operand
	Op   Op
	Mod  Mod // oneof/anyof/allof after a string operator, else ModNone
	// Right is one of:
	//   nil         for exists
	//   *Value      a single (bare or quoted) value
	//   *List       a parenthesised list, or the one-element list of "in foo"
	//   *FieldRef   val(field)
	//   *Transform  a transformer on the right-hand side
	Right Node
}

// FieldRef names a field, with an optional [argument].
type FieldRef struct {
	At        Pos
	Name      string // e.g. "ka.user.name", "jevt.value"
	Arg       string // the text between [ and ], quotes removed
	HasArg    bool
	ArgQuoted bool // the argument was written quoted
	Val       bool // written as val(field) on the right-hand side
}

// Transform applies a transformer (tolower, toupper, b64, basename, len,
// join, concat, getopt) to its arguments.
type Transform struct {
	At   Pos
	Name string
	Args []Node // *FieldRef, *Transform, *Value or *List
}

// Value is a literal: a bare string, a quoted string or a number, kept as text.
type Value struct {
	At     Pos
	Text   string // unescaped content
	Quoted bool
}

// List is a parenthesised list of values, e.g. (a, "b c"). Bare items may
// name rules-file lists; expansion replaces them with the list's items.
type List struct {
	At    Pos
	Items []*Value
	Paren bool // false for the one-element list of "in foo"
}

// Op is a comparison operator.
type Op uint8

// The operators, in the order the lexer tries them.
const (
	OpInvalid Op = iota
	OpExists
	OpLe
	OpLt
	OpGe
	OpGt
	OpEqEq
	OpEq
	OpNe
	OpGlob
	OpIGlob
	OpContains
	OpIContains
	OpBContains
	OpStartsWith
	OpBStartsWith
	OpEndsWith
	OpRegex
	OpIntersects
	OpIn
	OpPmatch
)

var opNames = [...]string{
	OpInvalid: "?", OpExists: "exists", OpLe: "<=", OpLt: "<", OpGe: ">=", OpGt: ">",
	OpEqEq: "==", OpEq: "=", OpNe: "!=", OpGlob: "glob", OpIGlob: "iglob",
	OpContains: "contains", OpIContains: "icontains", OpBContains: "bcontains",
	OpStartsWith: "startswith", OpBStartsWith: "bstartswith", OpEndsWith: "endswith",
	OpRegex: "regex", OpIntersects: "intersects", OpIn: "in", OpPmatch: "pmatch",
}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "?"
}

// IsList reports whether the operator takes a list on its right.
func (o Op) IsList() bool { return o == OpIn || o == OpIntersects || o == OpPmatch }

// ParseOp returns the operator spelled s (whitespace trimmed), or OpInvalid.
func ParseOp(s string) Op {
	s = strings.TrimSpace(s)
	for i, n := range opNames {
		if i != int(OpInvalid) && n == s {
			return Op(i)
		}
	}
	return OpInvalid
}

// Mod is a list modifier after a string operator: "startswith oneof (a, b)".
type Mod uint8

// The modifiers.
const (
	ModNone Mod = iota
	ModOneOf
	ModAnyOf
	ModAllOf
)

var modNames = [...]string{ModNone: "", ModOneOf: "oneof", ModAnyOf: "anyof", ModAllOf: "allof"}

func (m Mod) String() string { return modNames[m] }

func (n *And) Position() Pos       { return n.At }
func (n *Or) Position() Pos        { return n.At }
func (n *Not) Position() Pos       { return n.At }
func (n *MacroRef) Position() Pos  { return n.At }
func (n *Check) Position() Pos     { return n.At }
func (n *FieldRef) Position() Pos  { return n.At }
func (n *Transform) Position() Pos { return n.At }
func (n *Value) Position() Pos     { return n.At }
func (n *List) Position() Pos      { return n.At }

func (*FieldRef) operand()  {}
func (*Transform) operand() {}
