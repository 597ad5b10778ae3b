package defaultrules

import (
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/condition"
	"github.com/peregrine-sec/peregrine/rules"
)

// auditLevel is the audit policy level an event must be recorded at for a
// field to have a value.
type auditLevel int

const (
	levelMetadata auditLevel = iota
	levelRequest
	levelRequestResponse
)

func (l auditLevel) String() string {
	return [...]string{"Metadata", "Request", "RequestResponse"}[l]
}

// fieldLevel says which audit level a field needs: request bodies need
// Request, response bodies RequestResponse, the rest is in every event.
func fieldLevel(name, arg string) auditLevel {
	switch {
	case name == "ka.req.configmap.name" || name == "ka.req.binding.subject.has_name":
		return levelMetadata // objectRef.name, and a constant
	case name == "ka.resp" || strings.HasPrefix(name, "ka.resp.") || name == "ka.target.pod.name":
		return levelRequestResponse
	case name == "ka.req" || strings.HasPrefix(name, "ka.req."):
		return levelRequest
	case name == "jevt.value" || name == "json.value":
		switch {
		case strings.HasPrefix(arg, "/responseObject") || arg == "":
			return levelRequestResponse
		case strings.HasPrefix(arg, "/requestObject"):
			return levelRequest
		}
	case name == "jevt.obj" || name == "json.obj" || name == "evt.plugininfo":
		return levelRequestResponse
	}
	return levelMetadata
}

// ruleInfo is what the docs and the hygiene checks need to know of a rule.
type ruleInfo struct {
	Rule       *rules.Rule
	File       string
	CondFields []string // every field the condition reads, with arguments
	OutFields  []string
	Level      auditLevel // to fire
	OutLevel   auditLevel // for every output field to have a value
	Macros     []string   // pg_* macros the condition uses, directly or not
	Lists      []string   // pg_* lists it uses
	Techniques []string
	Tactics    []string
}

var (
	techniqueTag = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	outputField  = regexp.MustCompile(`%((?:ka|jevt|json|evt)\.[A-Za-z0-9_.]*[A-Za-z0-9_](?:\[[^\]]*\])?)`)
)

// loadDefaults loads the embedded rules and fails the test on any error.
func loadDefaults(t *testing.T) *rules.Collection {
	t.Helper()
	col, rep := rules.Load(Sources(), rules.Options{})
	if err := rep.Err(); err != nil {
		t.Fatalf("default rules do not load:\n%v", err)
	}
	return col
}

// analyze reads every rule of the collection: fields, levels, the macros
// and lists it uses, its MITRE tags.
func analyze(t *testing.T, col *rules.Collection) []*ruleInfo {
	t.Helper()
	w := &walker{t: t, col: col}
	var out []*ruleInfo
	for _, r := range col.Rules {
		w.reset()
		w.cond(r.Condition.S, "rule "+r.Name)
		ri := &ruleInfo{Rule: r, File: path.Base(r.Pos.File)}
		ri.CondFields = sortedKeys(w.fields)
		for f := range w.fields {
			name, arg, _ := strings.Cut(strings.TrimSuffix(f, "]"), "[")
			ri.Level = max(ri.Level, fieldLevel(name, arg))
		}
		ri.OutLevel = ri.Level
		seen := map[string]bool{}
		for _, m := range outputField.FindAllStringSubmatch(r.Output, -1) {
			f := m[1]
			if seen[f] {
				continue
			}
			seen[f] = true
			ri.OutFields = append(ri.OutFields, f)
			name, arg, _ := strings.Cut(strings.TrimSuffix(f, "]"), "[")
			ri.OutLevel = max(ri.OutLevel, fieldLevel(name, arg))
		}
		ri.Macros, ri.Lists = sortedKeys(w.macros), sortedKeys(w.lists)
		for _, tag := range r.Tags {
			switch {
			case techniqueTag.MatchString(tag):
				ri.Techniques = append(ri.Techniques, tag)
			case strings.HasPrefix(tag, "mitre_"):
				ri.Tactics = append(ri.Tactics, tag)
			}
		}
		out = append(out, ri)
	}
	return out
}

// walker collects what a condition uses, following macros and lists.
type walker struct {
	t      *testing.T
	col    *rules.Collection
	fields map[string]bool
	macros map[string]bool
	lists  map[string]bool
}

func (w *walker) reset() {
	w.fields, w.macros, w.lists = map[string]bool{}, map[string]bool{}, map[string]bool{}
}

func (w *walker) cond(text, where string) {
	n, err := condition.Parse(text)
	if err != nil {
		w.t.Fatalf("%s: %v", where, err)
	}
	condition.Inspect(n, func(n condition.Node) bool {
		switch n := n.(type) {
		case *condition.FieldRef:
			f := n.Name
			if n.HasArg {
				f += "[" + n.Arg + "]"
			}
			w.fields[f] = true
		case *condition.MacroRef:
			if !w.macros[n.Name] {
				w.macros[n.Name] = true
				m := w.col.Macro(n.Name)
				if m == nil {
					w.t.Fatalf("%s: undefined macro %s", where, n.Name)
				}
				w.cond(m.Condition.S, "macro "+n.Name)
			}
		case *condition.List:
			for _, it := range n.Items {
				if !it.Quoted {
					w.list(it.Text)
				}
			}
		}
		return true
	})
}

func (w *walker) list(name string) {
	l := w.col.List(name)
	if l == nil || w.lists[name] {
		return
	}
	w.lists[name] = true
	for _, it := range l.Items {
		w.list(it)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// env resolves macros and lists of a collection for condition.Expand.
type env struct{ col *rules.Collection }

func (e env) Macro(name string) (condition.Node, bool) {
	m := e.col.Macro(name)
	if m == nil {
		return nil, false
	}
	n, err := condition.Parse(m.Condition.S)
	return n, err == nil
}

func (e env) List(name string) ([]string, bool) {
	l := e.col.List(name)
	if l == nil {
		return nil, false
	}
	return l.Items, true
}

// verbIndexed reports whether the expanded condition has a top-level
// `ka.verb =` or `ka.verb in` term, the shape the engine's verb index
// reads.
func verbIndexed(t *testing.T, col *rules.Collection, r *rules.Rule) bool {
	n, err := condition.Parse(r.Condition.S)
	if err != nil {
		t.Fatal(err)
	}
	n, err = condition.Expand(n, env{col})
	if err != nil {
		t.Fatal(err)
	}
	var terms []condition.Node
	var flatten func(condition.Node)
	flatten = func(n condition.Node) {
		if a, ok := n.(*condition.And); ok {
			for _, x := range a.Terms {
				flatten(x)
			}
			return
		}
		terms = append(terms, n)
	}
	flatten(n)
	for _, x := range terms {
		c, ok := x.(*condition.Check)
		if !ok {
			continue
		}
		f, ok := c.Left.(*condition.FieldRef)
		if ok && f.Name == "ka.verb" && (c.Op == condition.OpEq || c.Op == condition.OpIn) {
			return true
		}
	}
	return false
}
