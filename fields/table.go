package fields

import (
	"strings"
)

// Table is a set of fields that rules may use, looked up by name. The
// built-in table is shared and read-only; With makes extended copies.
type Table struct {
	fields []*Field
	byName map[string]*Field
}

// newTable indexes fields by name; a later field replaces an earlier one of
// the same name, keeping the earlier one's position.
func newTable(fields []*Field) *Table {
	t := &Table{byName: make(map[string]*Field, len(fields))}
	for _, f := range fields {
		if _, dup := t.byName[f.Name]; dup {
			for i, g := range t.fields {
				if g.Name == f.Name {
					t.fields[i] = f
				}
			}
		} else {
			t.fields = append(t.fields, f)
		}
		t.byName[f.Name] = f
	}
	return t
}

var builtinTable = newTable(builtin)

// Builtin returns the table of every field Peregrine knows for the
// k8s_audit source. Callers must not modify it or its fields.
func Builtin() *Table { return builtinTable }

// Lookup returns the field called exactly name (without any [argument]).
func (t *Table) Lookup(name string) (*Field, bool) {
	f, ok := t.byName[name]
	return f, ok
}

// LongestPrefix returns the field with the longest name that s starts
// with, as Falco resolves a %token in an output (so "%ka.user.namex" is
// ka.user.name followed by "x").
func (t *Table) LongestPrefix(s string) (*Field, bool) {
	var best *Field
	for _, f := range t.fields {
		if strings.HasPrefix(s, f.Name) && (best == nil || len(f.Name) > len(best.Name)) {
			best = f
		}
	}
	return best, best != nil
}

// All returns the fields in table order. The slice is shared: do not
// modify it.
func (t *Table) All() []*Field { return t.fields }

// With returns a new table with extra fields added after t's (e.g. the
// static_fields of falco.yaml). An extra field with the name of an
// existing one replaces it.
func (t *Table) With(extra ...*Field) *Table {
	all := make([]*Field, 0, len(t.fields)+len(extra))
	return newTable(append(append(all, t.fields...), extra...))
}

// Static returns a field that always has the text value, as configured
// under static_fields in falco.yaml.
func Static(name, value string) *Field {
	return &Field{
		Name:    name,
		Type:    String,
		Doc:     "Static field set in the configuration (static_fields); always " + quote(value) + ".",
		Extract: constant(value),
	}
}

func quote(s string) string { return `"` + s + `"` }

// builtin is the one table of fields: the name, type, argument and
// description of each field and how it is extracted. The compiler, the
// output formatter, `peregrine fields` and docs/FIELDS.md all read it.
var builtin = join(kaFields, podContainerFields(), extensionFields, jsonFields, evtFields)

// kaFields are the k8saudit plugin's fields, except the per-container ones.
// Every one is a string and has no value for JSON without an auditID.
var kaFields = []*Field{
	{Name: "ka.auditid", Doc: "Unique ID the API server gave the audit event.", Extract: top("auditID")},
	{Name: "ka.stage", Doc: "Stage of the request the event records: RequestReceived, ResponseStarted, ResponseComplete or Panic.", Extract: top("stage")},
	{Name: "ka.auth.decision", Doc: "Authorization decision for the request (allow or forbid), from the event's annotations.", Extract: top("annotations", "authorization.k8s.io/decision")},
	{Name: "ka.auth.reason", Doc: "Why the authorizer decided as it did, from the event's annotations.", Extract: top("annotations", "authorization.k8s.io/reason")},
	{Name: "ka.auth.openshift.decision", Doc: "Authentication decision of the OpenShift API server (OpenShift clusters only).", Extract: top("annotations", "authentication.openshift.io/decision")},
	{Name: "ka.auth.openshift.username", Doc: "User name the OpenShift API server authenticated (OpenShift clusters only).", Extract: top("annotations", "authentication.openshift.io/username")},
	{Name: "ka.validations.admission.policy.failure", Doc: "Why a ValidatingAdmissionPolicy rejected or warned about the request, from the event's annotations.", Extract: top("annotations", "validation.policy.admission.k8s.io/validation_failure")},
	{Name: "ka.security.pod.violations", Doc: "Pod Security admission violations found for the request, from the event's annotations.", Extract: top("annotations", "pod-security.kubernetes.io/audit-violations")},
	{Name: "ka.user.name", Doc: "User who made the request.", Extract: top("user", "username")},
	{Name: "ka.user.groups", List: true, Doc: "Groups of the user who made the request.", Extract: topList("user", "groups")},
	{Name: "ka.impuser.name", Doc: "User the requester impersonated, if any.", Extract: top("impersonatedUser", "username")},
	{Name: "ka.verb", Doc: "Verb of the request (get, list, watch, create, update, patch, delete, ...).", Extract: top("verb")},
	{Name: "ka.uri", Doc: "Request URI as the client sent it, path and query.", Extract: top("requestURI")},
	{Name: "ka.uri.param", Arg: ArgKey, ArgRequired: true, Doc: "First value of one query parameter of the request URI: for /api?watch=true, ka.uri.param[watch] is true. No value when the query does not parse.", Extract: uriParam},
	{Name: "ka.target.name", Doc: "Name of the object the request acts on.", Extract: top("objectRef", "name")},
	{Name: "ka.target.namespace", Doc: "Namespace of the object the request acts on.", Extract: top("objectRef", "namespace")},
	{Name: "ka.target.resource", Doc: "Resource type the request acts on (pods, secrets, clusterrolebindings, ...).", Extract: top("objectRef", "resource")},
	{Name: "ka.target.subresource", Doc: "Subresource the request acts on (exec, attach, log, status, ...).", Extract: top("objectRef", "subresource")},
	{Name: "ka.target.pod.name", Doc: "Name of the pod in the response, for requests on pods themselves (not on a pod subresource).", Extract: targetPodName},
	{Name: "ka.req.binding.subjects", List: true, Doc: "Subjects of a role binding in the request, each as compact JSON.", Extract: topList("requestObject", "subjects")},
	{Name: "ka.req.binding.subjects.user_names", List: true, Doc: "Names of the User subjects of a role binding in the request.", Extract: subjectNames("User", false)},
	{Name: "ka.req.binding.subjects.serviceaccount_names", List: true, Doc: "Names of the ServiceAccount subjects of a role binding in the request.", Extract: subjectNames("ServiceAccount", false)},
	{Name: "ka.req.binding.subjects.serviceaccount_ns_names", List: true, Doc: "ServiceAccount subjects of a role binding in the request, as namespace:name (for example kube-system:default).", Extract: subjectNames("ServiceAccount", true)},
	{Name: "ka.req.binding.subjects.group_names", List: true, Doc: "Names of the Group subjects of a role binding in the request.", Extract: subjectNames("Group", false)},
	{Name: "ka.req.binding.role", Doc: "Name of the role a role binding in the request refers to.", Extract: top("requestObject", "roleRef", "name")},
	{Name: "ka.req.binding.subject.has_name", Arg: ArgKey, ArgRequired: true, Deprecated: true, Doc: "Deprecated; kept so old rules load. Always \"true\", whatever the argument; use ka.req.binding.subjects.* instead.", Extract: hasName},
	{Name: "ka.req.configmap.name", Doc: "Name of the target object, meant for configmap requests (the resource is not checked).", Extract: top("objectRef", "name")},
	{Name: "ka.req.configmap.obj", Doc: "The data of a configmap in the request, as compact JSON.", Extract: top("requestObject", "data")},
	{Name: "ka.req.container.image", Deprecated: true, Doc: "Deprecated: use ka.req.pod.containers.image. Image of the first container of a pod in the request.", Extract: firstContainer(false)},
	{Name: "ka.req.container.image.repository", Deprecated: true, Doc: "Deprecated: use ka.req.pod.containers.image.repository. Image repository of the first container of a pod in the request.", Extract: firstContainer(true)},
	{Name: "ka.req.pod.host_ipc", Doc: "hostIPC setting of a pod in the request (true or false).", Extract: top("requestObject", "spec", "hostIPC")},
	{Name: "ka.req.pod.host_network", Doc: "hostNetwork setting of a pod in the request (true or false).", Extract: top("requestObject", "spec", "hostNetwork")},
	{Name: "ka.req.container.host_network", Deprecated: true, Doc: "Deprecated: the same as ka.req.pod.host_network.", Extract: top("requestObject", "spec", "hostNetwork")},
	{Name: "ka.req.pod.host_pid", Doc: "hostPID setting of a pod in the request (true or false).", Extract: top("requestObject", "spec", "hostPID")},
	{Name: "ka.req.container.privileged", Deprecated: true, Doc: "Deprecated: use ka.req.pod.containers.privileged. \"true\" when any container of a pod in the request is privileged, else \"false\".", Extract: anyPrivileged},
	{Name: "ka.req.pod.run_as_user", Doc: "runAsUser of the pod-level security context of a pod in the request; containers may override it (see ka.req.pod.containers.eff_run_as_user).", Extract: top("requestObject", "spec", "securityContext", "runAsUser")},
	{Name: "ka.req.pod.run_as_group", Doc: "runAsGroup of the pod-level security context of a pod in the request; containers may override it (see ka.req.pod.containers.eff_run_as_group).", Extract: top("requestObject", "spec", "securityContext", "runAsGroup")},
	{Name: "ka.req.pod.fs_group", Doc: "fsGroup of the pod-level security context of a pod in the request.", Extract: top("requestObject", "spec", "securityContext", "fsGroup")},
	{Name: "ka.req.pod.supplemental_groups", List: true, Doc: "supplementalGroups of the pod-level security context of a pod in the request.", Extract: topList("requestObject", "spec", "securityContext", "supplementalGroups")},
	{Name: "ka.req.role.rules", List: true, Doc: "Rules of a Role or ClusterRole in the request, each as compact JSON.", Extract: topList("requestObject", "rules")},
	{Name: "ka.req.role.rules.apiGroups", List: true, Arg: ArgIndex, Doc: "API groups named by the rules of a role in the request; [i] takes only rule i.", Extract: rulesField("apiGroups")},
	{Name: "ka.req.role.rules.nonResourceURLs", List: true, Arg: ArgIndex, Doc: "Non-resource URLs named by the rules of a role in the request; [i] takes only rule i.", Extract: rulesField("nonResourceURLs")},
	{Name: "ka.req.role.rules.verbs", List: true, Arg: ArgIndex, Doc: "Verbs granted by the rules of a role in the request; [i] takes only rule i.", Extract: rulesField("verbs")},
	{Name: "ka.req.role.rules.resources", List: true, Arg: ArgIndex, Doc: "Resources named by the rules of a role in the request; [i] takes only rule i.", Extract: rulesField("resources")},
	{Name: "ka.req.service.type", Doc: "Type of a service in the request (ClusterIP, NodePort, LoadBalancer, ExternalName).", Extract: top("requestObject", "spec", "type")},
	{Name: "ka.req.service.ports", List: true, Arg: ArgIndex, Doc: "Ports of a service in the request, each port as compact JSON; [i] takes port i.", Extract: servicePorts},
	{Name: "ka.req.pod.volumes.hostpath", List: true, Arg: ArgIndex, Doc: "Host paths mounted by the hostPath volumes of a pod in the request; [i] takes volume i.", Extract: walkTexts("spec", "volumes", "hostPath", "path")},
	{Name: "ka.req.volume.hostpath", Arg: ArgKey, ArgRequired: true, Deprecated: true, Doc: "Deprecated: use ka.req.pod.volumes.hostpath. \"true\" when a hostPath volume of a pod in the request mounts exactly the argument, or a path starting with it when the argument ends in *; else \"false\".", Extract: volumeHostPath},
	{Name: "ka.req.pod.volumes.flexvolume_driver", List: true, Arg: ArgIndex, Doc: "Drivers of the flexVolume volumes of a pod in the request; [i] takes volume i.", Extract: walkTexts("spec", "volumes", "flexVolume", "driver")},
	{Name: "ka.req.pod.volumes.volume_type", List: true, Arg: ArgIndex, Doc: "Kinds of the volumes of a pod in the request (hostPath, configMap, secret, ...): every key of each volume except name; [i] takes volume i.", Extract: volumeTypes},
	{Name: "ka.resp.name", Doc: "Name of the object in the response.", Extract: top("responseObject", "metadata", "name")},
	{Name: "ka.response.code", Doc: "HTTP status code of the response, e.g. 201. A string: < and > compare it as text.", Extract: top("responseStatus", "code")},
	{Name: "ka.response.reason", Doc: "Reason given with the response status, mostly for failures.", Extract: top("responseStatus", "reason")},
	{Name: "ka.useragent", Doc: "User agent of the client that made the request.", Extract: top("userAgent")},
	{Name: "ka.sourceips", List: true, Arg: ArgIndex, Doc: "IP addresses the request came from (the client and any proxies); [i] takes address i.", Extract: sourceIPs},
	{Name: "ka.cluster.name", Doc: "Name of the cluster: the event's cluster_name annotation, else the name its source gives it.", Extract: clusterName},
}

// containerSub is one per-container field, defined once for the three
// container lists of a pod spec.
type containerSub struct {
	name string
	// doc describes the field; "LIST" stands for the list's wording, e.g.
	// "init containers".
	doc     string
	extract func(list string) Extractor
	// appOnly: the field exists for containers and initContainers only
	// (ephemeral containers may not declare ports).
	appOnly bool
}

var containerSubs = []containerSub{
	{name: "name", doc: "Names of the LIST of a pod in the request; no value if one of them has no name.",
		extract: func(l string) Extractor { return containerTexts(l, "name", nil) }},
	{name: "image", doc: "Images of the LIST of a pod in the request; no value if one of them has no image.",
		extract: func(l string) Extractor { return containerTexts(l, "image", nil) }},
	{name: "image.repository", doc: "Image repositories of the LIST of a pod in the request: the image without tag and digest, e.g. falcosecurity/falco.",
		extract: func(l string) Extractor { return containerTexts(l, "image", repository) }},
	{name: "command", doc: "Commands of the LIST of a pod in the request, each joined with spaces; LIST without a command are left out.",
		extract: func(l string) Extractor { return containerArgv(l, "command") }},
	{name: "args", doc: "Arguments of the LIST of a pod in the request, each container's joined with spaces; LIST without args are left out.",
		extract: func(l string) Extractor { return containerArgv(l, "args") }},
	{name: "privileged", doc: "The privileged flag of each of the LIST of a pod in the request (securityContext.privileged); LIST that do not set it are left out.",
		extract: func(l string) Extractor { return containerSecurity(l, "privileged") }},
	{name: "allow_privilege_escalation", doc: "The allowPrivilegeEscalation flag of each of the LIST of a pod in the request (securityContext.allowPrivilegeEscalation); LIST that do not set it are left out.",
		extract: func(l string) Extractor { return containerSecurity(l, "allowPrivilegeEscalation") }},
	{name: "read_only_fs", doc: "The readOnlyRootFilesystem flag of each of the LIST of a pod in the request (securityContext.readOnlyRootFilesystem); LIST that do not set it are left out.",
		extract: func(l string) Extractor { return containerSecurity(l, "readOnlyRootFilesystem") }},
	{name: "run_as_user", doc: "The runAsUser user ID of each of the LIST of a pod in the request (securityContext.runAsUser); LIST that do not set it are left out.",
		extract: func(l string) Extractor { return containerSecurity(l, "runAsUser") }},
	{name: "eff_run_as_user", doc: "User ID each of the LIST of a pod in the request will run as: its own runAsUser, else the pod's, else 0.",
		extract: func(l string) Extractor { return containerEffective(l, "runAsUser") }},
	{name: "run_as_group", doc: "The runAsGroup group ID of each of the LIST of a pod in the request (securityContext.runAsGroup); LIST that do not set it are left out.",
		extract: func(l string) Extractor { return containerSecurity(l, "runAsGroup") }},
	{name: "eff_run_as_group", doc: "Group ID each of the LIST of a pod in the request will run as: its own runAsGroup, else the pod's, else 0.",
		extract: func(l string) Extractor { return containerEffective(l, "runAsGroup") }},
	{name: "proc_mount", doc: "The procMount type of each of the LIST of a pod in the request (securityContext.procMount); LIST that do not set it are left out.",
		extract: func(l string) Extractor { return containerSecurity(l, "procMount") }},
	{name: "add_capabilities", doc: "Capabilities the LIST of a pod in the request add, one per element.",
		extract: containerCaps},
	{name: "host_port", doc: "Host ports of the LIST of a pod in the request: each port's hostPort, else its containerPort.",
		extract: containerHostPorts, appOnly: true},
}

// containerLists are the container lists of a pod spec and how the docs
// call them.
var containerLists = []struct{ key, words string }{
	{"containers", "containers"},
	{"initContainers", "init containers"},
	{"ephemeralContainers", "ephemeral containers"},
}

// podContainerFields expands containerSubs for every container list. Each
// field takes an optional index that picks container i of its list.
func podContainerFields() []*Field {
	var out []*Field
	for _, l := range containerLists {
		for _, s := range containerSubs {
			if s.appOnly && l.key == "ephemeralContainers" {
				continue
			}
			out = append(out, &Field{
				Name:    "ka.req.pod." + l.key + "." + s.name,
				List:    true,
				Arg:     ArgIndex,
				Doc:     strings.ReplaceAll(s.doc, "LIST", l.words) + " [i] takes container i.",
				Extract: s.extract(l.key),
			})
		}
	}
	return out
}

// extensionFields are Peregrine's own fields.
var extensionFields = []*Field{
	{Name: "ka.req", Extension: true, Doc: "The whole request object, as compact JSON.", Extract: objectJSON("requestObject")},
	{Name: "ka.resp", Extension: true, Doc: "The whole response object, as compact JSON.", Extract: objectJSON("responseObject")},
	{Name: "ka.req.csr.subject.cn", Extension: true, Doc: "Subject common name (the user name it would authenticate as) of the PKCS#10 request in spec.request of a certificatesigningrequests request object; no value when the request is absent or does not parse.", Extract: csrSubjectCN},
	{Name: "ka.req.csr.subject.o", Extension: true, List: true, Doc: "Subject organizations (the groups it would authenticate with) of the PKCS#10 request in spec.request of a certificatesigningrequests request object; no value when the request is absent or does not parse.", Extract: csrSubjectO},
}

// jsonFields are the json plugin's fields, which read any JSON event, and
// their older jevt.* names.
var jsonFields = []*Field{
	{Name: "json.value", Arg: ArgKey, ArgRequired: true, Doc: "Value at a JSON pointer (RFC 6901) into the event, e.g. json.value[/objectRef/resource]; strings as their text, other values as compact JSON.", Extract: jsonValue},
	{Name: "json.obj", Doc: "The whole event as indented JSON.", Extract: jsonObj},
	{Name: "json.rawtime", Doc: "Event time in nanoseconds since the epoch, as a string (so = and < compare text).", Extract: jsonRawtime, Exists: always, Number: rawtimeNumber},
	{Name: "jevt.value", Arg: ArgKey, ArgRequired: true, Doc: "Older name of json.value.", Extract: jsonValue},
	{Name: "jevt.obj", Doc: "Older name of json.obj.", Extract: jsonObj},
	{Name: "jevt.rawtime", Doc: "Older name of json.rawtime.", Extract: jsonRawtime, Exists: always, Number: rawtimeNumber},
}

// evtFields are what Falco itself provides for every plugin event.
var evtFields = []*Field{
	uintField("evt.num", "Sequence number of the event in its stream, from 1.", evtNum),
	timeField("evt.time", "Event time (the audit stageTimestamp) as local time of day, HH:MM:SS.nnnnnnnnn.", fmtTime),
	timeField("evt.time.s", "Event time as local time of day in whole seconds, HH:MM:SS.", fmtTimeS),
	timeField("evt.time.iso8601", "Event time in UTC, YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000.", fmtISO8601),
	timeField("evt.datetime", "Event time as local date and time, YYYY-MM-DD HH:MM:SS.nnnnnnnnn.", fmtDatetime),
	timeField("evt.datetime.s", "Event time as local date and time in whole seconds, YYYY-MM-DD HH:MM:SS.", fmtDatetimeS),
	uintField("evt.rawtime", "Event time in nanoseconds since the epoch.", rawtime),
	uintField("evt.rawtime.s", "Whole seconds of evt.rawtime.", rawtimeS),
	uintField("evt.rawtime.ns", "Nanoseconds part of evt.rawtime (below one second).", rawtimeNs),
	uintField("evt.reltime", "Nanoseconds since the first event of the stream.", reltime),
	uintField("evt.reltime.s", "Whole seconds of evt.reltime.", reltimeS),
	uintField("evt.reltime.ns", "Nanoseconds part of evt.reltime (below one second).", reltimeNs),
	{Name: "evt.pluginname", Doc: "Name of the plugin the event comes from: k8saudit.", Extract: constant("k8saudit")},
	{Name: "evt.plugininfo", Doc: "The event as the plugin presents it: its compact JSON.", Extract: pluginInfo},
	{Name: "evt.source", Doc: "Event source of the rules that see the event: k8s_audit.", Extract: constant("k8s_audit")},
	{Name: "evt.is_async", Type: Bool, Doc: "Whether the event is asynchronous; always false for audit events.", Extract: constant("false"), Number: isAsync},
	{Name: "evt.asynctype", Doc: "Type of an asynchronous event; audit events never have one.", Extract: none},
	{Name: "evt.hostname", Doc: "Host name of the machine Peregrine runs on, or FALCO_HOSTNAME when set.", Extract: hostnameField},
}

func join(parts ...[]*Field) []*Field {
	var out []*Field
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
