// Package rules loads Falco rules files: YAML text in, one merged
// Collection of lists, macros and rules out.
//
// It is the first step of rule loading:
//
//	rules files ──► rules.Load ──► *Collection ──► engine (condition compile,
//	                    │                          output compile, index)
//	                    └──► *Report (errors and warnings, FILE:LINE:COL)
//
// Load reads each file's YAML documents, checks every item's structure with
// Falco's own messages and codes (RULES-LANGUAGE.md §1), and merges the
// files in order: redefinition, legacy "append: true", "override:" with
// append and replace, exceptions, required_engine_version and
// required_plugin_versions. It does not parse conditions and does not know
// fields; the engine and package condition do that, and add their own
// diagnostics to the same Report.
//
// Conditions are kept as Text: the string plus a map from its byte offsets
// back to the file, rebuilt from the raw lines, so an error on the second
// line of a folded "condition: >" points at the right line and column.
//
// Collection.Apply applies falco.yaml's "rules:" enable/disable selectors.
//
// Where upstream Falco is ambiguous or plainly accidental, this package
// chooses and says so next to the code: "exceptions: replace" is validated
// and gets default comps; an "override" that is not a mapping is an error;
// output text is trimmed on append and replace too; positions are 1-based.
package rules
