package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/gen"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
)

// indexRules restrict the verb, the resource, both, or neither, in the
// ways a condition can.
var indexRules = rule("Any", "ka.user.name exists", "x") +
	rule("CreateOnly", "ka.verb = create", "x") +
	rule("Writes", "ka.verb in (create, update, patch) and ka.user.name exists", "x") +
	rule("Pods", "ka.target.resource = pods", "x") +
	rule("PodWrites", "(ka.verb in (create, patch) and (ka.target.resource in (pods, deployments)))", "x") +
	rule("SecretsGet", "ka.verb=get and ka.target.resource=secrets", "x") +
	rule("NotDelete", "not ka.verb = delete", "x") +
	rule("OrIsAny", "ka.verb = create or ka.target.resource = pods", "x") +
	rule("EmptyVerb", `ka.verb = ""`, "x") +
	rule("Upper", "toupper(ka.verb) = CREATE", "x") +
	rule("RoleChange", "(ka.target.resource=roles or ka.target.resource=clusterroles) and (ka.verb=update or ka.verb in (patch, delete))", "x") +
	rule("PortForward", "ka.target.subresource in (portforward) and ka.user.name exists", "x")

// TestIndexCandidates is the specification of the rule index: which rules
// an event with a given verb and resource is evaluated against.
func TestIndexCandidates(t *testing.T) {
	e := compile(t, indexRules, DefaultOptions())
	tests := []struct {
		verb, resource, sub string // "-" for absent
		want                string
	}{
		{"create", "pods", "-", "Any CreateOnly Writes Pods PodWrites NotDelete OrIsAny EmptyVerb Upper"},
		{"create", "configmaps", "-", "Any CreateOnly Writes NotDelete OrIsAny EmptyVerb Upper"},
		{"patch", "deployments", "-", "Any Writes PodWrites NotDelete OrIsAny EmptyVerb Upper"},
		{"get", "secrets", "-", "Any SecretsGet NotDelete OrIsAny EmptyVerb Upper"},
		{"get", "pods", "-", "Any Pods NotDelete OrIsAny EmptyVerb Upper"},
		{"watch", "leases", "-", "Any NotDelete OrIsAny EmptyVerb Upper"},
		{"-", "-", "-", "Any NotDelete OrIsAny EmptyVerb Upper"},
		{"", "pods", "-", "Any Pods NotDelete OrIsAny EmptyVerb Upper"},
		{"patch", "clusterroles", "-", "Any Writes NotDelete OrIsAny EmptyVerb Upper RoleChange"},
		{"delete", "roles", "-", "Any NotDelete OrIsAny EmptyVerb Upper RoleChange"}, // negations never narrow
		{"create", "roles", "-", "Any CreateOnly Writes NotDelete OrIsAny EmptyVerb Upper"},
		{"create", "pods", "portforward", "Any CreateOnly Writes Pods PodWrites NotDelete OrIsAny EmptyVerb Upper PortForward"},
		{"get", "pods", "log", "Any Pods NotDelete OrIsAny EmptyVerb Upper"},
	}
	for _, tt := range tests {
		t.Run(tt.verb+"/"+tt.resource+"/"+tt.sub, func(t *testing.T) {
			ev := indexEvent(tt.verb, tt.resource, tt.sub)
			w := e.NewWorker()
			w.x.Reset(ev)
			var got []string
			for _, r := range e.index.candidates(w.x) {
				got = append(got, r.Name)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("candidates %q\nwant       %q", g, tt.want)
			}
		})
	}
}

func indexEvent(verb, resource, sub string) *audit.Event {
	var members, ref []string
	if verb != "-" {
		members = append(members, fmt.Sprintf(`"verb":%q`, verb))
	}
	if resource != "-" {
		ref = append(ref, fmt.Sprintf(`"resource":%q`, resource))
	}
	if sub != "-" {
		ref = append(ref, fmt.Sprintf(`"subresource":%q`, sub))
	}
	if ref != nil {
		members = append(members, `"objectRef":{`+strings.Join(ref, ",")+`}`)
	}
	raw := `{"kind":"Event","auditID":"a","user":{"username":"u"},` + strings.Join(append(members, `"stageTimestamp":"2024-01-01T00:00:00Z"`), ",") + `}`
	var ev *audit.Event
	audit.DecodePayload([]byte(raw), func(e *audit.Event) { ev = e }, nil)
	ev.Num = 1
	return ev
}

// TestIndexSameAlerts: on generated traffic full of attacks, the index on
// and off give the same alerts, with the default rules and every rule
// matching.
func TestIndexSameAlerts(t *testing.T) {
	g, err := gen.New(gen.Options{Seed: 7, AttackShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	var events []*audit.Event
	var seq audit.Sequence
	for range 5000 {
		line, _ := g.AppendEvent(nil)
		audit.DecodePayload(line, func(e *audit.Event) { seq.Stamp(e); events = append(events, e) }, nil)
	}
	var out [2]string
	for i, noIndex := range []bool{false, true} {
		col, rep := rules.Load(defaultrules.Sources(), rules.Options{})
		opts := DefaultOptions()
		opts.MatchAll, opts.NoIndex = true, noIndex
		e := New(col, opts, rep)
		if e == nil {
			t.Fatal(rep.Err())
		}
		var b strings.Builder
		w := e.NewWorker()
		for _, ev := range events {
			w.Eval(ev, func(a *Alert) { fmt.Fprintf(&b, "%s %s %v\n", a.Rule, a.Output, a.Fields) })
		}
		out[i] = b.String()
	}
	if out[0] != out[1] || out[0] == "" {
		t.Errorf("alerts differ with the index on and off (%d vs %d bytes)", len(out[0]), len(out[1]))
	}
}
