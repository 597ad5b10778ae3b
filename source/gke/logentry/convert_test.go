package logentry

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source/gke/internal/gketest"
)

// TestConvert: each LogEntry becomes the expected event (want is a subset
// of the event; absent lists members it must not have), or is dropped
// with the expected reason.
func TestConvert(t *testing.T) {
	tests := []struct {
		name   string
		entry  []byte
		want   string
		absent []string
		drop   string
	}{
		{name: "pod create", entry: gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/namespaces/default/pods/nginx",
			gketest.Payload("request", gketest.PrivilegedPod), gketest.Payload("response", gketest.PrivilegedPod)),
			want: `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"ins-core-v1-namespaces-default-pods-nginx",
				"stage":"ResponseComplete","requestURI":"/core/v1/namespaces/default/pods/nginx","verb":"create",
				"user":{"username":"alice@example.com"},"sourceIPs":["203.0.113.7"],"userAgent":"kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b",
				"objectRef":{"resource":"pods","namespace":"default","name":"nginx","apiVersion":"v1"},
				"responseStatus":{"metadata":{},"status":"Created (inferred)","message":"Created (inferred)","code":201},
				"requestObject":{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"c","image":"alpine:3.19","securityContext":{"privileged":true}}]}},
				"responseObject":{"kind":"Pod"},
				"requestReceivedTimestamp":"2024-05-01T10:00:00.123456Z","stageTimestamp":"2024-05-01T10:00:00.123456Z",
				"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"access granted by IAM permissions.",
					"cluster_name":"prod-1","location":"europe-west1","project_id":"my-proj"}}`,
			absent: []string{"impersonatedUser"}},
		{name: "exec with request attributes", entry: gketest.Entry("io.k8s.core.v1.pods.exec.create", "core/v1/namespaces/default/pods/nginx/exec",
			gketest.Set("/api/v1/namespaces/default/pods/nginx/exec", "protoPayload", "requestMetadata", "requestAttributes", "path"),
			gketest.Set("command=sh&container=c&stdin=true&tty=true", "protoPayload", "requestMetadata", "requestAttributes", "query")),
			want: `{"level":"Request","stage":"ResponseStarted","verb":"create",
				"requestURI":"/api/v1/namespaces/default/pods/nginx/exec?command=sh&container=c&stdin=true&tty=true",
				"objectRef":{"resource":"pods","namespace":"default","name":"nginx","subresource":"exec"},
				"responseStatus":{"code":101,"status":"Switching Protocols (inferred)"}}`,
			absent: []string{"requestObject", "responseObject"}},
		{name: "attach", entry: gketest.Entry("io.k8s.core.v1.pods.attach.create", "core/v1/namespaces/default/pods/nginx/attach"),
			want: `{"stage":"ResponseStarted","requestURI":"/core/v1/namespaces/default/pods/nginx/attach",
				"objectRef":{"subresource":"attach"},"responseStatus":{"code":101}}`},
		{name: "subresource only in methodName", entry: gketest.Entry("io.k8s.core.v1.pods.exec.get", "core/v1/namespaces/default/pods/nginx"),
			want: `{"verb":"get","stage":"ResponseStarted","objectRef":{"name":"nginx","subresource":"exec"}}`},
		{name: "secret get (data access)", entry: gketest.Entry("io.k8s.core.v1.secrets.get", "core/v1/namespaces/kube-system/secrets/token",
			gketest.Set("projects/my-proj/logs/cloudaudit.googleapis.com%2Fdata_access", "logName"), gketest.Payload("authorizationInfo", nil)),
			want: `{"level":"Metadata","verb":"get","objectRef":{"resource":"secrets","namespace":"kube-system","name":"token"},
				"responseStatus":{"code":200,"status":"OK (inferred)"}}`},
		{name: "deployment delete", entry: gketest.Entry("io.k8s.apps.v1.deployments.delete", "apps/v1/namespaces/default/deployments/web"),
			want: `{"verb":"delete","objectRef":{"apiGroup":"apps","apiVersion":"v1","resource":"deployments","namespace":"default","name":"web"},
				"responseStatus":{"code":200}}`},
		{name: "clusterrolebinding", entry: gketest.Entry("io.k8s.authorization.rbac.v1.clusterrolebindings.create",
			"rbac.authorization.k8s.io/v1/clusterrolebindings/ev", gketest.Payload("request", gketest.AdminBinding)),
			want: `{"level":"Request","objectRef":{"apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1","resource":"clusterrolebindings","name":"ev"},
				"requestObject":{"roleRef":{"name":"cluster-admin"},"subjects":[{"kind":"User","name":"eve@example.com","apiGroup":"rbac.authorization.k8s.io"}]}}`},
		{name: "namespace subresource", entry: gketest.Entry("io.k8s.core.v1.namespaces.finalize.update", "core/v1/namespaces/foo/finalize"),
			want: `{"verb":"update","objectRef":{"resource":"namespaces","name":"foo","subresource":"finalize"}}`},
		{name: "cluster-wide list", entry: gketest.Entry("io.k8s.core.v1.pods.list", "core/v1/pods"),
			want: `{"verb":"list","objectRef":{"resource":"pods","apiVersion":"v1"}}`},
		{name: "namespaced list", entry: gketest.Entry("io.k8s.core.v1.pods.list", "core/v1/namespaces/default/pods"),
			want: `{"objectRef":{"resource":"pods","namespace":"default"}}`},
		{name: "crd with dotted group", entry: gketest.Entry("io.cert-manager.v1.certificates.create", "cert-manager.io/v1/namespaces/a/certificates/c"),
			want: `{"verb":"create","objectRef":{"apiGroup":"cert-manager.io","apiVersion":"v1","resource":"certificates","namespace":"a","name":"c"}}`},
		{name: "denied", entry: gketest.Entry("io.k8s.core.v1.secrets.get", "core/v1/namespaces/default/secrets/db",
			gketest.Payload("status", map[string]any{"code": 7, "message": "secrets \"db\" is forbidden"}),
			gketest.Set("forbid", "labels", "authorization.k8s.io/decision")),
			want: `{"stage":"ResponseComplete","annotations":{"authorization.k8s.io/decision":"forbid"},
				"responseStatus":{"metadata":{},"status":"Failure","message":"secrets \"db\" is forbidden","reason":"Forbidden","code":403}}`},
		{name: "denied exec is not an upgrade", entry: gketest.Entry("io.k8s.core.v1.pods.exec.create", "core/v1/namespaces/default/pods/nginx/exec",
			gketest.Payload("status", map[string]any{"code": "7"})),
			want: `{"stage":"ResponseComplete","responseStatus":{"code":403,"status":"Failure"}}`},
		{name: "decision from authorizationInfo", entry: gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/namespaces/default/pods/x",
			gketest.Del("labels"), gketest.Payload("authorizationInfo", []any{map[string]any{"permission": "io.k8s.core.v1.pods.create", "granted": false}}),
			gketest.Payload("status", map[string]any{"code": 7})),
			want: `{"annotations":{"authorization.k8s.io/decision":"forbid","cluster_name":"prod-1"},"responseStatus":{"code":403}}`},
		{name: "already exists", entry: gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/namespaces/default/pods/x",
			gketest.Payload("status", map[string]any{"code": 6, "message": "pods \"x\" already exists"})),
			want: `{"responseStatus":{"code":409,"reason":"AlreadyExists"}}`},
		{name: "http code kept", entry: gketest.Entry("io.k8s.core.v1.pods.get", "core/v1/namespaces/default/pods/x",
			gketest.Payload("status", map[string]any{"code": 404})),
			want: `{"responseStatus":{"code":404,"reason":"NotFound"}}`},
		{name: "anonymous", entry: gketest.Entry("io.k8s.core.v1.configmaps.get", "core/v1/namespaces/kube-system/configmaps/cluster-info",
			gketest.Payload("authenticationInfo", map[string]any{"principalEmail": "system:anonymous"})),
			want: `{"user":{"username":"system:anonymous"}}`, absent: []string{"impersonatedUser"}},
		{name: "delegation is impersonation", entry: gketest.Entry("io.k8s.core.v1.pods.list", "core/v1/namespaces/default/pods",
			gketest.Payload("authenticationInfo", map[string]any{"principalEmail": "deployer@my-proj.iam.gserviceaccount.com",
				"serviceAccountDelegationInfo": []any{
					map[string]any{"firstPartyPrincipal": map[string]any{"principalEmail": "alice@example.com"}},
					map[string]any{"principalSubject": "serviceAccount:relay@my-proj.iam.gserviceaccount.com"}}})),
			want: `{"user":{"username":"alice@example.com","extra":{"authenticationInfo.serviceAccountDelegationInfo":
				["alice@example.com","serviceAccount:relay@my-proj.iam.gserviceaccount.com"]}},
				"impersonatedUser":{"username":"deployer@my-proj.iam.gserviceaccount.com"}}`},
		{name: "principal subject and key", entry: gketest.Entry("io.k8s.core.v1.pods.list", "core/v1/pods",
			gketest.Payload("authenticationInfo", map[string]any{"principalSubject": "principal://iam.googleapis.com/pool/subjects/bob",
				"serviceAccountKeyName": "//iam.googleapis.com/projects/p/serviceAccounts/sa/keys/k1"})),
			want: `{"user":{"username":"principal://iam.googleapis.com/pool/subjects/bob",
				"extra":{"authenticationInfo.serviceAccountKeyName":["//iam.googleapis.com/projects/p/serviceAccounts/sa/keys/k1"]}}}`},
		{name: "groups from claims", entry: gketest.Entry("io.k8s.core.v1.pods.list", "core/v1/pods",
			gketest.Set(map[string]any{"claims": map[string]any{"groups": []any{"devs@example.com", "system:authenticated"}}},
				"protoPayload", "requestMetadata", "requestAttributes", "auth")),
			want: `{"user":{"username":"alice@example.com","groups":["devs@example.com","system:authenticated"]}}`},
		{name: "groups in authenticationInfo", entry: gketest.Entry("io.k8s.core.v1.pods.list", "core/v1/pods",
			gketest.Set([]any{"system:masters"}, "protoPayload", "authenticationInfo", "groups")),
			want: `{"user":{"groups":["system:masters"]}}`},
		{name: "html and nested @type kept", entry: gketest.Entry("io.k8s.core.v1.configmaps.create", "core/v1/namespaces/default/configmaps/app",
			gketest.Payload("request", gketest.CredsConfigMap), gketest.Payload("response", map[string]any{"status": map[string]any{"@type": "x"}})),
			want:   `{"requestObject":{"data":{"note":"a<b&c"}},"responseObject":{"status":{"@type":"x"}}}`,
			absent: []string{}},
		{name: "missing fields", entry: gketest.Entry("", "", gketest.Del("protoPayload", "authenticationInfo"), gketest.Del("protoPayload", "requestMetadata"),
			gketest.Del("protoPayload", "authorizationInfo"), gketest.Del("protoPayload", "status"), gketest.Del("labels"), gketest.Del("timestamp"),
			gketest.Payload("request", "not an object")),
			want:   `{"level":"Metadata","requestURI":"/","user":{},"responseStatus":{"code":200},"stageTimestamp":"2024-05-01T10:00:01.500000Z"}`,
			absent: []string{"verb", "objectRef", "sourceIPs", "userAgent", "requestObject", "impersonatedUser"}},
		{name: "wrongly typed member", entry: gketest.Entry("io.k8s.core.v1.pods.get", "core/v1/namespaces/default/pods/x",
			gketest.Payload("authenticationInfo", "alice")), want: `{"verb":"get","user":{}}`},
		{name: "nanoseconds kept", entry: gketest.Entry("io.k8s.core.v1.pods.get", "core/v1/pods/x", gketest.Set("2024-05-01T12:00:00.123456789+02:00", "timestamp")),
			want: `{"stageTimestamp":"2024-05-01T10:00:00.123456789Z"}`},
		{name: "non-resource path", entry: gketest.Entry("io.k8s.get", "/healthz"), want: `{"verb":"get","requestURI":"/healthz"}`, absent: []string{"objectRef"}},

		{name: "system event log", entry: gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/pods/x",
			gketest.Set("projects/p/logs/cloudaudit.googleapis.com%2Fsystem_event", "logName")), drop: ReasonNotAuditLog},
		{name: "application log", entry: gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/pods/x", gketest.Set("projects/p/logs/stdout", "logName")), drop: ReasonNotAuditLog},
		{name: "GKE API entry", entry: gketest.Entry("google.container.v1.ClusterManager.CreateCluster", "projects/p/zones/z/clusters/c",
			gketest.Set("gke_cluster", "resource", "type")), drop: ReasonNotK8sCluster},
		{name: "other service", entry: gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/pods/x", gketest.Payload("serviceName", "container.googleapis.com")), drop: ReasonNotK8sService},
		{name: "other payload type", entry: gketest.Entry("x", "y", gketest.Payload("@type", "type.googleapis.com/google.cloud.audit.BigQueryAuditMetadata")), drop: ReasonNotAuditPayload},
		{name: "text payload", entry: gketest.Entry("x", "y", gketest.Del("protoPayload"), gketest.Set("hello", "textPayload")), drop: ReasonNotAuditPayload},
		{name: "no time", entry: gketest.Entry("x", "y", gketest.Del("timestamp"), gketest.Set("soon", "receiveTimestamp")), drop: ReasonNoTimestamp},
		{name: "not JSON", entry: []byte(`{"logName":`), drop: ReasonMalformed},
		{name: "array", entry: []byte(`[1]`), drop: ReasonMalformed},
		{name: "payload not an object", entry: gketest.Entry("x", "y", gketest.Set("str", "protoPayload")), drop: ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Convert(tt.entry)
			if tt.drop != "" {
				var de *DropError
				if !errors.As(err, &de) || de.Reason != tt.drop {
					t.Fatalf("err %v, want a drop for %s", err, tt.drop)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			for _, d := range gketest.Subset(gketest.Obj(tt.want), got, "") {
				t.Error(d)
			}
			for _, k := range tt.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present: %v", k, got[k])
				}
			}
			if strings.Contains(string(out), `"@type":"core.k8s.io`) {
				t.Errorf("@type kept: %s", out)
			}
			checkDecodes(t, out)
		})
	}
}

// checkDecodes: the event is one the audit decoder takes, at its
// stageTimestamp.
func checkDecodes(t *testing.T, out []byte) {
	t.Helper()
	n := 0
	audit.DecodePayload(out, func(e *audit.Event) {
		n++
		if e.Time == 0 {
			t.Error("no event time")
		}
	}, func(p audit.Problem) { t.Errorf("decoder: %v", p) })
	if n != 1 {
		t.Errorf("%d events decoded, want 1", n)
	}
}

func TestParseMethod(t *testing.T) {
	tests := []struct{ in, verb, res, sub string }{
		{"io.k8s.core.v1.pods.create", "create", "pods", ""},
		{"io.k8s.core.v1.pods.exec.create", "create", "pods", "exec"},
		{"io.k8s.authorization.rbac.v1.clusterrolebindings.delete", "delete", "clusterrolebindings", ""},
		{"io.k8s.autoscaling.v2beta2.horizontalpodautoscalers.status.patch", "patch", "horizontalpodautoscalers", "status"},
		{"io.k8s.networking.v1alpha1.ipaddresses.list", "list", "ipaddresses", ""},
		{"io.k8s.get", "get", "", ""},
		{"", "", "", ""},
		{"io.k8s.core.vx.pods.get", "get", "", ""},
	}
	for _, tt := range tests {
		verb, res, sub := parseMethod(tt.in)
		if verb != tt.verb || res != tt.res || sub != tt.sub {
			t.Errorf("parseMethod(%q) = %q %q %q, want %q %q %q", tt.in, verb, res, sub, tt.verb, tt.res, tt.sub)
		}
	}
}

func TestIsAuditLogName(t *testing.T) {
	for name, want := range map[string]bool{
		"projects/p/logs/cloudaudit.googleapis.com%2Factivity":              true,
		"projects/p/logs/cloudaudit.googleapis.com%2Fdata_access":           true,
		"organizations/1/logs/cloudaudit.googleapis.com%2factivity":         true,
		"projects/p/logs/cloudaudit.googleapis.com/activity":                true,
		"projects/p/logs/cloudaudit.googleapis.com%2Fpolicy":                false,
		"projects/p/logs/cloudaudit.googleapis.com%2Factivity_and_more":     false,
		"cloudaudit.googleapis.com%2Factivity":                              false,
		"projects/p/logs/events":                                            false,
		"projects/p/logs/xcloudaudit.googleapis.com%2Factivity":             false,
		"projects/p/logs/cloudaudit.googleapis.com%2Fdata_access%2Fsubpart": false,
	} {
		if got := isAuditLogName(name); got != want {
			t.Errorf("isAuditLogName(%q) = %v", name, got)
		}
	}
}
