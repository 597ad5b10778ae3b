// Package engine turns a loaded rules collection into a compiled rule set
// and evaluates audit events against it: the middle of the data path.
//
//	rules.Load ──► engine.New ──► Worker.Eval(event) ──► *Alert ──► output
//
// New works in the order Falco's compiler does: every macro's condition is
// parsed and its references resolved first (a macro sees only the macros
// defined before it), then each k8s_audit rule's output format is compiled,
// then its condition: parsed (package condition), extended with its
// exceptions, macros and lists expanded, and compiled to evaluators that
// share field slots (a field is extracted at most once per event). Finally
// the rules are indexed by the verbs, resources and subresources their
// conditions require (index.go; Options.NoIndex turns the index off;
// alerts are the same).
// Rules of other sources are counted in Engine.Skipped, not compiled.
// Errors and warnings go to the rules.Report with file positions, also
// inside macros; when every rule compiles, so do Falco's warnings for
// macros and lists that nothing uses (rules.WarnUnused).
//
// An Engine is immutable and shared; each goroutine evaluates through its
// own Worker. Alerts own their memory: nothing in them points into the
// event's bytes.
package engine
