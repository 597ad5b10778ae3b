package defaultrules

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/engine/enginetest"
)

// upstreamCoverage maps every rule of upstream's k8s_audit_rules.yaml (the
// k8saudit plugin 0.18.0) to the default rules that catch the same
// activity. docs/RULES.md prints it.
var upstreamCoverage = []struct {
	Upstream  string
	Peregrine []string
	Note      string
}{
	{"Disallowed K8s User", []string{"Request by a user outside the allowed list"},
		"Opt-in: a list of allowed people only makes sense once filled; upstream's default list alerts on every person it does not name."},
	{"Create Disallowed Pod", []string{"Pod image outside the trusted repositories"},
		"Opt-in, as upstream's (whose allowlist macro allows every image); checks all three container lists and ephemeral containers added later."},
	{"Create Privileged Pod", []string{"Privileged container in a pod", "Privileged container in a workload template"},
		"Also ephemeral containers added to running pods, and the pod templates of every workload kind, created, replaced or patched."},
	{"Create Sensitive Mount Pod", []string{"Pod mounts a sensitive host path", "Sensitive host path in a workload template", "Persistent volume on a sensitive host path"},
		"More paths (runtime sockets under /run, /var/lib/etcd, /sys, /dev, ...), trailing slashes, templates, and hostPath/local PersistentVolumes."},
	{"Create HostNetwork Pod", []string{"Pod shares the host's namespaces", "Host namespaces in a workload template"}, "One rule for network, PID and IPC; prints which."},
	{"Create HostPid Pod", []string{"Pod shares the host's namespaces", "Host namespaces in a workload template"}, ""},
	{"Create HostIPC Pod", []string{"Pod shares the host's namespaces", "Host namespaces in a workload template"}, ""},
	{"Create NodePort Service", []string{"NodePort service created"}, "Also a Service changed to NodePort."},
	{"Create/Modify Configmap With Private Credentials", []string{"Cloud credentials in a configmap", "Private key in a configmap", "Password in a configmap"},
		"Split by kind of credential, which the output names; adds access-key IDs, PEM keys, GCP and Azure keys; never prints the value."},
	{"Anonymous Request Allowed", []string{"Anonymous request allowed"}, "Also leaves out /version and service-account issuer discovery, which are public by default."},
	{"Attach/Exec Pod", []string{"Command run in a pod"}, "Also exec over websockets (verb get)."},
	{"port-forward", []string{"Port forwarded to a pod"}, "Once per session (ResponseStarted), where upstream alerts on every stage."},
	{"EphemeralContainers Created", []string{"Ephemeral container added to a pod"}, "Prints every added image, for both API shapes."},
	{"Create Disallowed Namespace", []string{"Namespace outside the allowed list created", "Namespace created or deleted"},
		"The allowlist rule is opt-in; the activity rule records every namespace created by people."},
	{"Pod Created in Kube Namespace", []string{"Pod created in a system namespace", "Unrecognised image started in a system namespace", "Workload changed in a system namespace"},
		"Split by who created the pod (a person: Warning; a controller: Notice); also kube-node-lease, init container images, the platforms' registries (EKS, GKE, AKS) and the workloads themselves."},
	{"Service Account Created in Kube Namespace", []string{"Service account created in a system namespace"}, ""},
	{"System ClusterRole Modified/Deleted", []string{"Built-in role or binding changed"}, "Also system: bindings; the control plane's own reconciliation is left out."},
	{"Attach to cluster-admin Role", []string{"Binding to cluster-admin"}, "Also RoleBindings, and subjects patched into existing bindings."},
	{"ClusterRole With Wildcard Created", []string{"Role grants wildcard access"}, "Also roles changed to it."},
	{"ClusterRole With Write Privileges Created", []string{"Role grants write access"}, ""},
	{"ClusterRole With Pod Exec Created", []string{"Role grants command execution in pods or nodes"}, "Also pods/attach, pods/ephemeralcontainers, nodes/proxy, and roles changed to it."},
	{"K8s Deployment Created", []string{"Workload or service created or deleted"}, "Activity rules record changes by people and tools, not by the control plane."},
	{"K8s Deployment Deleted", []string{"Workload or service created or deleted"}, ""},
	{"K8s Service Created", []string{"Workload or service created or deleted"}, ""},
	{"K8s Service Deleted", []string{"Workload or service created or deleted"}, ""},
	{"K8s ConfigMap Created", []string{"ConfigMap or secret created or deleted"}, ""},
	{"K8s ConfigMap Deleted", []string{"ConfigMap or secret created or deleted"}, ""},
	{"K8s Namespace Created", []string{"Namespace created or deleted"}, ""},
	{"K8s Namespace Deleted", []string{"Namespace created or deleted"}, ""},
	{"K8s Serviceaccount Created", []string{"Service account created or deleted"}, ""},
	{"K8s Serviceaccount Deleted", []string{"Service account created or deleted"}, ""},
	{"K8s Role Created", []string{"RBAC object created or deleted"}, ""},
	{"K8s Role Deleted", []string{"RBAC object created or deleted"}, ""},
	{"K8s ClusterRole Created", []string{"RBAC object created or deleted"}, ""},
	{"K8s ClusterRole Deleted", []string{"RBAC object created or deleted"}, ""},
	{"K8s RoleBinding Created", []string{"RBAC object created or deleted"}, ""},
	{"K8s RoleBinding Deleted", []string{"RBAC object created or deleted"}, ""},
	{"K8s ClusterRoleBinding Created", []string{"RBAC object created or deleted"}, ""},
	{"K8s ClusterRoleBinding Deleted", []string{"RBAC object created or deleted"}, ""},
	{"K8s Secret Created", []string{"ConfigMap or secret created or deleted"}, ""},
	{"K8s Secret Deleted", []string{"ConfigMap or secret created or deleted"}, ""},
	{"K8s Secret Get Successfully", []string{"Secret read by a person", "Service account token secret read", "Secrets listed across all namespaces"},
		"Upstream alerts (at Error) on every secret read, controllers' and kubelets' included; these report the reads worth a look."},
	{"K8s Secret Get Unsuccessfully Tried", []string{"Secret read denied"}, "Refusals of list and watch too; nodes (refused by the Node authorizer in normal operation) left out."},
	{"All K8s Audit Events", []string{"Every audit event"}, "Opt-in, as upstream's."},
	{"Full K8s Administrative Access", []string{"Request by a default administrator account"}, "Opt-in, as upstream's."},
	{"Ingress Object without TLS Certificate Created", []string{"Ingress without TLS created"}, "An empty tls list counts as none."},
	{"Untrusted Node Successfully Joined the Cluster", []string{"Node outside the allowed list joined", "Node registered by another identity"},
		"The allowlist rule is opt-in, as upstream's; the identity check is on by default."},
	{"Untrusted Node Unsuccessfully Tried to Join the Cluster", []string{"Node outside the allowed list failed to join"}, "Opt-in, as upstream's."},
}

// TestUpstreamCoverage: every upstream rule is mapped, and every mapped
// rule exists.
func TestUpstreamCoverage(t *testing.T) {
	col := loadDefaults(t)
	mapped := map[string]bool{}
	for _, c := range upstreamCoverage {
		mapped[c.Upstream] = true
		if len(c.Peregrine) == 0 {
			t.Errorf("%q has no counterpart", c.Upstream)
		}
		for _, p := range c.Peregrine {
			if col.Rule(p) == nil {
				t.Errorf("%q maps to %q, which is not a default rule", c.Upstream, p)
			}
		}
	}
	shared := sharedDir(t)
	b, err := os.ReadFile(filepath.Join(shared, "upstream", "rules", "k8saudit", "k8s_audit_rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`(?m)^- rule: (.+)$`).FindAllStringSubmatch(string(b), -1)
	if len(names) == 0 {
		t.Fatal("no rules found upstream")
	}
	for _, m := range names {
		if !mapped[strings.TrimSpace(m[1])] {
			t.Errorf("upstream rule %q is not in upstreamCoverage", m[1])
		}
	}
	if len(names) != len(upstreamCoverage) {
		t.Errorf("%d upstream rules, %d mapped", len(names), len(upstreamCoverage))
	}
}

// upstreamTraceAlerts is what the default rules (rule_matching: first)
// report for each of upstream's audit traces. Traces not listed must stay
// silent.
var upstreamTraceAlerts = map[string]map[string]int{
	"anonymous_creates_namespace_foo":                                   {"Anonymous request allowed": 1},
	"attach_cluster_admin_role":                                         {"Binding to cluster-admin": 1},
	"attach_pod":                                                        {"Command run in a pod": 1},
	"create_cluster_role_pod_exec":                                      {"Role grants command execution in pods or nodes": 1},
	"create_cluster_role_wildcard_resources":                            {"Role grants wildcard access": 1},
	"create_cluster_role_wildcard_verbs":                                {"Role grants wildcard access": 1},
	"create_cluster_role_write_privileges":                              {"Role grants write access": 1},
	"create_clusterrole":                                                {"RBAC object created or deleted": 1},
	"create_clusterrolebinding":                                         {"RBAC object created or deleted": 1},
	"create_configmap":                                                  {"ConfigMap or secret created or deleted": 1},
	"create_configmap_no_sensitive_values":                              {"ConfigMap or secret created or deleted": 1},
	"create_configmap_sensitive_values":                                 {"Cloud credentials in a configmap": 6},
	"create_deployment":                                                 {"Workload or service created or deleted": 1},
	"create_kube_system_secret":                                         {"ConfigMap or secret created or deleted": 1},
	"create_nginx_pod_hostnetwork":                                      {"Pod shares the host's namespaces": 1},
	"create_nginx_pod_no_secctx_1st_container_privileged_2nd_container": {"Privileged container in a pod": 1},
	"create_nginx_pod_privileged":                                       {"Privileged container in a pod": 1},
	"create_nginx_pod_privileged_2nd_container":                         {"Privileged container in a pod": 1},
	"create_nginx_pod_sensitive_mount":                                  {"Pod mounts a sensitive host path": 1},
	"create_nginx_pod_sensitive_mount_2nd_container":                    {"Pod mounts a sensitive host path": 1},
	"create_nginx_service_nodeport":                                     {"NodePort service created": 1},
	"create_nginx_service_nonodeport":                                   {"Workload or service created or deleted": 1},
	"create_pod_kube_public_namespace":                                  {"Unrecognised image started in a system namespace": 1},
	"create_pod_kube_system_namespace":                                  {"Unrecognised image started in a system namespace": 1},
	"create_secret":                                                     {"ConfigMap or secret created or deleted": 1},
	"create_service":                                                    {"Workload or service created or deleted": 1},
	"create_serviceaccount":                                             {"Service account created or deleted": 1},
	"create_serviceaccount_kube_public_namespace":                       {"Service account created in a system namespace": 1},
	"create_serviceaccount_kube_system_namespace":                       {"Service account created in a system namespace": 1},
	"delete_cluster_role_kube_aggregator":                               {"Built-in role or binding changed": 1},
	"delete_clusterrole":                                                {"RBAC object created or deleted": 1},
	"delete_clusterrolebinding":                                         {"RBAC object created or deleted": 1},
	"delete_configmap":                                                  {"ConfigMap or secret created or deleted": 1},
	"delete_deployment":                                                 {"Workload or service created or deleted": 1},
	"delete_namespace_foo":                                              {"Namespace created or deleted": 1},
	"delete_secret":                                                     {"ConfigMap or secret created or deleted": 1},
	"delete_service":                                                    {"Workload or service created or deleted": 1},
	"delete_serviceaccount":                                             {"Service account created or deleted": 1},
	"exec_pod":                                                          {"Command run in a pod": 1},
	"minikube_creates_namespace_foo":                                    {"Namespace created or deleted": 1},
	"modify_cluster_role_node_problem_detector":                         {"Built-in role or binding changed": 1},
	"some-user_creates_namespace_foo":                                   {"Namespace created or deleted": 1},
}

// TestUpstreamTraces replays upstream's audit traces through the default
// rules: each trace upstream alerts on gets the alerts listed above.
func TestUpstreamTraces(t *testing.T) {
	shared := sharedDir(t)
	traces, _ := filepath.Glob(filepath.Join(shared, "upstream", "traces", "k8s_audit", "*.json"))
	if len(traces) == 0 {
		t.Fatal("no upstream traces")
	}
	compiled := enginetest.Compile(Sources(), engine.DefaultOptions())
	if compiled.Engine == nil {
		t.Fatal(compiled.Report.Err())
	}
	seen := map[string]bool{}
	for _, trace := range traces {
		name := strings.TrimSuffix(filepath.Base(trace), ".json")
		seen[name] = true
		res, err := compiled.Replay([]string{trace}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, a := range res.Alerts {
			got[a.Rule]++
		}
		want := upstreamTraceAlerts[name]
		if want == nil {
			want = map[string]int{}
		}
		if !sameCounts(got, want) {
			t.Errorf("%s: alerts %v, want %v", name, got, want)
		}
	}
	for name := range upstreamTraceAlerts {
		if !seen[name] {
			t.Errorf("trace %s is listed but not found", name)
		}
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// sharedDir finds ../shared beside the repository (or $PEREGRINE_SHARED)
// and skips the test when it is absent.
func sharedDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("PEREGRINE_SHARED"); d != "" {
		return d
	}
	shared, err := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(shared, "upstream")); err != nil {
		t.Skipf("../shared is absent (%s): upstream comparison skipped", shared)
	}
	return shared
}

// beyondUpstream lists the default rules no upstream rule maps to.
func beyondUpstream(infos []*ruleInfo) []string {
	mapped := map[string]bool{}
	for _, c := range upstreamCoverage {
		for _, p := range c.Peregrine {
			mapped[p] = true
		}
	}
	var out []string
	for _, ri := range infos {
		if !mapped[ri.Rule.Name] {
			out = append(out, ri.Rule.Name)
		}
	}
	sort.Strings(out)
	return out
}
