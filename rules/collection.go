package rules

// Collection is the merged result of loading rules files: every list, macro
// and rule after appends, overrides and redefinitions, in the order of
// their first definition. It holds text, not compiled conditions.
type Collection struct {
	Lists  []*List
	Macros []*Macro
	Rules  []*Rule // evaluation order

	// RequiredEngineVersion is the highest required_engine_version seen,
	// as "x.y.z", or "" when no file asked for one.
	RequiredEngineVersion string
	// PluginRequirements are the required_plugin_versions entries of every
	// file, in load order. Load has already checked them.
	PluginRequirements []PluginRequirement
	// Files names the files read, in load order. Falco compiles after each
	// file, so a rule can only use macros of its own file or earlier ones.
	Files []string

	lists  map[string]*List
	macros map[string]*Macro
	rules  map[string]*Rule
	seq    int // Falco's m_cur_index: one tick per define, append or override
}

// List is a named list of values.
type List struct {
	Name    string
	Items   []string   // raw scalar texts, appends included
	ItemPos []Position // where each item was written
	Pos     Position   // first definition
	DefPos  Position   // latest definition, appends aside: Falco's unused warning points here
	Seq
}

// Macro is a named condition fragment.
type Macro struct {
	Name      string
	Condition Text // appends joined with one space, no parentheses
	Pos       Position
	DefPos    Position // latest definition, appends aside: Falco's unused warning points here
	Seq
}

// Seq records when an item was defined and last changed, counted in one
// sequence shared by lists, macros and rules. Falco resolves a macro inside
// another macro (and a list inside a list) only when the referenced item's
// First is lower than the referencing item's Last (RULES-LANGUAGE.md §1.4,
// §1.5); the engine needs both numbers to do the same.
type Seq struct {
	First int // at the first definition; never changes
	Last  int // at the latest define, append or override
}

// Rule is one rule after every append and override.
type Rule struct {
	Name       string
	Condition  Text
	Output     string // trimmed; the same as OutputText.S
	OutputText Text
	OutputPos  Position // where Output starts
	Desc       string
	Priority   Priority
	Source     string // "syscall" when the file gives none
	Enabled    bool
	Tags       []string // sorted, without duplicates

	Exceptions          []Exception
	WarnEvttypes        bool
	SkipIfUnknownFilter bool
	Capture             bool
	CaptureDuration     uint64

	Pos Position // first definition; decides evaluation order
	Seq
}

// Exception is one entry of a rule's exceptions, validated and with its
// default comparison operators filled in.
type Exception struct {
	Name string
	// Scalar is the form with one field and one comparison operator
	// ("fields: ka.target.namespace"). Fields and Comps then have one
	// element and every row of Values holds exactly one Cell.
	Scalar   bool
	Fields   []string
	FieldPos []Position
	Comps    []string // trimmed operators, one per field
	Values   [][]Cell // one row per values entry, one Cell per field
	Pos      Position
}

// Cell is one exception value: a scalar, or an inner YAML list that is
// rendered later as a parenthesised list.
type Cell struct {
	Text   string
	List   []string
	IsList bool
	Pos    Position
}

// PluginRequirement is one required_plugin_versions entry: it is met when
// any of the alternatives (the first is the entry's own name) is loaded.
type PluginRequirement struct {
	Alternatives []PluginVersion
	Pos          Position
}

// PluginVersion is a plugin name with the lowest version it accepts.
type PluginVersion struct{ Name, Version string }

func newCollection() *Collection {
	return &Collection{lists: map[string]*List{}, macros: map[string]*Macro{}, rules: map[string]*Rule{}}
}

// List returns the list with this name, or nil.
func (c *Collection) List(name string) *List { return c.lists[name] }

// Macro returns the macro with this name, or nil.
func (c *Collection) Macro(name string) *Macro { return c.macros[name] }

// Rule returns the rule with this name, or nil.
func (c *Collection) Rule(name string) *Rule { return c.rules[name] }

// FileIndex returns the place of a file in load order, or -1.
func (c *Collection) FileIndex(name string) int {
	for i, f := range c.Files {
		if f == name {
			return i
		}
	}
	return -1
}

// tick advances the shared sequence.
func (c *Collection) tick() int {
	c.seq++
	return c.seq
}

// define adds an item or replaces an earlier one of the same name,
// keeping the earlier one's place, position and First. meta gives an
// item's position and sequence numbers, which the three kinds share.
func define[T any](c *Collection, byName map[string]*T, order *[]*T, name string, it *T, meta func(*T) (*Position, *Seq)) {
	pos, seq := meta(it)
	seq.Last = c.tick()
	if prev := byName[name]; prev != nil {
		ppos, pseq := meta(prev)
		*pos, seq.First = *ppos, pseq.First
		*prev = *it
		return
	}
	seq.First = seq.Last
	byName[name] = it
	*order = append(*order, it)
}

func (c *Collection) defineList(l *List) {
	define(c, c.lists, &c.Lists, l.Name, l, func(x *List) (*Position, *Seq) { return &x.Pos, &x.Seq })
}

func (c *Collection) defineMacro(m *Macro) {
	define(c, c.macros, &c.Macros, m.Name, m, func(x *Macro) (*Position, *Seq) { return &x.Pos, &x.Seq })
}

func (c *Collection) defineRule(r *Rule) {
	define(c, c.rules, &c.Rules, r.Name, r, func(x *Rule) (*Position, *Seq) { return &x.Pos, &x.Seq })
}
