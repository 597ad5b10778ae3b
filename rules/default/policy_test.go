package defaultrules

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/peregrine-sec/peregrine/engine/enginetest"
)

const auditPolicy = "../../deploy/audit-policy.yaml"

// policy is the part of an audit.k8s.io/v1 Policy that decides levels.
type policy struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	OmitStages []string     `yaml:"omitStages"`
	Rules      []policyRule `yaml:"rules"`
}

type policyRule struct {
	Level           string          `yaml:"level"`
	Users           []string        `yaml:"users"`
	UserGroups      []string        `yaml:"userGroups"`
	Verbs           []string        `yaml:"verbs"`
	Resources       []groupResource `yaml:"resources"`
	Namespaces      []string        `yaml:"namespaces"`
	NonResourceURLs []string        `yaml:"nonResourceURLs"`
	OmitStages      []string        `yaml:"omitStages"`
}

type groupResource struct {
	Group         string   `yaml:"group"`
	Resources     []string `yaml:"resources"`
	ResourceNames []string `yaml:"resourceNames"`
}

// request is what the policy checker sees of an audit event.
type request struct {
	User, Verb, Stage                             string
	Groups                                        []string
	Resource, Subresource, Group, Namespace, Name string
	IsResource                                    bool
	Path                                          string
}

func requestOf(t *testing.T, raw []byte) request {
	var ev struct {
		Verb       string `json:"verb"`
		Stage      string `json:"stage"`
		RequestURI string `json:"requestURI"`
		User       struct {
			Username string   `json:"username"`
			Groups   []string `json:"groups"`
		} `json:"user"`
		ObjectRef *struct {
			Resource    string `json:"resource"`
			Subresource string `json:"subresource"`
			APIGroup    string `json:"apiGroup"`
			Namespace   string `json:"namespace"`
			Name        string `json:"name"`
		} `json:"objectRef"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("event: %v", err)
	}
	r := request{User: ev.User.Username, Groups: ev.User.Groups, Verb: ev.Verb, Stage: ev.Stage}
	if u, err := url.Parse(ev.RequestURI); err == nil {
		r.Path = u.Path
	}
	if o := ev.ObjectRef; o != nil {
		r.IsResource = true
		r.Resource, r.Subresource, r.Group, r.Namespace, r.Name = o.Resource, o.Subresource, o.APIGroup, o.Namespace, o.Name
	}
	return r
}

// level returns the level the policy records a request at, as
// k8s.io/apiserver/pkg/audit/policy/checker.go decides it: the first rule
// that matches wins, none means None. The second result is false when the
// stage is omitted.
func (p *policy) level(r request) (string, bool) {
	for _, pr := range p.Rules {
		if pr.matches(r) {
			omitted := slices.Contains(p.OmitStages, r.Stage) || slices.Contains(pr.OmitStages, r.Stage)
			return pr.Level, !omitted
		}
	}
	return "None", true
}

func (pr *policyRule) matches(r request) bool {
	if len(pr.Users) > 0 && !slices.Contains(pr.Users, r.User) {
		return false
	}
	if len(pr.UserGroups) > 0 && !slices.ContainsFunc(r.Groups, func(g string) bool { return slices.Contains(pr.UserGroups, g) }) {
		return false
	}
	if len(pr.Verbs) > 0 && !slices.Contains(pr.Verbs, r.Verb) {
		return false
	}
	if len(pr.NonResourceURLs) == 0 && len(pr.Resources) == 0 && len(pr.Namespaces) == 0 {
		return true
	}
	if !r.IsResource {
		if len(pr.Namespaces) > 0 || len(pr.Resources) > 0 {
			return false
		}
		for _, u := range pr.NonResourceURLs {
			if u == "*" || u == r.Path || (strings.HasSuffix(u, "*") && strings.HasPrefix(r.Path, strings.TrimSuffix(u, "*"))) {
				return true
			}
		}
		return false
	}
	if len(pr.NonResourceURLs) > 0 {
		return false
	}
	if len(pr.Namespaces) > 0 && !slices.Contains(pr.Namespaces, r.Namespace) {
		return false
	}
	if len(pr.Resources) == 0 {
		return true
	}
	combined := r.Resource
	if r.Subresource != "" {
		combined += "/" + r.Subresource
	}
	for _, gr := range pr.Resources {
		if gr.Group != r.Group {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		if len(gr.ResourceNames) > 0 && !slices.Contains(gr.ResourceNames, r.Name) {
			continue
		}
		for _, res := range gr.Resources {
			switch {
			case res == combined || res == "*":
				return true
			case r.Subresource != "" && strings.HasPrefix(res, "*/") && r.Subresource == strings.TrimPrefix(res, "*/"):
				return true
			case strings.HasSuffix(res, "/*") && r.Resource == strings.TrimSuffix(res, "/*"):
				return true
			}
		}
	}
	return false
}

var levelRank = map[string]auditLevel{"Metadata": levelMetadata, "Request": levelRequest, "RequestResponse": levelRequestResponse}

func loadPolicy(t *testing.T) *policy {
	t.Helper()
	b, err := os.ReadFile(auditPolicy)
	if err != nil {
		t.Fatal(err)
	}
	var p policy
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", auditPolicy, err)
	}
	if p.APIVersion != "audit.k8s.io/v1" || p.Kind != "Policy" {
		t.Fatalf("%s: not an audit.k8s.io/v1 Policy", auditPolicy)
	}
	for i, r := range p.Rules {
		if r.Level != "None" && levelRank[r.Level] == levelMetadata && r.Level != "Metadata" {
			t.Errorf("rule %d: unknown level %q", i+1, r.Level)
		}
	}
	return &p
}

// TestAuditPolicyFeedsRules: every alert the rule tests expect comes from
// an event that deploy/audit-policy.yaml records, at the level the rule
// needs (docs/RULES.md), and no default rule needs response bodies.
func TestAuditPolicyFeedsRules(t *testing.T) {
	p := loadPolicy(t)
	col := loadDefaults(t)
	need := map[string]auditLevel{}
	for _, ri := range analyze(t, col) {
		need[ri.Rule.Name] = ri.Level
		if ri.Rule.Enabled && ri.Level == levelRequestResponse {
			t.Errorf("rule %q needs response bodies; the policy records none", ri.Rule.Name)
		}
	}
	paths, err := enginetest.FindSuites([]string{"tests"})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, path := range paths {
		s, err := enginetest.LoadSuite(path)
		if err != nil {
			t.Fatal(err)
		}
		compiled, err := s.Compile(enginetest.SuiteOptions{DefaultRules: Sources()})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range s.Cases {
			for i, ev := range c.Events {
				res, err := compiled.Replay([]string{"-"}, bytes.NewReader(ev))
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Alerts) == 0 {
					continue
				}
				lvl, kept := p.level(requestOf(t, ev))
				for _, a := range res.Alerts {
					checked++
					want, ok := need[a.Rule]
					if !ok {
						continue // a rule a test file adds
					}
					switch {
					case !kept:
						t.Errorf("%s: %s, event %d: %q fires at a stage the policy omits", path, c.Name, i+1, a.Rule)
					case lvl == "None":
						t.Errorf("%s: %s, event %d: %q fires on an event the policy drops", path, c.Name, i+1, a.Rule)
					case levelRank[lvl] < want:
						t.Errorf("%s: %s, event %d: %q needs %s, the policy records %s", path, c.Name, i+1, a.Rule, want, lvl)
					}
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d alerts checked", checked)
	}
}

// TestAuditPolicyKeepsSecretsOut: secrets and tokens are recorded at
// Metadata whatever the verb, and everything else is recorded at least at
// Metadata unless it is one of the dropped heartbeats.
func TestAuditPolicyKeepsSecretsOut(t *testing.T) {
	p := loadPolicy(t)
	for _, r := range []request{
		{User: "alice", Verb: "create", IsResource: true, Resource: "secrets", Namespace: "shop"},
		{User: "alice", Verb: "patch", IsResource: true, Resource: "secrets", Namespace: "shop"},
		{User: "system:node:n1", Groups: []string{"system:nodes"}, Verb: "create", IsResource: true, Resource: "serviceaccounts", Subresource: "token"},
		{User: "system:anonymous", Verb: "create", IsResource: true, Resource: "secrets", Namespace: "shop"},
	} {
		if lvl, _ := p.level(r); lvl != "Metadata" {
			t.Errorf("%+v recorded at %s", r, lvl)
		}
	}
	for _, r := range []request{
		{User: "system:node:n1", Groups: []string{"system:nodes"}, Verb: "update", IsResource: true, Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease"},
		{User: "system:kube-scheduler", Verb: "update", IsResource: true, Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"},
		{User: "system:serviceaccount:kube-system:replicaset-controller", Verb: "create", IsResource: true, Resource: "events", Namespace: "shop"},
		{User: "system:serviceaccount:monitoring:prometheus", Verb: "get", Path: "/metrics"},
	} {
		if lvl, _ := p.level(r); lvl != "None" {
			t.Errorf("%+v recorded at %s; it is a heartbeat", r, lvl)
		}
	}
}
