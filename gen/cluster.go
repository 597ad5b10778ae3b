package gen

import (
	"strconv"
	"strings"
)

// The versions a current cluster reports; they only shape user agents.
const (
	kubeVersion = "v1.31.4"
	kubeCommit  = "a78aa47129b8539636eb86a9d00e31b2720fe06b"
	kubeUA      = "/" + kubeVersion + " (linux/amd64) kubernetes/a78aa47"
)

// actor is one client of the API server, with its identity written once:
// the user object, source IP and user agent as JSON, and the authorizer's
// reason for allowing it.
type actor struct {
	name   string
	user   string // `"user":{...}`
	origin string // `"sourceIPs":[...],"userAgent":"..."`
	reason string // JSON-escaped authorization.k8s.io/reason
	ns     string // a person's or operator's home namespace
}

// user describes an identity; newActor turns it into JSON.
type user struct {
	name   string
	uid    string
	groups []string
	extra  [][2]string // ordered key → single value
	ip, ua string
	reason string
	ns     string
}

func newActor(u user) *actor {
	var b strings.Builder
	b.WriteString(`"user":{"username":`)
	b.WriteString(quote(u.name))
	if u.uid != "" {
		b.WriteString(`,"uid":` + quote(u.uid))
	}
	b.WriteString(`,"groups":[`)
	for i, g := range u.groups {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(g))
	}
	b.WriteByte(']')
	if len(u.extra) > 0 {
		b.WriteString(`,"extra":{`)
		for i, kv := range u.extra {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quote(kv[0]) + ":[" + quote(kv[1]) + "]")
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return &actor{
		name:   u.name,
		user:   b.String(),
		origin: `"sourceIPs":[` + quote(u.ip) + `],"userAgent":` + quote(u.ua),
		reason: escape(u.reason),
		ns:     u.ns,
	}
}

// quote writes s as a JSON string; generated text never holds control
// characters, so quotes and backslashes are all that need escaping.
func quote(s string) string { return `"` + escape(s) + `"` }

func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func rbacReason(kind, binding, role, subjectKind, subject string) string {
	return `RBAC: allowed by ` + kind + ` "` + binding + `" of ClusterRole "` + role + `" to ` + subjectKind + ` "` + subject + `"`
}

// node is a worker with its kubelet and kube-proxy.
type node struct {
	name, ip, uid string
	kubelet       *actor
	proxy         *actor
	csrRequest    string // the kubelet's CSR, see csr
}

// app is a workload: a Deployment, StatefulSet or DaemonSet and its pods.
type app struct {
	ns, name, kind string
	image          string
	hash           string // pod-template-hash
	uid, rsUID     string
	replicas       int
	sa             string
	podReq         []byte // pod spec as a controller sends it
	podFull        []byte // pod spec as the API server stores it
	labels         string // the workload's labels, a JSON object
	podLabels      string // its pods' labels, a JSON object
}

// setLabels writes the app's label sets once.
func (a *app) setLabels() {
	a.labels = `{"app.kubernetes.io/name":"` + a.name + `","app.kubernetes.io/instance":"` + a.ns + `-` + a.name + `"}`
	extra := `","pod-template-hash":"` + a.hash + `"}`
	if a.kind != "Deployment" {
		extra = `","controller-revision-hash":"` + a.hash[:8] + `"}`
	}
	a.podLabels = a.labels[:len(a.labels)-2] + extra
}

type pod struct {
	name, uid, ip, suffix string
	app                   *app
	node                  *node
}

// cluster is everything the generator picks names from.
type cluster struct {
	nodes       []*node
	apps        []*app
	pods        []*pod
	appPods     []*pod // pods of Deployments and StatefulSets: the ones that churn
	dsPods      []*pod // DaemonSet pods: created when nodes join or agents roll
	namespaces  []string
	appNS       []string
	controllers []*actor // kube-controller-manager's service accounts, by name
	ctrl        map[string]*actor
	kcm         *actor
	scheduler   *actor
	apiserver   *actor
	anonymous   *actor
	coredns     *actor
	operators   map[string]*actor
	people      []*actor
	attackers   []*actor
}

var systemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "default", "monitoring", "ingress-nginx", "cert-manager", "argocd", "logging"}

var appNamespaces = []string{"payments", "checkout", "catalog", "search", "web", "identity", "data-pipeline", "notifications", "recommendations", "analytics"}

var appNames = []string{"api", "worker", "frontend", "gateway", "consumer", "scheduler", "cache", "indexer", "exporter", "auth", "sync", "reporter"}

var controllerNames = []string{
	"replicaset-controller", "deployment-controller", "daemon-set-controller",
	"statefulset-controller", "job-controller", "cronjob-controller",
	"endpointslice-controller", "endpoint-controller", "generic-garbage-collector",
	"namespace-controller", "node-controller", "horizontal-pod-autoscaler",
	"ttl-after-finished-controller", "certificate-controller", "resourcequota-controller",
	"service-account-controller", "pvc-protection-controller", "disruption-controller",
}

// newCluster builds the cluster from seed: node names, pod names and UIDs
// are hashes of the seed, so two seeds give two different clusters.
func newCluster(seed uint64, nodes int) *cluster {
	c := &cluster{ctrl: map[string]*actor{}, operators: map[string]*actor{}}
	h := func(i uint64) uint64 { return mix64(seed ^ mix64(i)) }
	uid := func(i uint64) string { return string(appendUUIDFrom(nil, h(i), h(i+1<<40))) }
	c.namespaces = append(append([]string{}, systemNamespaces...), appNamespaces...)
	c.appNS = appNamespaces
	for i := range nodes {
		n := &node{
			name: "pool-" + strconv.Itoa(1+i%3) + "-" + suffix(h(uint64(1000+i)), 5),
			ip:   "10.0." + strconv.Itoa(1+i/200) + "." + strconv.Itoa(10+i%200),
			uid:  uid(uint64(2000 + i)),
		}
		n.kubelet = newActor(user{name: "system:node:" + n.name, groups: []string{"system:nodes", "system:authenticated"}, ip: n.ip, ua: "kubelet" + kubeUA})
		n.proxy = newActor(podSA("kube-system", "kube-proxy", "kube-proxy-"+suffix(h(uint64(3000+i)), 5), n, uid(uint64(4000+i)), "kube-proxy"+kubeUA,
			rbacReason("ClusterRoleBinding", "kubeadm:node-proxier", "system:node-proxier", "ServiceAccount", "kube-proxy/kube-system")))
		c.nodes = append(c.nodes, n)
	}
	c.buildControlPlane(uid)
	c.buildOperators(h, uid)
	c.buildApps(h, uid)
	c.buildPeople()
	return c
}

// podSA is the identity of a service account token mounted in a pod, with
// the pod binding kube-apiserver records in user.extra.
func podSA(ns, sa, podName string, n *node, podUID, ua, reason string) user {
	return user{
		name:   "system:serviceaccount:" + ns + ":" + sa,
		uid:    podUID[:24] + "5a" + podUID[26:],
		groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		extra: [][2]string{
			{"authentication.kubernetes.io/credential-id", "JTI=" + podUID[:8] + "-" + podUID[9:13] + "-4c1d-9f6e-" + podUID[24:]},
			{"authentication.kubernetes.io/node-name", n.name},
			{"authentication.kubernetes.io/node-uid", n.uid},
			{"authentication.kubernetes.io/pod-name", podName},
			{"authentication.kubernetes.io/pod-uid", podUID},
		},
		ip: n.ip, ua: ua, reason: reason, ns: ns,
	}
}

func (c *cluster) buildControlPlane(uid func(uint64) string) {
	const cp = "10.0.0.10"
	for i, name := range controllerNames {
		a := newActor(user{
			name:   "system:serviceaccount:kube-system:" + name,
			uid:    uid(uint64(5000 + i)),
			groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
			ip:     cp, ua: "kube-controller-manager" + kubeUA + "/system:serviceaccount:kube-system:" + name,
			reason: rbacReason("ClusterRoleBinding", "system:controller:"+name, "system:controller:"+name, "ServiceAccount", name+"/kube-system"),
		})
		c.controllers = append(c.controllers, a)
		c.ctrl[name] = a
	}
	c.kcm = newActor(user{name: "system:kube-controller-manager", groups: []string{"system:authenticated"}, ip: cp,
		ua:     "kube-controller-manager" + kubeUA + "/leader-election",
		reason: rbacReason("ClusterRoleBinding", "system:kube-controller-manager", "system:kube-controller-manager", "User", "system:kube-controller-manager")})
	c.scheduler = newActor(user{name: "system:kube-scheduler", groups: []string{"system:authenticated"}, ip: "10.0.0.11",
		ua:     "kube-scheduler" + kubeUA + "/scheduler",
		reason: rbacReason("ClusterRoleBinding", "system:kube-scheduler", "system:kube-scheduler", "User", "system:kube-scheduler")})
	c.apiserver = newActor(user{name: "system:apiserver", uid: uid(5900), groups: []string{"system:authenticated", "system:masters"}, ip: "::1",
		ua: "kube-apiserver" + kubeUA})
	c.anonymous = newActor(user{name: "system:anonymous", groups: []string{"system:unauthenticated"}, ip: "10.0.0.12", ua: "kube-probe/1.31",
		reason: rbacReason("ClusterRoleBinding", "system:public-info-viewer", "system:public-info-viewer", "Group", "system:unauthenticated")})
}

// operator is an add-on that talks to the API server from a pod.
type operator struct {
	key, ns, sa, ua, binding, role string
}

var operatorList = []operator{
	{"coredns", "kube-system", "coredns", "coredns/v0.0.0 (linux/amd64) kubernetes/$Format", "system:coredns", "system:coredns"},
	{"prometheus", "monitoring", "prometheus-k8s", "Prometheus/2.54.1", "prometheus-k8s", "prometheus-k8s"},
	{"ingress", "ingress-nginx", "ingress-nginx", "nginx-ingress-controller/v1.11.2 (linux/amd64) ingress-nginx/46e76e5916813cfca2a9b0bfdc34b69a0000f6b9", "ingress-nginx", "ingress-nginx"},
	{"cert-manager", "cert-manager", "cert-manager", "cert-manager-controller/v1.15.3 (linux/amd64) cert-manager/4a7dfd4c7c7c1d8f8f0a8a1b6c0d2e3f4a5b6c7d", "cert-manager-controller-certificates", "cert-manager-controller-certificates"},
	{"cainjector", "cert-manager", "cert-manager-cainjector", "cert-manager-cainjector/v1.15.3 (linux/amd64) cert-manager/4a7dfd4c7c7c1d8f8f0a8a1b6c0d2e3f4a5b6c7d", "cert-manager-cainjector", "cert-manager-cainjector"},
	{"argocd", "argocd", "argocd-application-controller", "argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format", "argocd-application-controller", "argocd-application-controller"},
	{"fluent-bit", "logging", "fluent-bit", "fluent-bit/3.1.7", "fluent-bit", "fluent-bit-read"},
	{"metrics-server", "kube-system", "metrics-server", "metrics-server/v0.7.2 (linux/amd64) kubernetes/$Format", "system:metrics-server", "system:metrics-server"},
}

func (c *cluster) buildOperators(h func(uint64) uint64, uid func(uint64) string) {
	for i, o := range operatorList {
		n := c.nodes[i%len(c.nodes)]
		podName := o.sa + "-" + suffix(h(uint64(6000+i)), 10) + "-" + suffix(h(uint64(6100+i)), 5)
		a := newActor(podSA(o.ns, o.sa, podName, n, uid(uint64(6200+i)), o.ua,
			rbacReason("ClusterRoleBinding", o.binding, o.role, "ServiceAccount", o.sa+"/"+o.ns)))
		c.operators[o.key] = a
	}
	c.coredns = c.operators["coredns"]
}

func (c *cluster) buildApps(h func(uint64) uint64, uid func(uint64) string) {
	k := uint64(10000)
	next := func() uint64 { k++; return h(k) }
	for nsi, ns := range appNamespaces {
		for j := 0; j < 3+int(next()%3); j++ {
			name := appNames[(nsi*5+j)%len(appNames)]
			a := &app{ns: ns, name: name, kind: "Deployment", hash: suffix(next(), 10), uid: uid(next()), rsUID: uid(next()),
				replicas: 2 + int(next()%5), sa: name}
			if j == 2 && nsi%3 == 0 {
				a.kind = "StatefulSet"
			}
			a.image = appImage(ns, name, next())
			a.setLabels()
			a.podReq = appendPodSpec(nil, benignPod(a), false)
			a.podFull = appendPodSpec(nil, benignPod(a), true)
			c.addPods(a, a.replicas, next, uid)
			c.apps = append(c.apps, a)
		}
	}
	for _, ds := range daemonSets {
		a := &app{ns: ds.ns, name: ds.name, kind: "DaemonSet", hash: suffix(next(), 10), uid: uid(next()), image: ds.image, sa: ds.name}
		a.setLabels()
		p := ds.pod()
		a.podReq = appendPodSpec(nil, p, false)
		a.podFull = appendPodSpec(nil, p, true)
		c.addPods(a, len(c.nodes), next, uid)
		c.apps = append(c.apps, a)
	}
}

func appImage(ns, name string, h uint64) string {
	n := strconv.Itoa(int(h % 30))
	m := strconv.Itoa(int(h / 30 % 10))
	switch h / 300 % 4 {
	case 1:
		return "docker.io/library/redis:7.2." + m
	case 2:
		return "docker.io/library/nginx:1.27." + m
	}
	return "registry.example.com/" + ns + "/" + name + ":1." + n + "." + m
}

func (c *cluster) addPods(a *app, count int, next func() uint64, uid func(uint64) string) {
	for i := range count {
		p := &pod{app: a, uid: uid(next()), suffix: suffix(next(), 5)}
		switch a.kind {
		case "StatefulSet":
			p.name = a.name + "-" + strconv.Itoa(i)
		case "DaemonSet":
			p.name = a.name + "-" + p.suffix
		default:
			p.name = a.name + "-" + a.hash + "-" + p.suffix
		}
		if a.kind == "DaemonSet" {
			p.node = c.nodes[i]
		} else {
			p.node = c.nodes[int(next()%uint64(len(c.nodes)))]
		}
		v := next()
		p.ip = "10.244." + strconv.Itoa(int(v%250)) + "." + strconv.Itoa(int(v/250%250)+2)
		c.pods = append(c.pods, p)
		if a.kind == "DaemonSet" {
			c.dsPods = append(c.dsPods, p)
		} else {
			c.appPods = append(c.appPods, p)
		}
	}
}

// person is someone with kubectl: a team, a home namespace, a source IP.
type person struct{ email, group, ns, ip, ua string }

var people = []person{
	{"alice@example.com", "oidc:platform-team", "monitoring", "203.0.113.24", "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46"},
	{"bob@example.com", "oidc:payments-dev", "payments", "203.0.113.51", "kubectl/v1.30.5 (linux/amd64) kubernetes/74e84a9"},
	{"carol@example.com", "oidc:sre", "checkout", "198.51.100.7", "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46"},
	{"dave@example.com", "oidc:search-dev", "search", "203.0.113.88", "k9s/v0.32.5 (linux/amd64) kubernetes/$Format"},
	{"erin@example.com", "oidc:data-eng", "data-pipeline", "198.51.100.19", "Helm/3.15.4"},
}

// attackerList are the identities attacks come from: outsiders with stolen
// or over-broad credentials, and a compromised workload token.
var attackerList = []person{
	{"mallory@example.com", "oidc:contractors", "web", "192.0.2.66", "kubectl/v1.29.0 (linux/amd64) kubernetes/3f7a50f"},
	{"intern@example.com", "oidc:interns", "default", "192.0.2.140", "kubectl/v1.31.2 (windows/amd64) kubernetes/5864a46"},
	{"system:serviceaccount:web:frontend", "", "web", "185.220.101.4", "python-requests/2.32.3"},
}

func (c *cluster) buildPeople() {
	for _, p := range people {
		c.people = append(c.people, newActor(user{name: p.email, groups: []string{p.group, "system:authenticated"}, ip: p.ip, ua: p.ua, ns: p.ns,
			reason: `RBAC: allowed by RoleBinding "` + strings.TrimPrefix(p.group, "oidc:") + `/` + p.ns + `" of ClusterRole "edit" to Group "` + p.group + `"`}))
	}
	for _, p := range attackerList {
		u := user{name: p.email, groups: []string{p.group, "system:authenticated"}, ip: p.ip, ua: p.ua, ns: p.ns,
			reason: rbacReason("ClusterRoleBinding", "contractors-admin", "cluster-admin", "Group", p.group)}
		if p.group == "" {
			u.groups = []string{"system:serviceaccounts", "system:serviceaccounts:web", "system:authenticated"}
			u.uid = "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c"
			u.reason = rbacReason("ClusterRoleBinding", "frontend-debug", "cluster-admin", "ServiceAccount", "frontend/web")
		}
		c.attackers = append(c.attackers, newActor(u))
	}
}
