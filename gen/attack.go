package gen

import "sort"

// attackKind is one kind of attack: a name (the annotation value) and a
// function that writes one event of it.
type attackKind struct {
	name string
	f    func(*Generator)
}

// attackKinds are the attacks the generator plants, each a single event at
// the stage and level the audit policy records it with.
var attackKinds = []attackKind{
	{"privileged-pod", func(g *Generator) { g.attackPod("", func(p *podSpec) { p.containers[0].privileged = 1 }) }},
	{"privileged-init-container", func(g *Generator) {
		g.attackPod("", func(p *podSpec) {
			p.init = []container{{name: "setup", image: "docker.io/library/busybox:1.36", privileged: 1, args: []string{"sh", "-c", "sysctl -w net.ipv4.ip_forward=1"}}}
		})
	}},
	{"privileged-ephemeral-container", ephemeralContainer},
	{"host-network-pod", func(g *Generator) { g.attackPod("", func(p *podSpec) { p.hostNetwork = true }) }},
	{"host-pid-pod", func(g *Generator) { g.attackPod("", func(p *podSpec) { p.hostPID = true }) }},
	{"host-ipc-pod", func(g *Generator) { g.attackPod("", func(p *podSpec) { p.hostIPC = true }) }},
	{"sensitive-hostpath", func(g *Generator) { g.attackPod("", func(p *podSpec) { mountHost(g, p) }) }},
	{"exec", func(g *Generator) { g.streamInto("exec") }},
	{"attach", func(g *Generator) { g.streamInto("attach") }},
	{"port-forward", func(g *Generator) { g.streamInto("portforward") }},
	{"pod-proxy", podProxy},
	{"node-proxy", nodeProxy},
	{"cluster-admin-binding", clusterAdminBinding},
	{"wildcard-role", func(g *Generator) {
		rules := pick(g.r, []string{
			`[{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}]`,
			`[{"verbs":["*"],"apiGroups":[""],"resources":["pods","services"]}]`,
			`[{"verbs":["get","list"],"apiGroups":["*"],"resources":["*"]}]`,
		})
		g.attackRole(rules)
	}},
	{"sensitive-write-role", func(g *Generator) {
		g.attackRole(pick(g.r, []string{
			`[{"verbs":["get","list","create","update","delete"],"apiGroups":[""],"resources":["secrets"]}]`,
			`[{"verbs":["create","patch","delete"],"apiGroups":[""],"resources":["pods"]}]`,
			`[{"verbs":["create","get"],"apiGroups":[""],"resources":["pods/exec","pods/attach"]}]`,
		}))
	}},
	{"rbac-escalation-verbs", func(g *Generator) {
		g.attackRole(pick(g.r, []string{
			`[{"verbs":["escalate","bind"],"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles","roles"]}]`,
			`[{"verbs":["impersonate"],"apiGroups":[""],"resources":["users","groups","serviceaccounts"]}]`,
		}))
	}},
	{"impersonation", impersonation},
	{"anonymous-allowed", anonymousAllowed},
	{"configmap-aws-keys", func(g *Generator) {
		g.attackConfigMap(`{"credentials":"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n","region":"eu-west-1"}`)
	}},
	{"configmap-private-key", func(g *Generator) {
		g.attackConfigMap(pick(g.r, []string{
			`{"id_rsa":"-----BEGIN RSA PRIVATE KEY-----\nPLACEHOLDERnotAkeyPLACEHOLDERnotAkeyPLACEHOLDERnotAkey\n-----END RSA PRIVATE KEY-----\n"}`,
			`{"deploy_key":"-----BEGIN OPENSSH PRIVATE KEY-----\nPLACEHOLDERnotAkeyPLACEHOLDERnotAkeyPLACEHOLDERnotAkey\n-----END OPENSSH PRIVATE KEY-----\n"}`,
		}))
	}},
	{"nodeport-service", func(g *Generator) {
		g.serviceCreate(g.attacker(), pick(g.r, appNamespaces), "debug-"+suffix(g.r.u64(), 5), "NodePort")
	}},
	{"kube-system-pod", func(g *Generator) { g.attackPodBy(g.person(), "kube-system", func(*podSpec) {}) }},
	{"kube-system-daemonset", func(g *Generator) { g.attackWorkload(g.person(), "kube-system", "DaemonSet", func(*podSpec) {}) }},
	{"kube-system-cronjob", kubeSystemCronJob},
	{"secrets-cluster-list", func(g *Generator) {
		if g.r.chance(0.5) {
			g.list(g.person(), rSecrets, "", "")
		} else {
			g.watch(g.person(), rSecrets, "", "")
			g.e.stage = "ResponseComplete"
		}
	}},
	{"sa-token-request", func(g *Generator) {
		g.e.actor = g.attacker()
		g.target("create", rSAs, "kube-system", pick(g.r, []string{"clusterrole-aggregation-controller", "replicaset-controller", "default", "argocd-application-controller"}), "token")
		g.e.code = 201
	}},
	{"sa-token-secret-read", func(g *Generator) {
		g.get(g.attacker(), rSecrets, pick(g.r, []string{"kube-system", "argocd", "monitoring"}), pick(g.r, []string{"default-token-", "admin-token-", "argocd-manager-token-"})+suffix(g.r.u64(), 5), "")
		g.e.status, g.e.code = nil, 200
	}},
	{"webhook-create", func(g *Generator) {
		g.webhookConfig(g.attacker(), pick(g.r, []*resource{rMWCs, rVWCs}), "create", "pod-defaults")
	}},
	{"webhook-update", func(g *Generator) {
		g.webhookConfig(g.attacker(), pick(g.r, []*resource{rMWCs, rVWCs}), "update", "cert-manager-webhook")
	}},
	{"webhook-delete", func(g *Generator) {
		g.webhookConfig(g.attacker(), pick(g.r, []*resource{rMWCs, rVWCs}), "delete", pick(g.r, []string{"gatekeeper-validating-webhook-configuration", "kyverno-resource-validating-webhook-cfg"}))
	}},
	{"csr-system-masters", csrMasters},
	{"csr-approve-system-masters", csrApproveMasters},
	{"events-delete", func(g *Generator) {
		ns := pick(g.r, appNamespaces)
		if g.r.chance(0.5) {
			g.requestResponse("deletecollection", g.attacker(), rEvents, ns, "", "", 200)
			return
		}
		g.requestResponse("delete", g.attacker(), rEvents, ns, g.pod().name+".17f3a2b4c5d6e7f8", "", 200)
	}},
	{"control-plane-lease-delete", func(g *Generator) {
		g.requestResponse("delete", g.attacker(), rLeases, "kube-system", pick(g.r, []string{"kube-controller-manager", "kube-scheduler"}), "", 200)
	}},
	{"pod-nodename", func(g *Generator) { g.attackPod("", func(p *podSpec) { p.nodeName = g.node().name }) }},
	{"untrusted-image", func(g *Generator) {
		g.attackPod("", func(p *podSpec) {
			p.containers[0].image = pick(g.r, []string{"docker.io/xmrig/xmrig:6.21.0", "ghcr.io/anon-tools/miner:latest", "203.0.113.5:5000/tools/netcat:1.0", "docker.io/kalilinux/kali-rolling:latest"})
		})
	}},
	{"namespace-create", func(g *Generator) { g.namespaceWrite("create") }},
	{"namespace-delete", func(g *Generator) { g.namespaceWrite("delete") }},
	{"serviceaccount-create", func(g *Generator) {
		g.serviceAccountCreate(g.person(), "kube-system", "cluster-backup-"+suffix(g.r.u64(), 4))
	}},
	{"serviceaccount-delete", func(g *Generator) {
		g.requestResponse("delete", g.attacker(), rSAs, pick(g.r, []string{"kube-system", "monitoring", "argocd"}), pick(g.r, []string{"prometheus-k8s", "argocd-application-controller", "coredns"}), "", 200)
	}},
	{"privileged-workload", func(g *Generator) {
		g.attackWorkload(g.attacker(), pick(g.r, appNamespaces), pick(g.r, []string{"Deployment", "DaemonSet", "StatefulSet"}), func(p *podSpec) { p.containers[0].privileged = 1 })
	}},
	{"hostpath-workload", func(g *Generator) {
		g.attackWorkload(g.attacker(), pick(g.r, appNamespaces), pick(g.r, []string{"Deployment", "DaemonSet"}), func(p *podSpec) { mountHost(g, p) })
	}},
}

// AttackKinds returns the names of the attack kinds, sorted.
func AttackKinds() []string {
	out := make([]string, len(attackKinds))
	for i, k := range attackKinds {
		out[i] = k.name
	}
	sort.Strings(out)
	return out
}

// attackWeights gives every kind the same chance.
func attackWeights() []float64 {
	w := make([]float64, len(attackKinds))
	for i := range w {
		w[i] = 1
	}
	return w
}

func (g *Generator) attacker() *actor { return pick(g.r, g.c.attackers) }

// person is an attacker who is a person (not a "system:" identity), for
// the rules that exempt system users.
func (g *Generator) person() *actor { return g.c.attackers[g.r.intn(2)] }

// sensitivePaths are the host paths an attacker mounts.
var sensitivePaths = []string{"/", "/etc", "/proc", "/var/run/docker.sock", "/run/containerd/containerd.sock", "/var/lib/kubelet", "/root", "/etc/kubernetes"}

func mountHost(g *Generator, p *podSpec) {
	path := pick(g.r, sensitivePaths)
	p.volumes = append(p.volumes, volume{name: "host", hostPath: path})
	p.containers[0].mounts = append(p.containers[0].mounts, mount{volume: "host", path: "/host"})
}

// attackPodSpec is the pod an attacker starts: a toolbox image, root.
func (g *Generator) attackPodSpec() *podSpec {
	return &podSpec{
		containers: []container{{name: "shell", image: pick(g.r, []string{"docker.io/library/alpine:3.20", "docker.io/library/ubuntu:24.04", "docker.io/nicolaka/netshoot:v0.13"}),
			args: []string{"sleep", "infinity"}}},
		sa:        "default",
		apiAccess: suffix(g.r.u64(), 5),
	}
}

// attackPod creates a pod changed by mutate, in ns (an app namespace when
// empty).
func (g *Generator) attackPod(ns string, mutate func(*podSpec)) {
	g.attackPodBy(g.attacker(), ns, mutate)
}

func (g *Generator) attackPodBy(who *actor, ns string, mutate func(*podSpec)) {
	if ns == "" {
		ns = pick(g.r, append(appNamespaces[:3:3], "default"))
	}
	p := g.attackPodSpec()
	mutate(p)
	name := pick(g.r, []string{"debug-", "tools-", "node-shell-", "test-"}) + suffix(g.r.u64(), 5)
	g.requestResponse("create", who, rPods, ns, name, "", 201)
	m := &meta{name: name, ns: ns, uid: string(appendUUID(nil, g.r)), labels: `{"run":"` + name + `"}`, created: g.now / 1e6,
		manager: "kubectl-run", operation: "Update", apiVersion: "v1"}
	req := g.appendPod(g.buf.req[:0], m, appendPodSpec(nil, p, false), false)
	resp := g.appendPod(g.buf.resp[:0], m, appendPodSpec(nil, p, true), true)
	g.setBodies(req, resp)
	g.e.annotations = podSecurity(ns)
}

// attackWorkload creates a workload whose pod template mutate changed.
func (g *Generator) attackWorkload(who *actor, ns, kind string, mutate func(*podSpec)) {
	p := g.attackPodSpec()
	mutate(p)
	a := &app{ns: ns, name: pick(g.r, []string{"log-collector", "node-agent", "metrics-helper", "sync-daemon"}), kind: kind,
		hash: suffix(g.r.u64(), 10), uid: string(appendUUID(nil, g.r)), replicas: 1}
	a.setLabels()
	g.requestResponse("create", who, workloadResource(a), ns, a.name, "", 201)
	m := &meta{name: a.name, ns: ns, uid: a.uid, labels: a.labels, generation: 1, created: g.now / 1e6,
		manager: "kubectl-client-side-apply", operation: "Update", apiVersion: "apps/v1"}
	req := g.appendWorkload(g.buf.req[:0], a, m, 1, appendPodSpec(nil, p, false), false)
	resp := g.appendWorkload(g.buf.resp[:0], a, m, 1, appendPodSpec(nil, p, false), true)
	g.setBodies(req, resp)
}

func kubeSystemCronJob(g *Generator) {
	p := g.attackPodSpec()
	name := "cleanup-" + suffix(g.r.u64(), 4)
	g.requestResponse("create", g.person(), rCronJobs, "kube-system", name, "", 201)
	m := &meta{name: name, ns: "kube-system", uid: string(appendUUID(nil, g.r)), generation: 1, created: g.now / 1e6,
		manager: "kubectl-create", operation: "Update", apiVersion: "batch/v1"}
	spec := appendPodSpec(nil, p, false)
	g.setBodies(g.appendCronJob(g.buf.req[:0], m, "*/5 * * * *", spec, false), g.appendCronJob(g.buf.resp[:0], m, "*/5 * * * *", spec, true))
}

// ephemeralContainer is `kubectl debug` adding a privileged ephemeral
// container to a running pod: a patch of the ephemeralcontainers
// subresource.
func ephemeralContainer(g *Generator) {
	p := g.pod()
	name := "debugger-" + suffix(g.r.u64(), 5)
	g.requestResponse("patch", g.attacker(), rPods, p.app.ns, p.name, "ephemeralcontainers", 200)
	c := container{name: name, image: "docker.io/library/busybox:1.36", privileged: 1, stdin: true}
	req := append(g.buf.req[:0], `{"spec":{"ephemeralContainers":[`...)
	req = appendContainer(req, &c, &podSpec{}, false)
	req = append(req, `]}}`...)
	spec := appendPodSpec(nil, &podSpec{containers: benignPod(p.app).containers, ephemeral: []container{c}, sa: p.app.sa, apiAccess: p.app.hash[:5]}, true)
	m := g.podMeta(p)
	resp := g.appendPod(g.buf.resp[:0], m, spec, true)
	g.setBodies(req, resp)
}

// streamInto is exec, attach or port-forward: recorded when the stream
// starts (ResponseStarted, 101 Switching Protocols) at Metadata level.
func (g *Generator) streamInto(sub string) {
	p := g.pod()
	e := &g.e
	e.actor, e.stage, e.code = g.attacker(), "ResponseStarted", 101
	verb := "create"
	if g.r.chance(0.3) {
		verb = "get"
	}
	g.target(verb, rPods, p.app.ns, p.name, sub)
	switch sub {
	case "exec":
		g.query("?command=" + pick(g.r, []string{"sh", "bash", "cat&command=%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken", "env"}) + "&container=" + p.app.name + "&stdin=true&stdout=true&tty=true")
	case "attach":
		g.query("?container=" + p.app.name + "&stdin=true&stdout=true&tty=true")
	default:
		g.query("?ports=8080")
	}
}

func podProxy(g *Generator) {
	p := g.pod()
	g.e.actor = g.attacker()
	g.target("get", rPods, p.app.ns, p.name+":8080", "proxy")
	g.query("/debug/pprof/")
}

// nodeProxy reaches the kubelet API through the API server.
func nodeProxy(g *Generator) {
	n := g.node()
	g.e.actor = g.attacker()
	if g.r.chance(0.5) {
		g.target("get", rNodes, "", n.name, "proxy")
		g.query("/pods")
		return
	}
	p := g.pod()
	g.target("create", rNodes, "", n.name, "proxy")
	g.query("/run/" + p.app.ns + "/" + p.name + "/" + p.app.name + "?cmd=id")
}

func clusterAdminBinding(g *Generator) {
	who := g.attacker()
	subjects := pick(g.r, []string{
		`[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"mallory@example.com"}]`,
		`[{"kind":"ServiceAccount","name":"default","namespace":"default"}]`,
		`[{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"system:authenticated"}]`,
	})
	name := pick(g.r, []string{"backup-admin", "debug-access", "ci-admin"}) + "-" + suffix(g.r.u64(), 4)
	if g.r.chance(0.6) {
		g.bindingCreate(who, rCRBs, "", name, "ClusterRole", "cluster-admin", subjects)
		return
	}
	g.bindingCreate(who, rRBs, pick(g.r, appNamespaces), name, "ClusterRole", "cluster-admin", subjects)
}

// attackRole creates a Role or ClusterRole with rules.
func (g *Generator) attackRole(rules string) {
	name := pick(g.r, []string{"ops-helper", "debug", "automation", "temp-access"}) + "-" + suffix(g.r.u64(), 4)
	if g.r.chance(0.5) {
		g.roleWrite("create", g.attacker(), rCRoles, "", name, rules)
		return
	}
	g.roleWrite("create", g.attacker(), rRoles, pick(g.r, appNamespaces), name, rules)
}

// impersonation is a request made as someone else (kubectl --as).
func impersonation(g *Generator) {
	g.get(g.attacker(), rSecrets, "kube-system", pick(g.r, []string{"bootstrap-token-abcdef", "cluster-admin-credentials", "etcd-backup"}), "")
	g.e.status, g.e.code = nil, 200
	g.e.impersonated = pick(g.r, []string{
		`{"username":"system:admin","groups":["system:masters"]}`,
		`{"username":"system:serviceaccount:kube-system:clusterrole-aggregation-controller"}`,
		`{"username":"alice@example.com","groups":["oidc:platform-team","system:authenticated"]}`,
	})
}

func anonymousAllowed(g *Generator) {
	anon := newActor(user{name: "system:anonymous", groups: []string{"system:unauthenticated"}, ip: "192.0.2.200", ua: "curl/8.5.0",
		reason: rbacReason("ClusterRoleBinding", "anonymous-debug", "cluster-admin", "User", "system:anonymous")})
	switch g.r.intn(3) {
	case 0:
		g.list(anon, rSecrets, "kube-system", "")
	case 1:
		g.list(anon, rPods, "", "")
	default:
		g.get(anon, rConfigMaps, "kube-system", "kubeadm-config", "")
	}
	g.e.status, g.e.code = nil, 200
}

func (g *Generator) attackConfigMap(data string) {
	ns := pick(g.r, appNamespaces)
	name := pick(g.r, []string{"aws-config", "backup-settings", "deploy-settings", "ci-config"})
	verb, code := "create", 201
	if g.r.chance(0.3) {
		verb, code = "update", 200
	}
	g.requestResponse(verb, g.attacker(), rConfigMaps, ns, name, "", code)
	m := &meta{name: name, ns: ns, uid: string(appendUUID(nil, g.r)), created: g.now / 1e6,
		manager: "kubectl-create", operation: "Update", apiVersion: "v1"}
	req := g.appendConfigMap(g.buf.req[:0], m, data, false)
	resp := g.appendConfigMap(g.buf.resp[:0], m, data, true)
	g.setBodies(req, resp)
}

// csrMasters asks for a client certificate whose subject is in
// system:masters.
func csrMasters(g *Generator) {
	name := "admin-" + suffix(g.r.u64(), 5)
	who := g.attacker()
	g.csrCreate(who, name, "kubernetes.io/kube-apiserver-client", who.name, "oidc:contractors", csrRequest(name, "system:masters"))
}

// csrApproveMasters approves such a request with kubectl.
func csrApproveMasters(g *Generator) {
	name := "admin-" + suffix(g.r.u64(), 5)
	who := g.attacker()
	g.csrApprove(who, name, "KubectlApprove", csrObject{signer: "kubernetes.io/kube-apiserver-client",
		username: who.name, group: "oidc:contractors", request: csrRequest(name, "system:masters")})
}

func (g *Generator) namespaceWrite(verb string) {
	name := pick(g.r, []string{"crypto", "tmp-", "test-", "shadow-"}) + suffix(g.r.u64(), 5)
	if verb == "delete" {
		name = pick(g.r, []string{"monitoring", "logging", "cert-manager", "ingress-nginx"})
	}
	code := 201
	if verb == "delete" {
		code = 200
	}
	g.requestResponse(verb, g.person(), rNamespaces, "", name, "", code)
	m := &meta{name: name, uid: string(appendUUID(nil, g.r)), created: g.now / 1e6,
		labels:  `{"kubernetes.io/metadata.name":"` + name + `"}`,
		manager: "kubectl-create", operation: "Update", apiVersion: "v1"}
	if verb == "delete" {
		m.created, m.deleted = g.created(), g.now/1e6
	}
	body := func(dst []byte, full bool) []byte {
		dst = appendHead(dst, rNamespaces)
		dst = g.appendMeta(dst, m, full)
		dst = append(dst, `,"spec":{`...)
		if full {
			dst = append(dst, `"finalizers":["kubernetes"]`...)
		}
		dst = append(dst, `},"status":{"phase":"`...)
		if m.deleted > 0 {
			return append(dst, `Terminating"}}`...)
		}
		return append(dst, `Active"}}`...)
	}
	if verb == "delete" {
		g.setBodies(append(g.buf.req[:0], `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}`...), body(g.buf.resp[:0], true))
		return
	}
	g.setBodies(body(g.buf.req[:0], false), body(g.buf.resp[:0], true))
}
