package gen

import "strconv"

// writeBehaviors are the RequestResponse writes with full bodies.
var writeBehaviors = []behavior{
	{10, podCreate},
	{6, podDelete},
	{4, replicaSetWrite},
	{6, workloadPatch},
	{5, configMapWrite},
	{2, secretWrite},
	{1.5, jobCreate},
	{1, cronJobPatch},
	{1, func(g *Generator) { g.deleteJob(g.c.ctrl["ttl-after-finished-controller"]) }},
	{0.5, func(g *Generator) { a := g.app(); g.serviceAccountCreate(g.c.operators["argocd"], a.ns, a.sa+"-sync") }},
	{0.5, func(g *Generator) { g.roleCreate(g.c.operators["argocd"], benignRoleRules, false) }},
	{0.5, func(g *Generator) {
		a := g.app()
		g.bindingCreate(g.c.operators["argocd"], rRBs, a.ns, a.name+"-leader-election", "Role", a.name+"-leader-election", saSubject(a.sa, a.ns))
	}},
	{0.3, func(g *Generator) { g.roleCreate(g.c.operators["argocd"], operatorClusterRules, true) }},
	{0.3, func(g *Generator) {
		a := g.app()
		g.bindingCreate(g.c.operators["argocd"], rCRBs, "", a.ns+"-"+a.name+"-view", "ClusterRole", "view", saSubject(a.sa, a.ns))
	}},
	{0.5, func(g *Generator) { a := g.app(); g.serviceCreate(g.c.operators["argocd"], a.ns, a.name, "ClusterIP") }},
	{0.3, func(g *Generator) {
		g.webhookConfig(g.c.operators["cainjector"], pick(g.r, []*resource{rMWCs, rVWCs}), "update", "cert-manager-webhook")
	}},
	{0.2, func(g *Generator) {
		n := g.node()
		g.csrCreate(n.kubelet, "csr-"+suffix(g.r.u64(), 5), "kubernetes.io/kubelet-serving", "system:node:"+n.name, "system:nodes", n.csr())
	}},
	{0.2, func(g *Generator) {
		n := g.node()
		g.csrApprove(g.c.ctrl["certificate-controller"], "csr-"+suffix(g.r.u64(), 5), "AutoApproved", csrObject{
			signer: "kubernetes.io/kube-apiserver-client-kubelet", username: "system:node:" + n.name, group: "system:nodes", request: n.csr()})
	}},
}

// requestResponse sets the level and the objects of a write.
func (g *Generator) requestResponse(verb string, a *actor, r *resource, ns, name, sub string, code int) {
	e := &g.e
	e.level, e.actor, e.code = "RequestResponse", a, code
	g.target(verb, r, ns, name, sub)
	e.latency = int64(g.r.between(3000, 25000))
}

func (g *Generator) setBodies(req, resp []byte) {
	g.buf.req, g.buf.resp = req, resp
	g.e.req, g.e.resp = req, resp
}

// podCreate is a controller creating one of its pods.
func podCreate(g *Generator) {
	p := g.churnPod()
	a := p.app
	ctrl := "replicaset-controller"
	switch a.kind {
	case "DaemonSet":
		ctrl = "daemon-set-controller"
	case "StatefulSet":
		ctrl = "statefulset-controller"
	}
	m := g.podMeta(p)
	refName := ""
	if m.generateName == "" {
		refName = p.name
	}
	g.requestResponse("create", g.c.ctrl[ctrl], rPods, a.ns, refName, "", 201)
	req := g.appendPod(g.buf.req[:0], m, a.podReq, false)
	resp := g.appendPod(g.buf.resp[:0], m, a.podFull, true)
	g.setBodies(req, resp)
	g.e.annotations = podSecurity(a.ns)
}

// podSecurity is the Pod Security admission annotation the namespace's
// level gives a pod create.
func podSecurity(ns string) string {
	level := "restricted:latest"
	switch ns {
	case "kube-system", "monitoring", "logging", "ingress-nginx":
		level = "privileged:latest"
	}
	return `,"pod-security.kubernetes.io/enforce-policy":"` + level + `"`
}

// podDelete is the kubelet finishing a pod's deletion, a controller
// scaling down, or someone deleting a pod by hand.
func podDelete(g *Generator) {
	p := g.churnPod()
	var who *actor
	opts := `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}`
	switch g.r.intn(3) {
	case 0:
		who = p.node.kubelet
		opts = `{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"preconditions":{"uid":"` + p.uid + `"}}`
	case 1:
		who = g.c.ctrl["replicaset-controller"]
	default:
		who = pick(g.r, g.c.people)
	}
	g.requestResponse("delete", who, rPods, p.app.ns, p.name, "", 200)
	m := g.podMeta(p)
	m.created = g.created()
	m.deleted = g.now / 1e6
	req := append(g.buf.req[:0], opts...)
	resp := g.appendPod(g.buf.resp[:0], m, p.app.podFull, true)
	g.setBodies(req, resp)
}

// replicaSetWrite is the deployment controller creating a new ReplicaSet
// or scaling one.
func replicaSetWrite(g *Generator) {
	a := g.app()
	if a.kind != "Deployment" {
		a = g.c.apps[0]
	}
	name := a.name + "-" + a.hash
	m := &meta{name: name, ns: a.ns, uid: a.rsUID, labels: a.podLabels, generation: int64(g.r.between(1, 9)), created: g.created(),
		owner:   `[{"apiVersion":"apps/v1","kind":"Deployment","name":"` + a.name + `","uid":"` + a.uid + `","controller":true,"blockOwnerDeletion":true}]`,
		manager: "kube-controller-manager", operation: "Update", apiVersion: "apps/v1",
		annotations: `{"deployment.kubernetes.io/desired-replicas":"` + strconv.Itoa(a.replicas) + `","deployment.kubernetes.io/max-replicas":"` + strconv.Itoa(a.replicas+1) + `","deployment.kubernetes.io/revision":"3"}`}
	verb, code, ref := "update", 200, name
	if g.r.chance(0.3) {
		verb, code, ref, m.generation = "create", 201, "", 1
	}
	g.requestResponse(verb, g.c.ctrl["deployment-controller"], rReplicaSets, a.ns, ref, "", code)
	rs := *a
	rs.kind = "ReplicaSet"
	req := g.appendReplicaSet(g.buf.req[:0], &rs, m, false)
	resp := g.appendReplicaSet(g.buf.resp[:0], &rs, m, true)
	g.setBodies(req, resp)
}

func (g *Generator) appendReplicaSet(dst []byte, a *app, m *meta, full bool) []byte {
	dst = appendHead(dst, rReplicaSets)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"spec":{"replicas":`...)
	dst = strconv.AppendInt(dst, int64(a.replicas), 10)
	dst = append(dst, `,"selector":{"matchLabels":{"app.kubernetes.io/name":"`...)
	dst = append(dst, a.name...)
	dst = append(dst, `","pod-template-hash":"`...)
	dst = append(dst, a.hash...)
	dst = append(dst, `"}},"template":{"metadata":{"creationTimestamp":null,"labels":`...)
	dst = append(dst, a.podLabels...)
	dst = append(dst, `},"spec":`...)
	dst = append(dst, a.podReq...)
	dst = append(dst, `}}`...)
	if full {
		n := strconv.Itoa(a.replicas)
		dst = append(dst, `,"status":{"replicas":`+n+`,"fullyLabeledReplicas":`+n+`,"readyReplicas":`+n+`,"availableReplicas":`+n+`,"observedGeneration":`...)
		dst = strconv.AppendInt(dst, m.generation, 10)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// workloadPatch is a rollout: argocd syncing a new image, someone scaling
// or restarting a workload.
func workloadPatch(g *Generator) {
	a := g.app()
	who := g.c.operators["argocd"]
	if g.r.chance(0.3) && a.kind != "DaemonSet" { // people leave node agents to argocd
		who = pick(g.r, g.c.people)
	}
	g.requestResponse("patch", who, workloadResource(a), a.ns, a.name, "", 200)
	var req []byte
	switch g.r.intn(3) {
	case 0:
		req = append(g.buf.req[:0], `{"spec":{"replicas":`...)
		req = strconv.AppendInt(req, int64(a.replicas), 10)
		req = append(req, `}}`...)
	case 1:
		req = append(g.buf.req[:0], `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"`...)
		req = g.objClk.appendSec(req, g.now/1e6)
		req = append(req, `"}}}}}`...)
	default:
		req = append(g.buf.req[:0], `{"spec":{"template":{"spec":{"containers":[{"name":"`...)
		req = append(req, a.name...)
		req = append(req, `","image":"`...)
		req = append(req, a.image...)
		req = append(req, `"}]}}}}`...)
	}
	m := g.workloadMeta(a, "argocd-controller")
	resp := g.appendWorkload(g.buf.resp[:0], a, m, a.replicas, a.podReq, true)
	g.setBodies(req, resp)
}

// configData is an app's configuration file: plain settings, no
// credentials (a benign configmap must not look like one with keys).
func configData(a *app) string {
	return `{"config.yaml":"server:\n  port: 8080\n  readTimeout: 30s\nlogging:\n  level: info\n  format: json\nfeatures:\n  cache: true\n  tracing: true\nupstream:\n  url: http://` + a.name + `.` + a.ns + `.svc.cluster.local:8080\n"}`
}

func configMapWrite(g *Generator) {
	a := g.app()
	who := g.c.operators["argocd"]
	if g.r.chance(0.2) {
		who = pick(g.r, g.c.people)
	}
	name := a.name + "-config"
	m := &meta{name: name, ns: a.ns, uid: a.uid[:30] + "c0ffee", labels: a.labels, created: g.created(),
		manager: "argocd-controller", operation: "Update", apiVersion: "v1",
		fields: `{"f:data":{".":{},"f:config.yaml":{}},"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/instance":{},"f:app.kubernetes.io/name":{}}}}`}
	switch x := g.r.intn(11); {
	case x < 8:
		g.requestResponse("update", who, rConfigMaps, a.ns, name, "", 200)
	case x < 10:
		g.requestResponse("create", who, rConfigMaps, a.ns, name, "", 201)
	default:
		g.requestResponse("delete", who, rConfigMaps, a.ns, name, "", 200)
		req := append(g.buf.req[:0], `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}`...)
		resp := append(g.buf.resp[:0], `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"`...)
		resp = append(resp, name...)
		resp = append(resp, `","kind":"configmaps","uid":"`...)
		resp = append(resp, m.uid...)
		resp = append(resp, `"}}`...)
		g.setBodies(req, resp)
		return
	}
	data := configData(a)
	req := g.appendConfigMap(g.buf.req[:0], m, data, false)
	resp := g.appendConfigMap(g.buf.resp[:0], m, data, true)
	g.setBodies(req, resp)
}

func (g *Generator) appendConfigMap(dst []byte, m *meta, data string, full bool) []byte {
	dst = appendHead(dst, rConfigMaps)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"data":`...)
	dst = append(dst, data...)
	return append(dst, '}')
}

// placeholder is the only secret value the generator ever writes:
// base64("placeholder").
const placeholder = "cGxhY2Vob2xkZXI="

// secretWrite is argocd syncing an app secret or cert-manager renewing a
// certificate, with placeholder data.
func secretWrite(g *Generator) {
	a := g.app()
	who, name, typ := g.c.operators["argocd"], a.name+"-credentials", "Opaque"
	data := `{"api-url":"` + placeholder + `","client-id":"` + placeholder + `","client-secret":"` + placeholder + `"}`
	if g.r.chance(0.4) {
		who, name, typ = g.c.operators["cert-manager"], a.name+"-tls", "kubernetes.io/tls"
		data = `{"ca.crt":"` + placeholder + `","tls.crt":"` + placeholder + `","tls.key":"` + placeholder + `"}`
	}
	verb, code := "update", 200
	if g.r.chance(0.3) {
		verb, code = "create", 201
	}
	g.requestResponse(verb, who, rSecrets, a.ns, name, "", code)
	m := &meta{name: name, ns: a.ns, uid: a.uid[:30] + "5ec7e7", labels: a.labels, created: g.created(),
		manager: "argocd-controller", operation: "Update", apiVersion: "v1"}
	req := g.appendSecret(g.buf.req[:0], m, data, typ, false)
	resp := g.appendSecret(g.buf.resp[:0], m, data, typ, true)
	g.setBodies(req, resp)
}

func (g *Generator) appendSecret(dst []byte, m *meta, data, typ string, full bool) []byte {
	dst = appendHead(dst, rSecrets)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"data":`...)
	dst = append(dst, data...)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, typ...)
	return append(dst, `"}`...)
}

// jobCreate is the cronjob controller starting a job, or the job
// controller starting the job's pod.
func jobCreate(g *Generator) {
	a := g.app()
	name := a.name + "-report-" + strconv.FormatInt(g.now/60e6, 10)
	if g.r.chance(0.5) {
		g.requestResponse("create", g.c.ctrl["cronjob-controller"], rJobs, a.ns, name, "", 201)
		m := &meta{name: name, ns: a.ns, uid: string(appendUUID(nil, g.r)), labels: a.labels, created: g.now / 1e6, generation: 1,
			owner:   `[{"apiVersion":"batch/v1","kind":"CronJob","name":"` + a.name + `-report","uid":"` + a.uid + `","controller":true,"blockOwnerDeletion":true}]`,
			manager: "kube-controller-manager", operation: "Update", apiVersion: "batch/v1"}
		req := g.appendJob(g.buf.req[:0], a, m, a.podReq, false)
		resp := g.appendJob(g.buf.resp[:0], a, m, a.podFull, true)
		g.setBodies(req, resp)
		return
	}
	p := &pod{name: name + "-" + suffix(g.r.u64(), 5), uid: string(appendUUID(nil, g.r)), app: a}
	g.requestResponse("create", g.c.ctrl["job-controller"], rPods, a.ns, "", "", 201)
	m := &meta{name: p.name, generateName: name + "-", ns: a.ns, uid: p.uid, labels: `{"batch.kubernetes.io/job-name":"` + name + `","job-name":"` + name + `"}`,
		created: g.now / 1e6, owner: `[{"apiVersion":"batch/v1","kind":"Job","name":"` + name + `","uid":"` + a.rsUID + `","controller":true,"blockOwnerDeletion":true}]`,
		manager: "kube-controller-manager", operation: "Update", apiVersion: "v1"}
	req := g.appendPod(g.buf.req[:0], m, a.podReq, false)
	resp := g.appendPod(g.buf.resp[:0], m, a.podFull, true)
	g.setBodies(req, resp)
	g.e.annotations = podSecurity(a.ns)
}

func (g *Generator) appendJob(dst []byte, a *app, m *meta, podSpec []byte, full bool) []byte {
	dst = appendHead(dst, rJobs)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"spec":{"parallelism":1,"completions":1,"backoffLimit":6,"ttlSecondsAfterFinished":3600,"template":{"metadata":{"creationTimestamp":null,"labels":{"job-name":"`...)
	dst = append(dst, m.name...)
	dst = append(dst, `"}},"spec":`...)
	dst = append(dst, podSpec...)
	dst = append(dst, `},"completionMode":"NonIndexed","suspend":false}`...)
	if full {
		dst = append(dst, `,"status":{}`...)
	}
	return append(dst, '}')
}

func (g *Generator) deleteJob(who *actor) {
	a := g.app()
	name := a.name + "-report-" + strconv.FormatInt(g.now/60e6-int64(g.r.between(60, 600)), 10)
	g.requestResponse("delete", who, rJobs, a.ns, name, "", 200)
	req := append(g.buf.req[:0], `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground","preconditions":{"uid":"`...)
	req = appendUUID(req, g.r)
	req = append(req, `"}}`...)
	m := &meta{name: name, ns: a.ns, uid: string(appendUUID(nil, g.r)), labels: a.labels, created: g.created(), deleted: g.now / 1e6, generation: 1}
	resp := g.appendJob(g.buf.resp[:0], a, m, a.podFull, true)
	g.setBodies(req, resp)
}

// cronJobPatch is argocd syncing an app's report CronJob.
func cronJobPatch(g *Generator) {
	a := g.app()
	name := a.name + "-report"
	g.requestResponse("patch", g.c.operators["argocd"], rCronJobs, a.ns, name, "", 200)
	req := append(g.buf.req[:0], `{"spec":{"schedule":"`...)
	req = append(req, "17 */6 * * *"...)
	req = append(req, `","suspend":false}}`...)
	m := &meta{name: name, ns: a.ns, uid: a.uid[:30] + "c70b00", labels: a.labels, created: g.created(), generation: int64(g.r.between(2, 20)),
		manager: "argocd-controller", operation: "Update", apiVersion: "batch/v1"}
	g.setBodies(req, g.appendCronJob(g.buf.resp[:0], m, "17 */6 * * *", a.podReq, true))
}

func (g *Generator) appendCronJob(dst []byte, m *meta, schedule string, podSpec []byte, full bool) []byte {
	dst = appendHead(dst, rCronJobs)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"spec":{"schedule":"`...)
	dst = append(dst, schedule...)
	dst = append(dst, `","concurrencyPolicy":"Forbid","suspend":false,"jobTemplate":{"metadata":{"name":"`...)
	dst = append(dst, m.name...)
	dst = append(dst, `","creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":`...)
	dst = append(dst, podSpec...)
	dst = append(dst, `}}},"successfulJobsHistoryLimit":3,"failedJobsHistoryLimit":1}`...)
	if full {
		dst = append(dst, `,"status":{"lastScheduleTime":"`...)
		dst = g.objClk.appendSec(dst, g.now/1e6-3600)
		dst = append(dst, `"}`...)
	}
	return append(dst, '}')
}
