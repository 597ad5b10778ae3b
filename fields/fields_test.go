package fields

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
)

// The tests run with a fixed local time zone and host name, so that the
// evt.* expectations below hold on any machine.
func TestMain(m *testing.M) {
	time.Local = time.FixedZone("TEST", 2*3600)
	os.Setenv("FALCO_HOSTNAME", "test-host")
	os.Exit(m.Run())
}

// t0 is the time of every test event: 2022-04-29T15:19:12.581541Z.
const t0 = 1651245552581541000

type caseKind int

const (
	hasKind   caseKind = iota // the event has the field's value
	lacksKind                 // the event lacks what the field reads
	badKind                   // what the field reads has the wrong JSON type
)

// fieldCase is one line of the specification: a field (with its [argument]
// as a rule would write it), an event, and the values expected (nil: the
// field has no value).
type fieldCase struct {
	field string
	ev    string
	want  []string
	kind  caseKind
	prep  func(*audit.Event) // sets Num, Start, Cluster when a case needs them
}

func has(field, ev string, want ...string) fieldCase {
	return fieldCase{field: field, ev: ev, want: want, kind: hasKind}
}

// lacks is an event without what the field reads; want is usually empty,
// but a few fields have a value regardless.
func lacks(field, ev string, want ...string) fieldCase {
	return fieldCase{field: field, ev: ev, want: want, kind: lacksKind}
}

func bad(field, ev string, want ...string) fieldCase {
	return fieldCase{field: field, ev: ev, want: want, kind: badKind}
}

func (c fieldCase) with(prep func(*audit.Event)) fieldCase { c.prep = prep; return c }

// ka makes an audit event (it has an auditID) from its other members.
func ka(members string) string {
	if members == "" {
		return `{"auditID":"id"}`
	}
	return `{"auditID":"id",` + members + `}`
}

// req makes an audit event whose requestObject has the given members.
func req(members string) string { return ka(`"requestObject":{` + members + `}`) }

// spec makes an audit event whose requestObject.spec has the given members.
func spec(members string) string { return req(`"spec":{` + members + `}`) }

// noAudit is JSON that is not an audit event: no ka.* field reads it.
const noAudit = `{"verb":"create","user":{"username":"u"},"requestObject":{"spec":{"containers":[{"name":"a","image":"b"}]}}}`

func kaCases() []fieldCase {
	return []fieldCase{
		has("ka.auditid", `{"auditID":"a-1"}`, "a-1"),
		lacks("ka.auditid", `{"verb":"get"}`),
		bad("ka.auditid", `{"auditID":42}`, "42"),

		has("ka.stage", ka(`"stage":"ResponseComplete"`), "ResponseComplete"),
		has("ka.stage", ka(`"stage":""`), ""),
		lacks("ka.stage", ka(``)),
		lacks("ka.stage", `{"stage":"ResponseComplete"}`),
		bad("ka.stage", ka(`"stage":{"b":1, "a":[true,null]}`), `{"b":1,"a":[true,null]}`),

		has("ka.auth.decision", ka(`"annotations":{"authorization.k8s.io/decision":"allow"}`), "allow"),
		lacks("ka.auth.decision", ka(`"annotations":{}`)),
		bad("ka.auth.decision", ka(`"annotations":["authorization.k8s.io/decision"]`)),

		has("ka.auth.reason", ka(`"annotations":{"authorization.k8s.io/reason":"RBAC: allowed by \"x\""}`), `RBAC: allowed by "x"`),
		lacks("ka.auth.reason", ka(`"annotations":{"authorization.k8s.io/decision":"allow"}`)),
		bad("ka.auth.reason", ka(`"annotations":"authorization.k8s.io/reason"`)),

		has("ka.auth.openshift.decision", ka(`"annotations":{"authentication.openshift.io/decision":"allow"}`), "allow"),
		lacks("ka.auth.openshift.decision", ka(``)),
		bad("ka.auth.openshift.decision", ka(`"annotations":{"authentication.openshift.io/decision":false}`), "false"),

		has("ka.auth.openshift.username", ka(`"annotations":{"authentication.openshift.io/username":"kube:admin"}`), "kube:admin"),
		lacks("ka.auth.openshift.username", ka(`"annotations":{}`)),
		bad("ka.auth.openshift.username", ka(`"annotations":null`)),

		has("ka.validations.admission.policy.failure", ka(`"annotations":{"validation.policy.admission.k8s.io/validation_failure":"[{\"message\":\"m\"}]"}`), `[{"message":"m"}]`),
		lacks("ka.validations.admission.policy.failure", ka(`"annotations":{}`)),
		bad("ka.validations.admission.policy.failure", ka(`"annotations":{"validation.policy.admission.k8s.io/validation_failure":[{"message":"m"}]}`), `[{"message":"m"}]`),

		has("ka.security.pod.violations", ka(`"annotations":{"pod-security.kubernetes.io/audit-violations":"would violate"}`), "would violate"),
		lacks("ka.security.pod.violations", ka(`"annotations":{}`)),
		bad("ka.security.pod.violations", ka(`"annotations":7`)),

		has("ka.user.name", ka(`"user":{"username":"system:admin"}`), "system:admin"),
		has("ka.user.name", ka(`"user":{"username":"caf\u00e9"}`), "café"),
		lacks("ka.user.name", ka(`"user":{"groups":["g"]}`)),
		lacks("ka.user.name", noAudit),
		bad("ka.user.name", ka(`"user":"system:admin"`)),
		bad("ka.user.name", ka(`"user":{"username":123}`), "123"),

		has("ka.user.groups", ka(`"user":{"groups":["system:masters","system:authenticated"]}`), "system:masters", "system:authenticated"),
		has("ka.user.groups", ka(`"user":{"groups":["a",1,null,{"x":1}]}`), "a", "1", "null", `{"x":1}`),
		lacks("ka.user.groups", ka(`"user":{"username":"u"}`)),
		lacks("ka.user.groups", ka(`"user":{"groups":[]}`)),
		bad("ka.user.groups", ka(`"user":{"groups":"system:masters"}`)),

		has("ka.impuser.name", ka(`"impersonatedUser":{"username":"bob"}`), "bob"),
		lacks("ka.impuser.name", ka(`"user":{"username":"bob"}`)),
		bad("ka.impuser.name", ka(`"impersonatedUser":["bob"]`)),

		has("ka.verb", ka(`"verb":"create"`), "create"),
		lacks("ka.verb", ka(``)),
		lacks("ka.verb", noAudit),
		bad("ka.verb", ka(`"verb":["create"]`), `["create"]`),

		has("ka.uri", ka(`"requestURI":"/api/v1/pods?watch=true"`), "/api/v1/pods?watch=true"),
		lacks("ka.uri", ka(``)),
		bad("ka.uri", ka(`"requestURI":5`), "5"),

		has("ka.uri.param[watch]", ka(`"requestURI":"/api/v1/pods?watch=true&limit=5"`), "true"),
		has("ka.uri.param[a]", ka(`"requestURI":"/p?a=1&a=2"`), "1"),
		has("ka.uri.param[a]", ka(`"requestURI":"/p?a="`), ""),
		has(`ka.uri.param["a b"]`, ka(`"requestURI":"/p?a+b=c%2Fd"`), "c/d"),
		lacks("ka.uri.param[watch]", ka(`"requestURI":"/api/v1/pods"`)),
		lacks("ka.uri.param[watch]", ka(`"requestURI":"/api/v1/pods?limit=5"`)),
		lacks("ka.uri.param[watch]", ka(``)),
		bad("ka.uri.param[a]", ka(`"requestURI":"/p?a=1;b=2"`)),
		bad("ka.uri.param[a]", ka(`"requestURI":"/p?a=%zz"`)),
		bad("ka.uri.param[a]", ka(`"requestURI":"/p\n?a=1"`)),
		// TEXT of a non-string is its JSON, which is then parsed as a URI, as upstream does.
		bad("ka.uri.param[a]", ka(`"requestURI":["/p?a=1"]`), `1"]`),

		has("ka.target.name", ka(`"objectRef":{"name":"nginx"}`), "nginx"),
		lacks("ka.target.name", ka(`"objectRef":{"resource":"pods"}`)),
		bad("ka.target.name", ka(`"objectRef":"nginx"`)),

		has("ka.target.namespace", ka(`"objectRef":{"namespace":"kube-system"}`), "kube-system"),
		lacks("ka.target.namespace", ka(`"objectRef":{"resource":"namespaces"}`)),
		bad("ka.target.namespace", ka(`"objectRef":[{"namespace":"kube-system"}]`)),

		has("ka.target.resource", ka(`"objectRef":{"resource":"pods"}`), "pods"),
		lacks("ka.target.resource", ka(`"objectRef":{}`)),
		bad("ka.target.resource", ka(`"objectRef":{"resource":null}`), "null"),

		has("ka.target.subresource", ka(`"objectRef":{"resource":"pods","subresource":"exec"}`), "exec"),
		lacks("ka.target.subresource", ka(`"objectRef":{"resource":"pods"}`)),
		bad("ka.target.subresource", ka(`"objectRef":true`)),

		has("ka.target.pod.name", ka(`"objectRef":{"resource":"pods"},"responseObject":{"metadata":{"name":"web-1"}}`), "web-1"),
		has("ka.target.pod.name", ka(`"objectRef":{"resource":"pods","subresource":""},"responseObject":{"metadata":{"name":"web-1"}}`), "web-1"),
		lacks("ka.target.pod.name", ka(`"objectRef":{"resource":"pods","subresource":"exec"},"responseObject":{"metadata":{"name":"web-1"}}`)),
		lacks("ka.target.pod.name", ka(`"objectRef":{"resource":"deployments"},"responseObject":{"metadata":{"name":"web"}}`)),
		lacks("ka.target.pod.name", ka(`"objectRef":{"resource":"pods"}`)),
		bad("ka.target.pod.name", ka(`"objectRef":{"resource":["pods"]},"responseObject":{"metadata":{"name":"web-1"}}`)),
		// A subresource that is not a string does not count as one.
		bad("ka.target.pod.name", ka(`"objectRef":{"resource":"pods","subresource":7},"responseObject":{"metadata":{"name":"web-1"}}`), "web-1"),

		has("ka.req.binding.subjects", req(`"subjects":[{"kind":"User","name":"bob"}, {"kind":"Group","name":"g"}]`), `{"kind":"User","name":"bob"}`, `{"kind":"Group","name":"g"}`),
		lacks("ka.req.binding.subjects", req(`"roleRef":{"name":"admin"}`)),
		lacks("ka.req.binding.subjects", req(`"subjects":[]`)),
		bad("ka.req.binding.subjects", req(`"subjects":{"kind":"User","name":"bob"}`)),

		has("ka.req.binding.subjects.user_names", req(subjects), "bob", "alice"),
		lacks("ka.req.binding.subjects.user_names", req(`"subjects":[{"kind":"Group","name":"g"}]`)),
		bad("ka.req.binding.subjects.user_names", req(`"subjects":{"kind":"User","name":"bob"}`)),
		bad("ka.req.binding.subjects.user_names", req(`"subjects":[{"kind":"User","name":5},{"name":"x"},"User"]`)),

		has("ka.req.binding.subjects.serviceaccount_names", req(subjects), "default", "orphan"),
		lacks("ka.req.binding.subjects.serviceaccount_names", req(`"subjects":[{"kind":"User","name":"bob"}]`)),
		bad("ka.req.binding.subjects.serviceaccount_names", req(`"subjects":"ServiceAccount"`)),

		has("ka.req.binding.subjects.serviceaccount_ns_names", req(subjects), "kube-system:default"),
		lacks("ka.req.binding.subjects.serviceaccount_ns_names", req(`"subjects":[{"kind":"ServiceAccount","name":"orphan"}]`)),
		bad("ka.req.binding.subjects.serviceaccount_ns_names", req(`"subjects":[{"kind":"ServiceAccount","name":"sa","namespace":["ns"]}]`)),

		has("ka.req.binding.subjects.group_names", req(subjects), "system:masters"),
		lacks("ka.req.binding.subjects.group_names", req(`"subjects":[{"kind":"User","name":"bob"}]`)),
		bad("ka.req.binding.subjects.group_names", req(`"subjects":[{"kind":"Group"}]`)),

		has("ka.req.binding.role", req(`"roleRef":{"kind":"ClusterRole","name":"cluster-admin"}`), "cluster-admin"),
		lacks("ka.req.binding.role", req(`"subjects":[]`)),
		bad("ka.req.binding.role", req(`"roleRef":"cluster-admin"`)),

		// Always "true" for an audit event, whatever the key: upstream's behaviour.
		has("ka.req.binding.subject.has_name[cluster-admin]", req(`"subjects":[{"kind":"User","name":"bob"}]`), "true"),
		has("ka.req.binding.subject.has_name[x]", ka(``), "true"),
		lacks("ka.req.binding.subject.has_name[x]", noAudit),
		bad("ka.req.binding.subject.has_name[x]", req(`"subjects":"x"`), "true"),

		// The resource is not checked: any object's name.
		has("ka.req.configmap.name", ka(`"objectRef":{"resource":"configmaps","name":"cfg"}`), "cfg"),
		has("ka.req.configmap.name", ka(`"objectRef":{"resource":"secrets","name":"s"}`), "s"),
		lacks("ka.req.configmap.name", ka(`"objectRef":{"resource":"configmaps"}`)),
		bad("ka.req.configmap.name", ka(`"objectRef":{"name":{"a":1}}`), `{"a":1}`),

		has("ka.req.configmap.obj", req(`"data":{"user": "admin", "n": 1}`), `{"user":"admin","n":1}`),
		lacks("ka.req.configmap.obj", req(`"metadata":{}`)),
		bad("ka.req.configmap.obj", req(`"data":"text"`), "text"),

		has("ka.req.container.image", spec(`"containers":[{"image":"nginx:1.2"},{"image":"busybox"}]`), "nginx:1.2"),
		lacks("ka.req.container.image", spec(`"containers":[]`)),
		lacks("ka.req.container.image", spec(`"containers":[{"name":"a"},{"image":"busybox"}]`)),
		lacks("ka.req.container.image", spec(``)),
		// The path walk does not insist on arrays: a containers object is read as one container.
		bad("ka.req.container.image", spec(`"containers":{"image":"nginx"}`), "nginx"),
		bad("ka.req.container.image", spec(`"containers":"nginx"`)),

		has("ka.req.container.image.repository", spec(`"containers":[{"image":"reg:5000/app:1"},{"image":"busybox"}]`), "reg:5000/app"),
		lacks("ka.req.container.image.repository", spec(`"containers":[{"name":"a"}]`)),
		bad("ka.req.container.image.repository", spec(`"containers":[{"image":5}]`), "5"),

		has("ka.req.pod.host_ipc", spec(`"hostIPC":true`), "true"),
		lacks("ka.req.pod.host_ipc", spec(`"hostPID":true`)),
		bad("ka.req.pod.host_ipc", spec(`"hostIPC":"yes"`), "yes"),

		has("ka.req.pod.host_network", spec(`"hostNetwork":false`), "false"),
		lacks("ka.req.pod.host_network", spec(``)),
		bad("ka.req.pod.host_network", req(`"spec":[{"hostNetwork":true}]`)),

		has("ka.req.container.host_network", spec(`"hostNetwork":true`), "true"),
		lacks("ka.req.container.host_network", spec(``)),
		bad("ka.req.container.host_network", spec(`"hostNetwork":1`), "1"),

		has("ka.req.pod.host_pid", spec(`"hostPID":true`), "true"),
		lacks("ka.req.pod.host_pid", spec(`"hostIPC":true`)),
		bad("ka.req.pod.host_pid", req(`"spec":"hostPID"`)),

		has("ka.req.container.privileged", spec(`"containers":[{"securityContext":{"privileged":false}},{"securityContext":{"privileged":true}}]`), "true"),
		has("ka.req.container.privileged", spec(`"containers":[{"name":"a"}]`), "false"),
		has("ka.req.container.privileged", spec(`"containers":[]`), "false"),
		lacks("ka.req.container.privileged", spec(`"volumes":[]`)),
		// Only JSON true counts.
		bad("ka.req.container.privileged", spec(`"containers":[{"securityContext":{"privileged":"true"}}]`), "false"),

		has("ka.req.pod.run_as_user", spec(`"securityContext":{"runAsUser":1000}`), "1000"),
		lacks("ka.req.pod.run_as_user", spec(`"securityContext":{}`)),
		bad("ka.req.pod.run_as_user", spec(`"securityContext":[{"runAsUser":1000}]`)),

		has("ka.req.pod.run_as_group", spec(`"securityContext":{"runAsGroup":3000}`), "3000"),
		lacks("ka.req.pod.run_as_group", spec(`"securityContext":{"runAsUser":1}`)),
		bad("ka.req.pod.run_as_group", spec(`"securityContext":{"runAsGroup":"x"}`), "x"),

		has("ka.req.pod.fs_group", spec(`"securityContext":{"fsGroup":2000}`), "2000"),
		lacks("ka.req.pod.fs_group", spec(``)),
		bad("ka.req.pod.fs_group", spec(`"securityContext":"fsGroup"`)),

		has("ka.req.pod.supplemental_groups", spec(`"securityContext":{"supplementalGroups":[1,2]}`), "1", "2"),
		lacks("ka.req.pod.supplemental_groups", spec(`"securityContext":{"supplementalGroups":[]}`)),
		lacks("ka.req.pod.supplemental_groups", spec(`"securityContext":{}`)),
		bad("ka.req.pod.supplemental_groups", spec(`"securityContext":{"supplementalGroups":5}`)),

		has("ka.req.role.rules", req(rules), `{"apiGroups":[""],"resources":["pods","pods/exec"],"verbs":["get","create"]}`, `{"nonResourceURLs":["/metrics"],"verbs":["*"]}`),
		lacks("ka.req.role.rules", req(`"rules":[]`)),
		lacks("ka.req.role.rules", req(`"kind":"Role"`)),
		bad("ka.req.role.rules", req(`"rules":{"verbs":["get"]}`)),

		has("ka.req.role.rules.apiGroups", req(rules), ""),
		lacks("ka.req.role.rules.apiGroups[1]", req(rules)),
		bad("ka.req.role.rules.apiGroups", req(`"rules":[{"apiGroups":"apps"}]`)),

		has("ka.req.role.rules.nonResourceURLs", req(rules), "/metrics"),
		has("ka.req.role.rules.nonResourceURLs[1]", req(rules), "/metrics"),
		lacks("ka.req.role.rules.nonResourceURLs[0]", req(rules)),
		bad("ka.req.role.rules.nonResourceURLs", req(`"rules":"/metrics"`)),

		has("ka.req.role.rules.verbs", req(rules), "get", "create", "*"),
		// The index picks a rule, not a verb.
		has("ka.req.role.rules.verbs[0]", req(rules), "get", "create"),
		has("ka.req.role.rules.verbs[1]", req(rules), "*"),
		lacks("ka.req.role.rules.verbs[2]", req(rules)),
		lacks("ka.req.role.rules.verbs", req(`"rules":[{"resources":["pods"]}]`)),
		bad("ka.req.role.rules.verbs", req(`"rules":[{"verbs":"get"}]`)),
		// The path walk reads a rules object as one rule.
		bad("ka.req.role.rules.verbs", req(`"rules":{"verbs":["get"]}`), "get"),

		has("ka.req.role.rules.resources", req(rules), "pods", "pods/exec"),
		lacks("ka.req.role.rules.resources[1]", req(rules)),
		bad("ka.req.role.rules.resources", req(`"rules":[{"resources":[1,null]}]`), "1", "null"),

		has("ka.req.service.type", spec(`"type":"NodePort"`), "NodePort"),
		lacks("ka.req.service.type", spec(`"ports":[]`)),
		bad("ka.req.service.type", spec(`"type":["NodePort"]`), `["NodePort"]`),

		// Peregrine: one element per port (upstream: the whole array as one element).
		has("ka.req.service.ports", spec(`"ports":[{"port":80,"protocol":"TCP"}, {"port":443}]`), `{"port":80,"protocol":"TCP"}`, `{"port":443}`),
		has("ka.req.service.ports[1]", spec(`"ports":[{"port":80,"protocol":"TCP"}, {"port":443}]`), `{"port":443}`),
		lacks("ka.req.service.ports[2]", spec(`"ports":[{"port":80,"protocol":"TCP"}, {"port":443}]`)),
		lacks("ka.req.service.ports", spec(`"ports":[]`)),
		lacks("ka.req.service.ports", spec(`"type":"ClusterIP"`)),
		bad("ka.req.service.ports", spec(`"ports":{"port":80}`), `{"port":80}`),

		has("ka.req.pod.volumes.hostpath", spec(volumes), "/etc", "/var/run/docker.sock"),
		has("ka.req.pod.volumes.hostpath[2]", spec(volumes), "/var/run/docker.sock"),
		lacks("ka.req.pod.volumes.hostpath[1]", spec(volumes)),
		lacks("ka.req.pod.volumes.hostpath", spec(`"volumes":[{"name":"c","configMap":{"name":"c"}}]`)),
		bad("ka.req.pod.volumes.hostpath", spec(`"volumes":[{"hostPath":{"path":5}},{"hostPath":"/etc"}]`), "5"),

		has("ka.req.volume.hostpath[/etc]", spec(volumes), "true"),
		has("ka.req.volume.hostpath[/var/run/*]", spec(volumes), "true"),
		has("ka.req.volume.hostpath[/var]", spec(volumes), "false"),
		has("ka.req.volume.hostpath[/etc]", spec(`"volumes":[]`), "false"),
		lacks("ka.req.volume.hostpath[/etc]", spec(`"containers":[]`)),
		bad("ka.req.volume.hostpath[/etc]", spec(`"volumes":"/etc"`)),

		has("ka.req.pod.volumes.flexvolume_driver", spec(`"volumes":[{"name":"a","flexVolume":{"driver":"example/lvm"}},{"name":"b"}]`), "example/lvm"),
		lacks("ka.req.pod.volumes.flexvolume_driver[1]", spec(`"volumes":[{"name":"a","flexVolume":{"driver":"example/lvm"}},{"name":"b"}]`)),
		bad("ka.req.pod.volumes.flexvolume_driver", spec(`"volumes":[{"flexVolume":["example/lvm"]}]`)),

		has("ka.req.pod.volumes.volume_type", spec(volumes), "hostPath", "configMap", "hostPath"),
		has("ka.req.pod.volumes.volume_type[1]", spec(volumes), "configMap"),
		lacks("ka.req.pod.volumes.volume_type", spec(`"volumes":[{"name":"a"}]`)),
		lacks("ka.req.pod.volumes.volume_type[3]", spec(volumes)),
		bad("ka.req.pod.volumes.volume_type", spec(`"volumes":[5,"x"]`)),
		bad("ka.req.pod.volumes.volume_type", spec(`"volumes":{"name":"a","secret":{}}`), "secret"),

		has("ka.resp.name", ka(`"responseObject":{"metadata":{"name":"web-1"}}`), "web-1"),
		lacks("ka.resp.name", ka(`"responseObject":{"metadata":{}}`)),
		bad("ka.resp.name", ka(`"responseObject":"web-1"`)),

		has("ka.response.code", ka(`"responseStatus":{"code":201}`), "201"),
		lacks("ka.response.code", ka(`"responseStatus":{"metadata":{}}`)),
		bad("ka.response.code", ka(`"responseStatus":{"code":"201 Created"}`), "201 Created"),

		has("ka.response.reason", ka(`"responseStatus":{"code":403,"reason":"Forbidden"}`), "Forbidden"),
		lacks("ka.response.reason", ka(`"responseStatus":{"code":201}`)),
		bad("ka.response.reason", ka(`"responseStatus":[403]`)),

		has("ka.useragent", ka(`"userAgent":"kubectl/v1.30.0"`), "kubectl/v1.30.0"),
		lacks("ka.useragent", ka(``)),
		bad("ka.useragent", ka(`"userAgent":null`), "null"),

		// Peregrine: the event's own sourceIPs (upstream reads a path that never exists).
		has("ka.sourceips", ka(`"sourceIPs":["10.0.0.1","::1"]`), "10.0.0.1", "::1"),
		has("ka.sourceips[1]", ka(`"sourceIPs":["10.0.0.1","::1"]`), "::1"),
		lacks("ka.sourceips[2]", ka(`"sourceIPs":["10.0.0.1","::1"]`)),
		lacks("ka.sourceips", ka(`"sourceIPs":[]`)),
		lacks("ka.sourceips", ka(``)),
		bad("ka.sourceips", ka(`"sourceIPs":"10.0.0.1"`)),

		has("ka.cluster.name", ka(`"annotations":{"cluster_name":"prod"}`), "prod"),
		has("ka.cluster.name", ka(`"annotations":{"cluster_name":"prod"}`), "prod").with(cluster("from-source")),
		has("ka.cluster.name", ka(``), "from-source").with(cluster("from-source")),
		lacks("ka.cluster.name", ka(`"annotations":{}`)),
		lacks("ka.cluster.name", `{"verb":"get"}`).with(cluster("from-source")),
		bad("ka.cluster.name", ka(`"annotations":{"cluster_name":5}`), "5"),

		has("ka.req", req(`"kind": "Pod", "spec": {"a": [1, 2]}`), `{"kind":"Pod","spec":{"a":[1,2]}}`),
		lacks("ka.req", ka(`"responseObject":{}`)),
		lacks("ka.req", `{"requestObject":{}}`),
		// Compact JSON keeps the escapes as written, as fastjson does.
		bad("ka.req", ka(`"requestObject":"a\u0022b"`), `"a\u0022b"`),

		has("ka.resp", ka(`"responseObject": {"kind": "Status"}`), `{"kind":"Status"}`),
		lacks("ka.resp", req(``)),
		bad("ka.resp", ka(`"responseObject":null`), "null"),
	}
}

// subjects, rules and volumes are requestObject members shared by cases.
const (
	subjects = `"subjects":[{"kind":"User","name":"bob"},{"kind":"ServiceAccount","name":"default","namespace":"kube-system"},` +
		`{"kind":"Group","name":"system:masters"},{"kind":"User","name":"alice"},{"kind":"ServiceAccount","name":"orphan"}]`
	rules   = `"rules":[{"apiGroups":[""],"resources":["pods","pods/exec"],"verbs":["get","create"]},{"nonResourceURLs":["/metrics"],"verbs":["*"]}]`
	volumes = `"volumes":[{"name":"etc","hostPath":{"path":"/etc"}},{"name":"cfg","configMap":{"name":"c"}},` +
		`{"name":"sock","hostPath":{"path":"/var/run/docker.sock","type":"Socket"}}]`
)

func cluster(name string) func(*audit.Event) { return func(ev *audit.Event) { ev.Cluster = name } }

// containerCases specifies the per-container fields of one container list:
// the same rules hold for containers, initContainers and ephemeralContainers.
func containerCases(list string) []fieldCase {
	f := func(sub string) string { return "ka.req.pod." + list + "." + sub }
	l := func(items string) string { return spec(`"` + list + `":[` + items + `]`) }
	other := "initContainers" // a list that must not leak into this one
	if list == "initContainers" {
		other = "containers"
	}
	leak := spec(`"` + other + `":[{"name":"x","image":"x","command":["x"],"args":["x"],"ports":[{"containerPort":1}],` +
		`"securityContext":{"privileged":true,"allowPrivilegeEscalation":true,"readOnlyRootFilesystem":true,"runAsUser":1,` +
		`"runAsGroup":1,"procMount":"Unmasked","capabilities":{"add":["X"]}}}]`)
	sc := func(members string) string { return `{"securityContext":{` + members + `}}` }
	cases := []fieldCase{
		has(f("name"), l(`{"name":"app"},{"name":"sidecar"}`), "app", "sidecar"),
		has(f("name[1]"), l(`{"name":"app"},{"name":"sidecar"}`), "sidecar"),
		lacks(f("name[2]"), l(`{"name":"app"},{"name":"sidecar"}`)),
		lacks(f("name"), l(`{"name":"app"},{"image":"nginx"}`)), // one without a name: no value at all
		lacks(f("name"), l(``)),
		lacks(f("name"), leak),
		lacks(f("name"), noAudit),
		bad(f("name"), l(`{"name":5}`), "5"),
		bad(f("name"), spec(`"`+list+`":{"name":"app"}`), "app"),
		bad(f("name"), spec(`"`+list+`":"app"`)),

		has(f("image"), l(`{"image":"nginx:1.25"},{"image":"busybox"}`), "nginx:1.25", "busybox"),
		has(f("image[0]"), l(`{"image":"nginx:1.25"},{"image":"busybox"}`), "nginx:1.25"),
		lacks(f("image"), l(`{"image":"nginx"},{"name":"no-image"}`)),
		lacks(f("image"), leak),
		bad(f("image"), l(`{"image":["nginx"]}`), `["nginx"]`),

		// Peregrine: tag and digest go, a registry port stays (upstream cuts at the first ':').
		has(f("image.repository"), l(`{"image":"nginx:1.2"},{"image":"reg:5000/app:1"},{"image":"repo@sha256:ab"},`+
			`{"image":"gcr.io/a/b:v1@sha256:cd"},{"image":"plain"},{"image":"reg:5000/app"}`),
			"nginx", "reg:5000/app", "repo", "gcr.io/a/b", "plain", "reg:5000/app"),
		has(f("image.repository[1]"), l(`{"image":"nginx:1.2"},{"image":"reg:5000/app:1"}`), "reg:5000/app"),
		lacks(f("image.repository"), l(`{"name":"a"}`)),
		bad(f("image.repository"), l(`{"image":{"repo":"x"}}`), `{"repo"`),

		has(f("command"), l(`{"command":["sh","-c","echo hi"]},{"name":"b"},{"command":[]}`), "sh -c echo hi", ""),
		has(f("command[0]"), l(`{"command":["sh","-c","echo hi"]},{"name":"b"}`), "sh -c echo hi"),
		lacks(f("command[1]"), l(`{"command":["sh"]},{"name":"b"}`)),
		lacks(f("command"), l(`{"name":"a"}`)),
		lacks(f("command"), leak),
		bad(f("command"), l(`{"command":"sh -c date"}`)),
		bad(f("command"), l(`{"command":["sh"]},{"command":["sleep",5]}`)),

		has(f("args"), l(`{"args":["--port","80"]},{"args":["-v"]}`), "--port 80", "-v"),
		has(f("args[1]"), l(`{"args":["--port","80"]},{"args":["-v"]}`), "-v"),
		lacks(f("args"), l(`{"command":["sh"]}`)),
		bad(f("args"), l(`{"args":{"port":80}}`)),

		has(f("privileged"), l(sc(`"privileged":true`)+`,{"name":"b"},`+sc(`"privileged":false`)), "true", "false"),
		has(f("privileged[2]"), l(sc(`"privileged":true`)+`,{"name":"b"},`+sc(`"privileged":false`)), "false"),
		lacks(f("privileged[1]"), l(sc(`"privileged":true`)+`,{"name":"b"}`)),
		lacks(f("privileged"), l(`{"name":"a"}`)),
		lacks(f("privileged"), leak),
		bad(f("privileged"), l(sc(`"privileged":"yes"`)), "yes"),
		bad(f("privileged"), l(`{"securityContext":"privileged"}`)),

		has(f("allow_privilege_escalation"), l(sc(`"allowPrivilegeEscalation":false`)+`,{}`), "false"),
		lacks(f("allow_privilege_escalation"), l(sc(`"privileged":true`))),
		bad(f("allow_privilege_escalation"), l(sc(`"allowPrivilegeEscalation":[true]`)), "[true]"),

		has(f("read_only_fs"), l(sc(`"readOnlyRootFilesystem":true`)), "true"),
		lacks(f("read_only_fs"), l(`{}`)),
		bad(f("read_only_fs"), l(`{"securityContext":[{"readOnlyRootFilesystem":true}]}`), "true"),

		has(f("run_as_user"), l(sc(`"runAsUser":1000`)+`,{},`+sc(`"runAsUser":0`)), "1000", "0"),
		lacks(f("run_as_user"), l(`{}`)),
		lacks(f("run_as_user"), leak),
		bad(f("run_as_user"), l(sc(`"runAsUser":"root"`)), "root"),

		has(f("run_as_group"), l(sc(`"runAsGroup":3000`)), "3000"),
		lacks(f("run_as_group"), l(sc(`"runAsUser":3000`))),
		bad(f("run_as_group"), l(sc(`"runAsGroup":null`)), "null"),

		// Peregrine: the container's setting, else the pod's, else 0 (upstream: always "0").
		has(f("eff_run_as_user"), spec(`"securityContext":{"runAsUser":1000},"`+list+`":[`+sc(`"runAsUser":0`)+`,{"name":"b"},`+sc(`"runAsUser":null`)+`]`), "0", "1000", "1000"),
		has(f("eff_run_as_user"), l(sc(`"runAsUser":7`)+`,{"name":"b"}`), "7", "0"),
		has(f("eff_run_as_user[1]"), l(sc(`"runAsUser":7`)+`,{"name":"b"}`), "0"),
		lacks(f("eff_run_as_user[2]"), l(sc(`"runAsUser":7`)+`,{"name":"b"}`)),
		lacks(f("eff_run_as_user"), l(``)),
		lacks(f("eff_run_as_user"), spec(`"securityContext":{"runAsUser":1000}`)),
		bad(f("eff_run_as_user"), spec(`"securityContext":{"runAsUser":"x"},"`+list+`":[{}]`), "x"),
		bad(f("eff_run_as_user"), spec(`"`+list+`":{"securityContext":{"runAsUser":7}}`)),

		has(f("eff_run_as_group"), spec(`"securityContext":{"runAsGroup":3000},"`+list+`":[`+sc(`"runAsGroup":5`)+`,{}]`), "5", "3000"),
		has(f("eff_run_as_group[0]"), l(`{}`), "0"),
		lacks(f("eff_run_as_group"), spec(``)),
		bad(f("eff_run_as_group"), l(`"c"`), "0"),

		has(f("proc_mount"), l(sc(`"procMount":"Unmasked"`)+`,{}`), "Unmasked"),
		lacks(f("proc_mount"), l(`{}`)),
		bad(f("proc_mount"), l(sc(`"procMount":{"type":"Unmasked"}`)), `{"type":"Unmasked"}`),

		// Peregrine: one capability per element (upstream: each container's array as one JSON element).
		has(f("add_capabilities"), l(sc(`"capabilities":{"add":["NET_ADMIN","SYS_TIME"]}`)+`,{},`+sc(`"capabilities":{"add":["SYS_ADMIN"]}`)), "NET_ADMIN", "SYS_TIME", "SYS_ADMIN"),
		has(f("add_capabilities[2]"), l(sc(`"capabilities":{"add":["NET_ADMIN","SYS_TIME"]}`)+`,{},`+sc(`"capabilities":{"add":["SYS_ADMIN"]}`)), "SYS_ADMIN"),
		lacks(f("add_capabilities[1]"), l(sc(`"capabilities":{"add":["NET_ADMIN"]}`)+`,{}`)),
		lacks(f("add_capabilities"), l(sc(`"capabilities":{"drop":["ALL"]}`))),
		lacks(f("add_capabilities"), l(sc(`"capabilities":{"add":[]}`))),
		lacks(f("add_capabilities"), leak),
		bad(f("add_capabilities"), l(sc(`"capabilities":{"add":"NET_ADMIN"}`)), "NET_ADMIN"),
	}
	if list == "ephemeralContainers" {
		return cases
	}
	return append(cases,
		has(f("host_port"), l(`{"ports":[{"containerPort":80,"hostPort":8080},{"containerPort":443}]},{"name":"b"},{"ports":[{"containerPort":53}]}`), "8080", "443", "53"),
		has(f("host_port[2]"), l(`{"ports":[{"containerPort":80,"hostPort":8080}]},{"name":"b"},{"ports":[{"containerPort":53}]}`), "53"),
		lacks(f("host_port[1]"), l(`{"ports":[{"containerPort":80}]},{"name":"b"}`)),
		lacks(f("host_port"), l(`{"name":"a"},{"ports":[]}`)),
		lacks(f("host_port"), leak),
		bad(f("host_port"), l(`{"ports":[{"containerPort":80}]},{"ports":{"containerPort":53}}`)),
		bad(f("host_port"), l(`{"ports":[5,{"name":"http"},{"hostPort":"8080"}]}`), "8080"),
	)
}

func jsonCases() []fieldCase {
	var cases []fieldCase
	doc := `{"auditID":"id", "verb":"create","user":{"username":"u","groups":["a","b"]},"a/b":1,"m~n":2,"~1":3,"n":1.50,"z":null,"":"empty"}`
	for _, p := range []string{"json", "jevt"} {
		v := p + ".value"
		cases = append(cases,
			has(v+"[/verb]", doc, "create"),
			has(v+"[verb]", doc, "create"),
			has(v+"[/user]", doc, `{"username":"u","groups":["a","b"]}`),
			has(v+"[/user/groups/1]", doc, "b"),
			has(v+"[/user/groups/+1]", doc, "b"), // indexes are read with strconv.Atoi, as the json plugin does
			has(v+"[/a~1b]", doc, "1"),
			has(v+"[/m~0n]", doc, "2"),
			has(v+"[/~01]", doc, "3"),
			has(v+"[/n]", doc, "1.50"),
			has(v+"[/z]", doc, "null"),
			has(v+"[/]", doc, "empty"),
			has(v+`[""]`, `{"b": [1, 2], "a": "x"}`, `{"b":[1,2],"a":"x"}`),
			has(v+"[/verb]", `{"verb":"create"}`, "create"), // any JSON, audit event or not
			lacks(v+"[/nope]", doc),
			lacks(v+"[/user/groups/2]", doc),
			lacks(v+"[/user/groups/-1]", doc),
			lacks(v+"[/user/nope/x]", doc),
			bad(v+"[/verb/x]", doc),
			bad(v+"[/user/groups/x]", doc),
			bad(v+"[/z/x]", doc),
		)
		o := p + ".obj"
		cases = append(cases,
			has(o, `{"a":1, "b":[1,{"c":"x"}],"e":{},"f":[]}`, "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    {\n      \"c\": \"x\"\n    }\n  ],\n  \"e\": {},\n  \"f\": []\n}"),
			lacks(o, `{}`, "{}"), // nothing to read, yet a value: the empty object
			bad(o, `{"s":"\u00e9\/"}`, "{\n  \"s\": \"\\u00e9\\/\"\n}"), // escapes as written
		)
		// The event time comes from the source (stageTimestamp), not from the JSON.
		r := p + ".rawtime"
		cases = append(cases,
			has(r, ka(``), "1651245552581541000"),
			lacks(r, `{}`, "1651245552581541000"),
			bad(r, `{"stageTimestamp":5}`, "1651245552581541000"),
		)
	}
	return cases
}

// evtCases: Falco's evt.* fields do not read the JSON, so an event that
// lacks everything, or has everything of the wrong type, still has them.
func evtCases() []fieldCase {
	num := func(n uint64) func(*audit.Event) { return func(ev *audit.Event) { ev.Num = n } }
	start := func(s int64) func(*audit.Event) { return func(ev *audit.Event) { ev.Start = s } }
	empty, odd := `{}`, `{"auditID":5,"stageTimestamp":true,"verb":[]}`
	always := func(field string, want ...string) []fieldCase {
		return []fieldCase{has(field, ka(`"verb":"get"`), want...), lacks(field, empty, want...), bad(field, odd, want...)}
	}
	var cases []fieldCase
	for _, c := range [][]string{
		{"evt.time", "17:19:12.581541000"}, // local time: the tests run at UTC+2
		{"evt.time.s", "17:19:12"},
		{"evt.time.iso8601", "2022-04-29T15:19:12.581541000+0000"},
		{"evt.datetime", "2022-04-29 17:19:12.581541000"},
		{"evt.datetime.s", "2022-04-29 17:19:12"},
		{"evt.rawtime", "1651245552581541000"},
		{"evt.rawtime.s", "1651245552"},
		{"evt.rawtime.ns", "581541000"},
		{"evt.reltime", "0"},
		{"evt.reltime.s", "0"},
		{"evt.reltime.ns", "0"},
		{"evt.num", "0"},
		{"evt.pluginname", "k8saudit"},
		{"evt.source", "k8s_audit"},
		{"evt.is_async", "false"},
		{"evt.hostname", "test-host"},
	} {
		cases = append(cases, always(c[0], c[1])...)
	}
	return append(cases,
		has("evt.num", ka(``), "7").with(num(7)),
		has("evt.reltime", ka(``), "1500000000").with(start(t0-1_500_000_000)),
		has("evt.reltime.s", ka(``), "1").with(start(t0-1_500_000_000)),
		has("evt.reltime.ns", ka(``), "500000000").with(start(t0-1_500_000_000)),
		bad("evt.reltime", ka(``), "0").with(start(t0+1)), // an event older than the first one
		has("evt.plugininfo", `{"auditID":"a", "b": [1, 2]}`, `{"auditID":"a","b":[1,2]}`),
		lacks("evt.plugininfo", empty, "{}"),
		bad("evt.plugininfo", `{"s": "\u00e9"}`, `{"s":"\u00e9"}`),
		// No audit event is asynchronous, so none has an async type.
		lacks("evt.asynctype", ka(``)),
		bad("evt.asynctype", odd),
	)
}

func allCases() []fieldCase {
	cases := append(kaCases(), csrCases()...)
	for _, l := range containerLists {
		cases = append(cases, containerCases(l.key)...)
	}
	return append(append(cases, jsonCases()...), evtCases()...)
}

// parseRef splits "name[arg]" as a rule would write it; quotes around the
// argument are removed.
func parseRef(t testing.TB, ref string) (*Field, Arg) {
	t.Helper()
	name, arg, hasArg := strings.Cut(ref, "[")
	arg = strings.TrimSuffix(arg, "]")
	if len(arg) >= 2 && arg[0] == '"' {
		arg = arg[1 : len(arg)-1]
	}
	f, ok := Builtin().Lookup(name)
	if !ok {
		t.Fatalf("no field %q", name)
	}
	a, err := f.ParseArg(arg, hasArg)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	return f, a
}

func TestExtract(t *testing.T) {
	for _, c := range allCases() {
		f, arg := parseRef(t, c.field)
		ev := audit.New([]byte(c.ev), t0)
		if c.prep != nil {
			c.prep(ev)
		}
		// Extractors append: start from a non-empty dst to check they keep it.
		got := f.Extract(ev, &arg, []string{"keep"})
		if len(got) == 0 || got[0] != "keep" {
			t.Errorf("%s on %s: dropped what dst held: %q", c.field, c.ev, got)
			continue
		}
		got = got[1:]
		if len(got) == 0 {
			got = nil
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s on %s:\n got  %q\n want %q", c.field, c.ev, got, c.want)
		}
		if !f.List && len(got) > 1 {
			t.Errorf("%s is a single-value field but gave %q", c.field, got)
		}
	}
}

// TestEveryFieldSpecified makes the case table cover every field: at least
// one event with a value, one without, and one with the wrong JSON type.
func TestEveryFieldSpecified(t *testing.T) {
	seen := map[string][3]int{}
	for _, c := range allCases() {
		name, _, _ := strings.Cut(c.field, "[")
		k := seen[name]
		k[c.kind]++
		seen[name] = k
	}
	for _, f := range Builtin().All() {
		k := seen[f.Name]
		if f.Name == "evt.asynctype" {
			k[hasKind]++ // never has a value, by definition
		}
		if k[hasKind] == 0 || k[lacksKind] == 0 || k[badKind] == 0 {
			t.Errorf("%s: cases with value/without/malformed = %d/%d/%d; want each ≥ 1", f.Name, k[0], k[1], k[2])
		}
	}
}

// wantNames is every field of RULES-LANGUAGE.md §4.2, §4.3 and §4.5, plus
// Peregrine's extensions: the table must have exactly these.
func wantNames() []string {
	names := strings.Fields(`
		ka.auditid ka.stage ka.auth.decision ka.auth.reason ka.auth.openshift.decision
		ka.auth.openshift.username ka.validations.admission.policy.failure ka.security.pod.violations
		ka.user.name ka.user.groups ka.impuser.name ka.verb ka.uri ka.uri.param
		ka.target.name ka.target.namespace ka.target.resource ka.target.subresource ka.target.pod.name
		ka.req.binding.subjects ka.req.binding.subjects.user_names ka.req.binding.subjects.serviceaccount_names
		ka.req.binding.subjects.serviceaccount_ns_names ka.req.binding.subjects.group_names
		ka.req.binding.role ka.req.binding.subject.has_name ka.req.configmap.name ka.req.configmap.obj
		ka.req.pod.host_ipc ka.req.pod.host_network ka.req.container.host_network ka.req.pod.host_pid
		ka.req.pod.run_as_user ka.req.pod.run_as_group ka.req.pod.fs_group ka.req.pod.supplemental_groups
		ka.req.container.image ka.req.container.image.repository ka.req.container.privileged
		ka.req.role.rules ka.req.role.rules.apiGroups ka.req.role.rules.nonResourceURLs
		ka.req.role.rules.verbs ka.req.role.rules.resources ka.req.service.type ka.req.service.ports
		ka.req.pod.volumes.hostpath ka.req.volume.hostpath ka.req.pod.volumes.flexvolume_driver
		ka.req.pod.volumes.volume_type ka.resp.name ka.response.code ka.response.reason ka.useragent
		ka.sourceips ka.cluster.name ka.req ka.resp ka.req.csr.subject.cn ka.req.csr.subject.o
		json.value jevt.value json.obj jevt.obj json.rawtime jevt.rawtime
		evt.num evt.time evt.time.s evt.time.iso8601 evt.datetime evt.datetime.s
		evt.rawtime evt.rawtime.s evt.rawtime.ns evt.reltime evt.reltime.s evt.reltime.ns
		evt.pluginname evt.plugininfo evt.source evt.is_async evt.asynctype evt.hostname`)
	for _, l := range []string{"containers", "initContainers", "ephemeralContainers"} {
		for _, sub := range strings.Fields(`name image image.repository command args privileged
			allow_privilege_escalation read_only_fs run_as_user run_as_group eff_run_as_user
			eff_run_as_group proc_mount add_capabilities host_port`) {
			if sub == "host_port" && l == "ephemeralContainers" {
				continue
			}
			names = append(names, "ka.req.pod."+l+"."+sub)
		}
	}
	return names
}

func TestTableNames(t *testing.T) {
	var got []string
	for _, f := range Builtin().All() {
		got = append(got, f.Name)
	}
	want := wantNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("field names differ from the spec:\n got  %q\n want %q", got, want)
	}
	for _, gone := range []string{"jevt.time", "jevt.time.iso8601", "ka.req.pod.ephemeralContainers.host_port"} {
		if _, ok := Builtin().Lookup(gone); ok {
			t.Errorf("%s must not exist", gone)
		}
	}
}

func TestTableWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Builtin().All() {
		if seen[f.Name] {
			t.Errorf("%s: defined twice", f.Name)
		}
		seen[f.Name] = true
		if strings.TrimSpace(f.Doc) == "" {
			t.Errorf("%s: empty Doc", f.Name)
		}
		if f.Extract == nil {
			t.Errorf("%s: no extractor", f.Name)
		}
		numeric := f.Type == Uint64 || f.Type == AbsTime || f.Type == Bool
		if numeric && f.Number == nil {
			t.Errorf("%s: Number must be set for numeric, time and bool fields", f.Name)
		}
		if !numeric && f.Number != nil && f.Type != String {
			t.Errorf("%s: Number on a field of type %v", f.Name, f.Type)
		}
		if f.Arg == ArgNone && f.ArgRequired {
			t.Errorf("%s: requires an argument of kind none", f.Name)
		}
		if strings.HasPrefix(f.Name, "ka.") || strings.HasPrefix(f.Name, "json.") || strings.HasPrefix(f.Name, "jevt.") {
			if f.Type != String {
				t.Errorf("%s: every ka.*, json.* and jevt.* field is a string", f.Name)
			}
		}
	}
}

func TestNumber(t *testing.T) {
	ev := audit.New([]byte(ka(``)), t0)
	ev.Num, ev.Start = 3, t0-2_000_000_001
	for name, want := range map[string]uint64{
		"evt.num": 3, "evt.time": t0, "evt.time.s": t0, "evt.time.iso8601": t0, "evt.datetime": t0,
		"evt.datetime.s": t0, "evt.rawtime": t0, "evt.rawtime.s": 1651245552, "evt.rawtime.ns": 581541000,
		"evt.reltime": 2_000_000_001, "evt.reltime.s": 2, "evt.reltime.ns": 1, "evt.is_async": 0,
	} {
		f, _ := Builtin().Lookup(name)
		if got, ok := f.Number(ev); !ok || got != want {
			t.Errorf("%s: Number = %d, %v; want %d", name, got, ok, want)
		}
	}
}

func TestParseArg(t *testing.T) {
	for _, c := range []struct {
		field, arg string
		has        bool
		want       Arg
		err        string
	}{
		{field: "ka.verb"},
		{field: "ka.verb", arg: "x", has: true, err: "ka.verb does not allow nor require an argument but one is provided: x"},
		{field: "ka.verb", arg: "", has: true, err: "ka.verb does not allow nor require an argument but one is provided: "},
		{field: "ka.uri.param", err: "ka.uri.param requires an argument but none provided"},
		{field: "jevt.value", err: "jevt.value requires an argument but none provided"},
		{field: "ka.uri.param", arg: "a b", has: true, want: Arg{Text: "a b", Has: true}},
		{field: "jevt.value", arg: "", has: true, want: Arg{Has: true}},
		{field: "ka.req.volume.hostpath", arg: "/etc*", has: true, want: Arg{Text: "/etc*", Has: true}},
		{field: "ka.sourceips"},
		{field: "ka.sourceips", arg: "0", has: true, want: Arg{Text: "0", Has: true, HasIndex: true}},
		{field: "ka.sourceips", arg: "12", has: true, want: Arg{Text: "12", Index: 12, Has: true, HasIndex: true}},
		{field: "ka.sourceips", arg: "012", has: true, err: "ka.sourceips has an invalid index argument starting with 0: 012"},
		{field: "ka.sourceips", arg: "", has: true, err: "ka.sourceips has an invalid index argument starting with 0: "},
		{field: "ka.sourceips", arg: "-1", has: true, err: "ka.sourceips has an invalid index argument not composed only by digits: -1"},
		{field: "ka.sourceips", arg: "0x1", has: true, err: "ka.sourceips has an invalid index argument not composed only by digits: 0x1"},
		{field: "ka.sourceips", arg: "a", has: true, err: "ka.sourceips has an invalid index argument not composed only by digits: a"},
		{field: "ka.sourceips", arg: "99999999999999999999", has: true, err: "ka.sourceips has an invalid index argument not representable on 64 bit: 99999999999999999999"},
		{field: "ka.sourceips", arg: "18446744073709551615", has: true, want: Arg{Text: "18446744073709551615", Index: int(^uint(0) >> 1), Has: true, HasIndex: true}},
	} {
		f, _ := Builtin().Lookup(c.field)
		got, err := f.ParseArg(c.arg, c.has)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s[%s]: error %v; want %q", c.field, c.arg, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s[%s]: unexpected error %v", c.field, c.arg, err)
		case c.err == "" && got != c.want:
			t.Errorf("%s[%s]: %+v; want %+v", c.field, c.arg, got, c.want)
		}
	}
}

func TestWithAndStatic(t *testing.T) {
	base := Builtin()
	n := len(base.All())
	tab := base.With(Static("env", "prod"), Static("ka.verb", "shadowed"))
	if len(base.All()) != n {
		t.Fatal("With changed the table it extends")
	}
	if len(tab.All()) != n+1 {
		t.Fatalf("With: %d fields; want %d", len(tab.All()), n+1)
	}
	ev := audit.New([]byte(`{}`), t0)
	env, ok := tab.Lookup("env")
	if !ok || env.Type != String || env.List || env.Arg != ArgNone || env.Doc == "" {
		t.Fatalf("static field: %+v", env)
	}
	if got := env.Extract(ev, &Arg{}, nil); !slices.Equal(got, []string{"prod"}) {
		t.Errorf("static field: %q", got)
	}
	verb, _ := tab.Lookup("ka.verb")
	if got := verb.Extract(ev, &Arg{}, nil); !slices.Equal(got, []string{"shadowed"}) {
		t.Errorf("a static field named like a built-in one must replace it; got %q", got)
	}
	if i := slices.Index(tab.All(), verb); i != slices.IndexFunc(base.All(), func(f *Field) bool { return f.Name == "ka.verb" }) {
		t.Errorf("the replacement moved to position %d", i)
	}
	if _, ok := base.Lookup("env"); ok {
		t.Error("With changed the built-in table")
	}
}

func TestLongestPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"ka.user.namex":                           "ka.user.name",
		"ka.req.pod.containers.image.repo":        "ka.req.pod.containers.image",
		"ka.req.pod.containers.image.repository)": "ka.req.pod.containers.image.repository",
		"evt.time.iso8601 ":                       "evt.time.iso8601",
		"jevt.value[/x]":                          "jevt.value",
	} {
		f, ok := Builtin().LongestPrefix(in)
		if !ok || f.Name != want {
			t.Errorf("LongestPrefix(%q) = %v; want %s", in, f, want)
		}
	}
	if _, ok := Builtin().LongestPrefix("proc.name"); ok {
		t.Error("LongestPrefix found a field in proc.name")
	}
}

func TestNilArg(t *testing.T) {
	// The compiler passes an Arg, but a nil one must not crash anything.
	ev := audit.New([]byte(spec(volumes)), t0)
	for _, f := range Builtin().All() {
		f.Extract(ev, nil, nil)
	}
}

func TestRepository(t *testing.T) {
	for in, want := range map[string]string{
		"nginx": "nginx", "nginx:1.2": "nginx", "reg:5000/app:1": "reg:5000/app", "reg:5000/app": "reg:5000/app",
		"repo@sha256:ab": "repo", "a/b:c@sha256:d": "a/b", "reg:5000": "reg", "": "", ":x": "", "a/b/": "a/b/",
	} {
		if got := repository(in); got != want {
			t.Errorf("repository(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestExistsAgreesWithExtract: a field's Exists says what Extract would,
// on audit events and on JSON that is not one.
func TestExistsAgreesWithExtract(t *testing.T) {
	var evs []*audit.Event
	for _, raw := range []string{`{"kind":"Event","auditID":"a","stageTimestamp":"2024-01-01T00:00:00Z"}`, `{"x":1}`, `{}`} {
		evs = append(evs, audit.New([]byte(raw), 1704067200000000000))
	}
	for _, f := range Builtin().All() {
		if f.Exists == nil {
			continue
		}
		for _, ev := range evs {
			if got, want := f.Exists(ev), len(f.Extract(ev, &Arg{}, nil)) > 0; got != want {
				t.Errorf("%s on %s: Exists %v, Extract gives a value %v", f.Name, ev.Raw, got, want)
			}
		}
	}
}

// TestDecimalStringFields: a string field with Number writes that number in
// decimal, which is what lets equality tests compare numbers.
func TestDecimalStringFields(t *testing.T) {
	ev := audit.New([]byte(`{"kind":"Event","auditID":"a"}`), 1704067200123456789)
	for _, f := range Builtin().All() {
		if f.Type != String || f.Number == nil {
			continue
		}
		n, ok := f.Number(ev)
		vs := f.Extract(ev, &Arg{}, nil)
		if !ok || len(vs) != 1 || vs[0] != strconv.FormatUint(n, 10) {
			t.Errorf("%s: text %v, number %d %v", f.Name, vs, n, ok)
		}
	}
}
