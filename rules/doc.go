// Package rules loads Falco rules files: YAML text in, one merged
// Collection of lists, macros and rules out.
//
// It is the first step of rule loading:
//
//	rules files ──► rules.Load ──► *Collection ──► engine: condition compile
//	                    │                          (package condition), output
//	                    │                          compile, rule index
//	                    └──► *Report: errors and warnings as FILE:LINE:COL
//
// Load reads each file's YAML documents, checks every item with Falco's own
// messages and codes (RULES-LANGUAGE.md §1) and merges the files in order:
// redefinition, legacy "append: true", "override:" with append and
// replace, exceptions, required_engine_version, and
// required_plugin_versions (checked once all files are in). It does not
// parse conditions and does not know fields: the engine does, and adds its
// diagnostics to the same Report with Report.Add.
//
// # API
//
//   - Load(files []Source, opts Options) (*Collection, *Report). Options
//     holds the engine version (DefaultEngineVersion, 0.63.0) and the
//     plugin versions (DefaultPlugins) that requirements are checked
//     against.
//   - Collection: Lists, Macros and Rules in first-definition order (Rules
//     is evaluation order), lookups List, Macro and Rule by name,
//     RequiredEngineVersion, PluginRequirements and Files (load order,
//     FileIndex). Apply runs falco.yaml's "rules:" enable/disable
//     Selectors.
//   - List{Name, Items, ItemPos, Pos, DefPos, Seq}, Macro{Name, Condition,
//     Pos, DefPos, Seq},
//     Rule{Name, Condition, Output, OutputText, OutputPos, Desc, Priority,
//     Source, Enabled, Tags, Exceptions, WarnEvttypes, SkipIfUnknownFilter,
//     Capture, CaptureDuration, Pos, Seq}. Pos is the first definition;
//     DefPos the latest one (appends aside).
//     Seq{First, Last} counts defines and appends the way Falco does, for the
//     engine's macro and list visibility rule.
//   - Exception{Name, Scalar, Fields, FieldPos, Comps, Values [][]Cell, Pos}
//     with default comps filled in ("=" per field in list form, "in" in
//     scalar form); in scalar form every row of Values has one Cell.
//     Cell{Text, List, IsList, Pos}. Exceptions stay structured: the engine
//     builds conditions from them.
//   - Priority (Emergency=0 … Debug=7), ParsePriority, Priority.String.
//   - Position{File, Line, Col}, 1-based, Col in characters as the YAML
//     parser counts them. Text{S} with Text.Position(offset) and NewText.
//   - WarnUnused(col, compiled, refs, rep): Falco's LOAD_UNUSED_MACRO and
//     LOAD_UNUSED_LIST, which the engine calls once the rules compile,
//     passing a MacroRefs built on package condition.
//   - Report: Errors (sorted, one per line, at most MaxErrors plus an
//     "N more errors" entry), Warnings, Err (nil or an ErrorList), Add.
//     Diag{Pos, Code, Msg, Context, Warning}; Code is Falco's LOAD_* name.
//
// Conditions are kept as Text: the string plus a map from its byte offsets
// back to the file, rebuilt from the raw lines (as cel-go's policy parser
// does), so an error on the second line of a folded "condition: >" points
// at the right line and column, also after appends join several files.
//
// # Decisions
//
// Where upstream is ambiguous or plainly accidental, this package chooses:
// "exceptions: replace" is validated and gets default comps like a
// definition; an "override" that is a scalar or sequence is an error
// (upstream ignores a scalar); output text is trimmed on append and replace
// too, not only on definition; positions point at the most precise node
// (a key or a value) where upstream names the whole item; a YAML alias that
// would make loading quadratic stops the file with "document contains
// excessive aliasing"; null cells and nested lists inside exception values
// are errors rather than empty text; YAML merge keys ("<<") are not
// expanded and are reported as unknown keys.
package rules
