package logentry

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
	"github.com/peregrine-sec/peregrine/source/gke/internal/gketest"
)

// sharedUpstream is ../shared/upstream seen from this package (DESIGN.md).
const sharedUpstream = "../../../../shared/upstream"

// ruleSets are the rules GKE users run: upstream's k8saudit rules with
// the k8saudit-gke overlay (when ../shared is there), and Peregrine's
// defaults.
func ruleSets(t *testing.T) map[string]*engine.Engine {
	t.Helper()
	sets := map[string][]rules.Source{"default": defaultrules.Sources()}
	var up []rules.Source
	for _, rel := range []string{"rules/k8saudit/k8s_audit_rules.yaml", "rules/k8saudit-gke/k8s_audit_rules_gke.yaml"} {
		b, err := os.ReadFile(filepath.Join(sharedUpstream, rel))
		if err != nil {
			t.Logf("upstream rules not found (%v); checking the default rules only", err)
			up = nil
			break
		}
		up = append(up, rules.Source{Name: rel, Data: b})
	}
	if up != nil {
		sets["upstream+gke"] = up
	}
	out := map[string]*engine.Engine{}
	for name, src := range sets {
		col, rep := rules.Load(src, rules.Options{})
		if err := rep.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		opts := engine.DefaultOptions()
		opts.MatchAll = true
		eng := engine.New(col, opts, rep)
		if eng == nil || len(eng.Rules()) == 0 {
			t.Fatalf("%s: no rules compiled", name)
		}
		out[name] = eng
	}
	return out
}

// alertRules evaluates one event JSON and returns the rules that fired.
func alertRules(t *testing.T, eng *engine.Engine, ev []byte) []string {
	t.Helper()
	var names []string
	w := eng.NewWorker()
	audit.DecodePayload(ev, func(e *audit.Event) {
		w.Eval(e, func(a *engine.Alert) { names = append(names, a.Rule) })
	}, func(p audit.Problem) { t.Fatalf("decode: %v", p) })
	sort.Strings(names)
	return names
}

// TestSameAlertsAsNative: a converted LogEntry fires exactly the rules
// the audit event kube-apiserver writes for the same request fires.
// The native events are written from the Kubernetes audit API; they
// differ from the converted ones where GKE's entries carry less (the
// requestURI form, groups), in fields no rule condition reads.
func TestSameAlertsAsNative(t *testing.T) {
	const when = `"requestReceivedTimestamp":"2024-05-01T10:00:00.123456Z","stageTimestamp":"2024-05-01T10:00:00.123456Z"`
	const alice = `"user":{"username":"alice@example.com","groups":["system:authenticated"]},"sourceIPs":["203.0.113.7"],"userAgent":"kubectl/v1.30.0"`
	const allow = `"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"access granted by IAM permissions."}`
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nginx","namespace":"default"},"spec":{"containers":[{"name":"c","image":"alpine:3.19","securityContext":{"privileged":true}}]}}`
	tests := []struct {
		name   string
		entry  []byte
		native string
		want   []string // rules that must be among the alerts
		not    []string // rules that must not
	}{
		{"privileged pod", gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/namespaces/default/pods/nginx",
			gketest.Payload("request", gketest.PrivilegedPod), gketest.Payload("response", gketest.PrivilegedPod)),
			`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"n","stage":"ResponseComplete",
			"requestURI":"/api/v1/namespaces/default/pods","verb":"create",` + alice + `,
			"objectRef":{"resource":"pods","namespace":"default","name":"nginx","apiVersion":"v1"},
			"responseStatus":{"metadata":{},"code":201},"requestObject":` + pod + `,"responseObject":` + pod + `,` + when + `,` + allow + `}`,
			[]string{"Create Privileged Pod", "Privileged container in a pod"}, nil},
		{"exec", gketest.Entry("io.k8s.core.v1.pods.exec.create", "core/v1/namespaces/default/pods/nginx/exec",
			gketest.Set("/api/v1/namespaces/default/pods/nginx/exec", "protoPayload", "requestMetadata", "requestAttributes", "path"),
			gketest.Set("command=sh&container=c&stdin=true&tty=true", "protoPayload", "requestMetadata", "requestAttributes", "query")),
			`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"n","stage":"ResponseStarted",
			"requestURI":"/api/v1/namespaces/default/pods/nginx/exec?command=sh&container=c&stdin=true&tty=true","verb":"create",` + alice + `,
			"objectRef":{"resource":"pods","namespace":"default","name":"nginx","apiVersion":"v1","subresource":"exec"},
			"responseStatus":{"metadata":{},"code":101},` + when + `,` + allow + `}`,
			[]string{"Attach/Exec Pod"}, nil},
		{"denied secret read", gketest.Entry("io.k8s.core.v1.secrets.get", "core/v1/namespaces/kube-system/secrets/admin-token",
			gketest.Payload("status", map[string]any{"code": 7, "message": "forbidden"}), gketest.Set("forbid", "labels", "authorization.k8s.io/decision")),
			`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"n","stage":"ResponseComplete",
			"requestURI":"/api/v1/namespaces/kube-system/secrets/admin-token","verb":"get",` + alice + `,
			"objectRef":{"resource":"secrets","namespace":"kube-system","name":"admin-token","apiVersion":"v1"},
			"responseStatus":{"metadata":{},"status":"Failure","message":"forbidden","reason":"Forbidden","code":403},` + when + `,
			"annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":"access granted by IAM permissions."}}`,
			[]string{"K8s Secret Get Unsuccessfully Tried"}, []string{"K8s Secret Get Successfully"}},
		{"cluster-admin binding", gketest.Entry("io.k8s.authorization.rbac.v1.clusterrolebindings.create",
			"rbac.authorization.k8s.io/v1/clusterrolebindings/ev", gketest.Payload("request", gketest.AdminBinding), gketest.Payload("response", gketest.AdminBinding)),
			`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"n","stage":"ResponseComplete",
			"requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings","verb":"create",` + alice + `,
			"objectRef":{"resource":"clusterrolebindings","name":"ev","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"},
			"responseStatus":{"metadata":{},"code":201},"requestObject":` + jsonOf(t, gketest.AdminBinding) + `,"responseObject":` + jsonOf(t, gketest.AdminBinding) + `,` + when + `,` + allow + `}`,
			[]string{"Attach to cluster-admin Role"}, nil},
		{"anonymous", gketest.Entry("io.k8s.core.v1.configmaps.get", "core/v1/namespaces/kube-public/configmaps/cluster-info",
			gketest.Payload("authenticationInfo", map[string]any{"principalEmail": "system:anonymous"})),
			`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"n","stage":"ResponseComplete",
			"requestURI":"/api/v1/namespaces/kube-public/configmaps/cluster-info","verb":"get",
			"user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["203.0.113.7"],"userAgent":"kubectl/v1.30.0",
			"objectRef":{"resource":"configmaps","namespace":"kube-public","name":"cluster-info","apiVersion":"v1"},
			"responseStatus":{"metadata":{},"code":200},` + when + `,` + allow + `}`,
			[]string{"Anonymous Request Allowed"}, nil},
		{"configmap with credentials", gketest.Entry("io.k8s.core.v1.configmaps.create", "core/v1/namespaces/default/configmaps/app",
			gketest.Payload("request", gketest.CredsConfigMap)),
			`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"n","stage":"ResponseComplete",
			"requestURI":"/api/v1/namespaces/default/configmaps","verb":"create",` + alice + `,
			"objectRef":{"resource":"configmaps","namespace":"default","name":"app","apiVersion":"v1"},
			"responseStatus":{"metadata":{},"code":201},"requestObject":` + jsonOf(t, gketest.CredsConfigMap) + `,` + when + `,` + allow + `}`,
			[]string{"Create/Modify Configmap With Private Credentials"}, nil},
		{"impersonated system identity", gketest.Entry("io.k8s.core.v1.secrets.list", "core/v1/namespaces/kube-system/secrets",
			gketest.Payload("authenticationInfo", map[string]any{"principalEmail": "system:serviceaccount:kube-system:generic-garbage-collector",
				"serviceAccountDelegationInfo": []any{map[string]any{"firstPartyPrincipal": map[string]any{"principalEmail": "alice@example.com"}}}})),
			`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"n","stage":"ResponseComplete",
			"requestURI":"/api/v1/namespaces/kube-system/secrets","verb":"list",` + alice + `,
			"impersonatedUser":{"username":"system:serviceaccount:kube-system:generic-garbage-collector"},
			"objectRef":{"resource":"secrets","namespace":"kube-system","apiVersion":"v1"},
			"responseStatus":{"metadata":{},"code":200},` + when + `,` + allow + `}`,
			[]string{"Impersonation of a system identity"}, nil},
	}
	engines := ruleSets(t)
	known := map[string]bool{} // rules of the sets loaded (upstream's may be absent)
	for _, eng := range engines {
		for _, r := range eng.Rules() {
			known[r.Name] = true
		}
	}
	for _, tt := range tests {
		out, err := Convert(tt.entry)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		nativeJSON := []byte(strings.Join(strings.Fields(tt.native), " "))
		fired := map[string]bool{}
		for set, eng := range engines {
			got, want := alertRules(t, eng, out), alertRules(t, eng, nativeJSON)
			if !slices.Equal(got, want) {
				t.Errorf("%s, %s rules: converted fires %q, native %q", tt.name, set, got, want)
			}
			for _, r := range got {
				fired[r] = true
			}
		}
		for _, r := range tt.want {
			if !fired[r] && known[r] {
				t.Errorf("%s: %q did not fire", tt.name, r)
			}
		}
		for _, r := range tt.not {
			if fired[r] {
				t.Errorf("%s: %q fired", tt.name, r)
			}
		}
	}
}

func jsonOf(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
