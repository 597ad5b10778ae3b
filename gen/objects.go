package gen

import "strconv"

// meta is an object's metadata as the generator varies it.
type meta struct {
	name, generateName, ns, uid string
	labels, annotations         string // JSON objects, or ""
	owner                       string // ownerReferences JSON array, or ""
	generation                  int64
	created                     int64 // seconds since the epoch
	deleted                     int64 // deletionTimestamp, seconds; 0: none
	manager, operation          string
	apiVersion                  string
	fields                      string // the managedFields fieldsV1 object
}

// appendMeta writes metadata. A request body (full false) has what a client
// sends; a response body has what the API server stored.
func (g *Generator) appendMeta(dst []byte, m *meta, full bool) []byte {
	dst = append(dst, `"metadata":{`...)
	if m.name != "" && (full || m.generateName == "") {
		dst = appendKV(dst, "name", m.name, false)
	}
	if m.generateName != "" {
		dst = appendKV(dst, "generateName", m.generateName, m.name != "" && full)
	}
	if m.ns != "" {
		dst = appendKV(dst, "namespace", m.ns, true)
	}
	if full {
		dst = appendKV(dst, "uid", m.uid, true)
		dst = append(dst, `,"resourceVersion":"`...)
		dst = strconv.AppendInt(dst, g.nextRV(), 10)
		dst = append(dst, '"')
		if m.generation > 0 {
			dst = append(dst, `,"generation":`...)
			dst = strconv.AppendInt(dst, m.generation, 10)
		}
		dst = append(dst, `,"creationTimestamp":"`...)
		dst = g.objClk.appendSec(dst, m.created)
		dst = append(dst, '"')
		if m.deleted > 0 {
			dst = append(dst, `,"deletionTimestamp":"`...)
			dst = g.objClk.appendSec(dst, m.deleted)
			dst = append(dst, `","deletionGracePeriodSeconds":0`...)
		}
	} else if m.generateName != "" {
		dst = append(dst, `,"creationTimestamp":null`...)
	}
	dst = appendRaw(dst, "labels", m.labels)
	dst = appendRaw(dst, "annotations", m.annotations)
	dst = appendRaw(dst, "ownerReferences", m.owner)
	if full && m.manager != "" {
		dst = g.appendManaged(dst, m)
	}
	return append(dst, '}')
}

func (g *Generator) appendManaged(dst []byte, m *meta) []byte {
	dst = append(dst, `,"managedFields":[{"manager":"`...)
	dst = append(dst, m.manager...)
	dst = append(dst, `","operation":"`...)
	dst = append(dst, m.operation...)
	dst = append(dst, `","apiVersion":"`...)
	dst = append(dst, m.apiVersion...)
	dst = append(dst, `","time":"`...)
	dst = g.objClk.appendSec(dst, g.now/1e6)
	dst = append(dst, `","fieldsType":"FieldsV1","fieldsV1":`...)
	if m.fields == "" {
		dst = append(dst, `{"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/instance":{},"f:app.kubernetes.io/name":{}}}}`...)
	} else {
		dst = append(dst, m.fields...)
	}
	return append(dst, "}]"...)
}

// appendKV writes "key":"value", with a comma first unless it opens an
// object.
func appendKV(dst []byte, key, val string, comma bool) []byte {
	if comma {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, `":"`...)
	dst = append(dst, val...)
	return append(dst, '"')
}

// appendRaw writes ,"key":raw when raw is not empty.
func appendRaw(dst []byte, key, raw string) []byte {
	if raw == "" {
		return dst
	}
	dst = append(dst, `,"`...)
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	return append(dst, raw...)
}

// appendHead writes {"kind":KIND,"apiVersion":VERSION, as every object
// begins.
func appendHead(dst []byte, r *resource) []byte {
	dst = append(dst, `{"kind":"`...)
	dst = append(dst, r.kind...)
	dst = append(dst, `","apiVersion":"`...)
	dst = append(dst, r.apiVersion()...)
	return append(dst, `",`...)
}

// created is when an object was made: hours to weeks before now.
func (g *Generator) created() int64 {
	return g.now/1e6 - int64(g.r.between(3600, 30*86400))
}

func ownerRef(kind, name, uid string) string {
	return `[{"apiVersion":"apps/v1","kind":"` + kind + `","name":"` + name + `","uid":"` + uid + `","controller":true,"blockOwnerDeletion":true}]`
}

// appendPod writes a pod of app a: spec is the request or full form.
func (g *Generator) appendPod(dst []byte, m *meta, spec []byte, full bool) []byte {
	dst = appendHead(dst, rPods)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"spec":`...)
	dst = append(dst, spec...)
	if full {
		return append(dst, `,"status":{"phase":"Pending","qosClass":"Burstable"}}`...)
	}
	return append(dst, `,"status":{}}`...)
}

// podMeta is the metadata of pod p as its controller creates it.
func (g *Generator) podMeta(p *pod) *meta {
	a := p.app
	m := &meta{name: p.name, ns: a.ns, uid: p.uid, labels: a.podLabels, created: g.now / 1e6,
		manager: "kube-controller-manager", operation: "Update", apiVersion: "v1"}
	switch a.kind {
	case "Deployment":
		m.generateName = a.name + "-" + a.hash + "-"
		m.owner = ownerRef("ReplicaSet", a.name+"-"+a.hash, a.rsUID)
	case "DaemonSet":
		m.generateName = a.name + "-"
		m.owner = ownerRef("DaemonSet", a.name, a.uid)
	default:
		m.owner = ownerRef("StatefulSet", a.name, a.uid)
	}
	return m
}

// appendWorkloadSpec writes a Deployment, StatefulSet or DaemonSet spec
// around the app's pod template.
func appendWorkloadSpec(dst []byte, a *app, replicas int, podSpec []byte) []byte {
	dst = append(dst, `"spec":{`...)
	if a.kind != "DaemonSet" {
		dst = append(dst, `"replicas":`...)
		dst = strconv.AppendInt(dst, int64(replicas), 10)
		dst = append(dst, ',')
	}
	dst = append(dst, `"selector":{"matchLabels":{"app.kubernetes.io/name":"`...)
	dst = append(dst, a.name...)
	dst = append(dst, `"}},"template":{"metadata":{"creationTimestamp":null,"labels":`...)
	dst = append(dst, a.labels...)
	dst = append(dst, `},"spec":`...)
	dst = append(dst, podSpec...)
	switch a.kind {
	case "Deployment":
		dst = append(dst, `},"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}},"revisionHistoryLimit":10,"progressDeadlineSeconds":600}`...)
	case "StatefulSet":
		dst = append(dst, `},"serviceName":"`...)
		dst = append(dst, a.name...)
		dst = append(dst, `","podManagementPolicy":"OrderedReady","updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}},"revisionHistoryLimit":10,"persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain","whenScaled":"Retain"}}`...)
	default:
		dst = append(dst, `},"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}},"revisionHistoryLimit":10}`...)
	}
	return dst
}

// appendWorkloadStatus writes a healthy workload's status.
func (g *Generator) appendWorkloadStatus(dst []byte, a *app, replicas int, generation int64) []byte {
	n := strconv.Itoa(replicas)
	if a.kind == "DaemonSet" {
		dst = append(dst, `,"status":{"currentNumberScheduled":`+n+`,"numberMisscheduled":0,"desiredNumberScheduled":`+n+`,"numberReady":`+n+`,"observedGeneration":`...)
		dst = strconv.AppendInt(dst, generation, 10)
		return append(dst, `,"updatedNumberScheduled":`+n+`,"numberAvailable":`+n+`}`...)
	}
	dst = append(dst, `,"status":{"observedGeneration":`...)
	dst = strconv.AppendInt(dst, generation, 10)
	dst = append(dst, `,"replicas":`+n+`,"updatedReplicas":`+n+`,"readyReplicas":`+n+`,"availableReplicas":`+n...)
	if a.kind != "Deployment" {
		return append(dst, `,"currentReplicas":`+n+`}`...)
	}
	dst = append(dst, `,"conditions":[{"type":"Available","status":"True","lastUpdateTime":"`...)
	dst = g.objClk.appendSec(dst, g.now/1e6-86400)
	dst = append(dst, `","lastTransitionTime":"`...)
	dst = g.objClk.appendSec(dst, g.now/1e6-86400)
	dst = append(dst, `","reason":"MinimumReplicasAvailable","message":"Deployment has minimum availability."},{"type":"Progressing","status":"True","lastUpdateTime":"`...)
	dst = g.objClk.appendSec(dst, g.now/1e6)
	dst = append(dst, `","lastTransitionTime":"`...)
	dst = g.objClk.appendSec(dst, g.now/1e6-86400)
	dst = append(dst, `","reason":"NewReplicaSetAvailable","message":"ReplicaSet \"`...)
	dst = append(dst, a.name...)
	dst = append(dst, '-')
	dst = append(dst, a.hash...)
	return append(dst, `\" has successfully progressed."}]}`...)
}

func workloadResource(a *app) *resource {
	switch a.kind {
	case "DaemonSet":
		return rDaemonSets
	case "StatefulSet":
		return rSTS
	}
	return rDeployments
}

// appendWorkload writes app a's workload object.
func (g *Generator) appendWorkload(dst []byte, a *app, m *meta, replicas int, podSpec []byte, full bool) []byte {
	dst = appendHead(dst, workloadResource(a))
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, ',')
	dst = appendWorkloadSpec(dst, a, replicas, podSpec)
	if full {
		dst = g.appendWorkloadStatus(dst, a, replicas, m.generation)
	}
	return append(dst, '}')
}

func (g *Generator) workloadMeta(a *app, manager string) *meta {
	return &meta{name: a.name, ns: a.ns, uid: a.uid, labels: a.labels, generation: int64(g.r.between(2, 60)),
		created: g.created(), manager: manager, operation: "Update", apiVersion: "apps/v1",
		annotations: `{"deployment.kubernetes.io/revision":"` + strconv.Itoa(g.r.between(2, 40)) + `"}`}
}
