package defaultrules

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/engine/enginetest"
	"github.com/peregrine-sec/peregrine/rules"
)

// TestLoadClean: the default rules load and compile with no error and no
// warning.
func TestLoadClean(t *testing.T) {
	col, rep := rules.Load(Sources(), rules.Options{})
	if err := rep.Err(); err != nil {
		t.Fatalf("load errors:\n%v", err)
	}
	if e := engine.New(col, engine.DefaultOptions(), rep); e == nil {
		t.Fatalf("compile errors:\n%v", rep.Err())
	}
	for _, d := range rep.Warnings() {
		t.Errorf("warning: %s: %s: %s", d.Pos, d.Context, d.Msg)
	}
}

// TestRuleHygiene: every rule is a k8s_audit rule with a description, an
// output naming who and from where, and MITRE tags (technique and tactic);
// every pg_ macro and list is used by some rule.
func TestRuleHygiene(t *testing.T) {
	col := loadDefaults(t)
	infos := analyze(t, col)
	usedMacros, usedLists := map[string]bool{}, map[string]bool{}
	names := map[string]bool{}
	for _, ri := range infos {
		r := ri.Rule
		if names[strings.ToLower(r.Name)] {
			t.Errorf("rule %q: two rules differ only in case", r.Name)
		}
		names[strings.ToLower(r.Name)] = true
		if r.Source != engine.Source {
			t.Errorf("rule %q: source %q", r.Name, r.Source)
		}
		if len(r.Desc) < 40 {
			t.Errorf("rule %q: desc too short", r.Name)
		}
		debug := hasTag(r, "debug")
		if !debug && (len(ri.Techniques) == 0 || len(ri.Tactics) == 0) {
			t.Errorf("rule %q: needs a MITRE technique tag (T1234) and a tactic tag (mitre_*), has %v", r.Name, r.Tags)
		}
		for _, tag := range ri.Techniques {
			if _, ok := techniqueNames[tag]; !ok {
				t.Errorf("rule %q: technique %s has no name in techniqueNames", r.Name, tag)
			}
		}
		for _, tag := range ri.Tactics {
			if _, ok := tacticNames[tag]; !ok {
				t.Errorf("rule %q: unknown tactic tag %s", r.Name, tag)
			}
		}
		for _, want := range []string{"%ka.user.name", "%ka.verb"} {
			if !strings.Contains(r.Output, want) {
				t.Errorf("rule %q: output lacks %s", r.Name, want)
			}
		}
		if !debug {
			for _, want := range []string{"%ka.user.groups", "%ka.sourceips", "%ka.useragent"} {
				if !strings.Contains(r.Output, want) {
					t.Errorf("rule %q: output lacks %s", r.Name, want)
				}
			}
		}
		for _, f := range ri.OutFields {
			// Request bodies of configmaps and secrets hold credentials:
			// outputs name objects, never print their data.
			if strings.HasPrefix(f, "ka.req.configmap.obj") || strings.Contains(f, "/data") || f == "ka.req" || f == "ka.resp" {
				t.Errorf("rule %q: output prints %s, which may hold secret material", r.Name, f)
			}
		}
		for _, m := range ri.Macros {
			usedMacros[m] = true
		}
		for _, l := range ri.Lists {
			usedLists[l] = true
		}
	}
	for _, m := range col.Macros {
		if !strings.HasPrefix(m.Name, "pg_") {
			t.Errorf("macro %s: Peregrine's names start with pg_", m.Name)
		}
		if !usedMacros[m.Name] {
			t.Errorf("macro %s is not used by any rule", m.Name)
		}
	}
	for _, l := range col.Lists {
		if !strings.HasPrefix(l.Name, "pg_") {
			t.Errorf("list %s: Peregrine's names start with pg_", l.Name)
		}
		if !usedLists[l.Name] {
			t.Errorf("list %s is not used by any rule", l.Name)
		}
	}
}

func hasTag(r *rules.Rule, tag string) bool {
	for _, t := range r.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// TestVerbIndexed: every rule that can only match some verbs says so in a
// top-level ka.verb test, so the engine's verb index skips it for other
// events. The rules listed here look at every verb on purpose.
func TestVerbIndexed(t *testing.T) {
	anyVerb := map[string]bool{
		"Anonymous request allowed":                             true,
		"Service account token used from an unexpected network": true,
		"Impersonation of a system identity":                    true,
		"Node credentials used by a non-kubelet client":         true,
		"Request from an unexpected network":                    true,
		"Kubelet API reached through the API server":            true,
		"Pod or service reached through the API server proxy":   true,
		"Request made through impersonation":                    true,
		"Service account denied a sensitive request":            true,
		"Request by a user outside the allowed list":            true,
		"Request by a default administrator account":            true,
		"Every audit event":                                     true,
	}
	col := loadDefaults(t)
	for _, r := range col.Rules {
		indexed := verbIndexed(t, col, r)
		switch {
		case anyVerb[r.Name] && indexed:
			t.Errorf("rule %q tests a verb at the top; drop it from anyVerb", r.Name)
		case !anyVerb[r.Name] && !indexed:
			t.Errorf("rule %q: add a top-level ka.verb test so the verb index can skip it", r.Name)
		}
	}
}

// TestRuleFiles runs every test file under tests/ through the same runner
// as `peregrine test`, one subtest per case, and checks that every default
// rule has a case where it fires and a case where it must not.
func TestRuleFiles(t *testing.T) {
	paths, err := enginetest.FindSuites([]string{"tests"})
	if err != nil {
		t.Fatal(err)
	}
	positive, negative := map[string]int{}, map[string]int{}
	opts := enginetest.SuiteOptions{DefaultRules: Sources()}
	for _, p := range paths {
		s, err := enginetest.LoadSuite(p)
		if err != nil {
			t.Fatal(err)
		}
		res := s.Run(opts)
		name := strings.TrimSuffix(filepath.Base(p), ".yaml")
		if res.LoadErr != nil {
			t.Errorf("%s: %v", p, res.LoadErr)
			continue
		}
		for _, cr := range res.Cases {
			t.Run(name+"/"+cr.Case.Name, func(t *testing.T) {
				for _, d := range cr.Diff {
					t.Errorf("%s:%d: %s", p, cr.Case.Line, d)
				}
			})
			for _, e := range cr.Case.Expect {
				if e.Count > 0 {
					positive[e.Rule]++
				} else {
					negative[e.Rule]++
				}
			}
		}
	}
	col := loadDefaults(t)
	for _, r := range col.Rules {
		if positive[r.Name] == 0 {
			t.Errorf("rule %q has no test case where it fires", r.Name)
		}
		if negative[r.Name] == 0 {
			t.Errorf("rule %q has no test case where it must stay silent (count: 0)", r.Name)
		}
	}
	for name := range positive {
		if col.Rule(name) == nil {
			t.Errorf("tests expect rule %q, which does not exist", name)
		}
	}
}
