package gen

import "strconv"

// behavior is one kind of request, with its weight within its class.
type behavior struct {
	w float64
	f func(*Generator)
}

func (g *Generator) node() *node { return pick(g.r, g.c.nodes) }
func (g *Generator) pod() *pod   { return pick(g.r, g.c.pods) }
func (g *Generator) app() *app   { return pick(g.r, g.c.apps) }

// churnPod picks a pod that is being created or deleted: app pods churn
// with rollouts and scaling, node agents only when nodes come and go.
func (g *Generator) churnPod() *pod {
	if g.r.chance(0.03) {
		return pick(g.r, g.c.dsPods)
	}
	return pick(g.r, g.c.appPods)
}

// get is a Metadata-level get of one object; a few miss.
func (g *Generator) get(a *actor, r *resource, ns, name, sub string) {
	g.e.actor = a
	g.target("get", r, ns, name, sub)
	g.e.latency = int64(g.r.between(400, 4000))
	if g.r.chance(0.015) {
		g.notFound()
	}
}

// list is a Metadata-level list of a collection (ns "" for every namespace).
func (g *Generator) list(a *actor, r *resource, ns, selector string) {
	g.e.actor = a
	g.target("list", r, ns, "", "")
	g.buf.uri = append(g.buf.uri, "?"...)
	if selector != "" {
		g.buf.uri = append(g.buf.uri, selector...)
		g.buf.uri = append(g.buf.uri, '&')
	}
	g.buf.uri = append(g.buf.uri, "limit=500&resourceVersion=0"...)
	g.e.uri = g.buf.uri
	g.e.latency = int64(g.r.between(2000, 120000))
}

// watch is a watch as audited: ResponseStarted when it opens and, for about
// half of them here, ResponseComplete when its timeout ends it minutes later.
func (g *Generator) watch(a *actor, r *resource, ns, selector string) {
	e := &g.e
	e.actor = a
	g.target("watch", r, ns, "", "")
	secs := int64(g.r.between(300, 599))
	u := append(g.buf.uri, "?allowWatchBookmarks=true&"...)
	if selector != "" {
		u = append(u, selector...)
		u = append(u, '&')
	}
	u = append(u, "resourceVersion="...)
	u = strconv.AppendInt(u, g.rv-int64(g.r.intn(5000)), 10)
	u = append(u, "&timeout="...)
	u = strconv.AppendInt(u, secs/60, 10)
	u = append(u, 'm')
	u = strconv.AppendInt(u, secs%60, 10)
	u = append(u, "s&timeoutSeconds="...)
	u = strconv.AppendInt(u, secs, 10)
	u = append(u, "&watch=true"...)
	g.buf.uri, e.uri = u, u
	if g.r.chance(0.5) {
		e.stage, e.latency = "ResponseStarted", int64(g.r.between(200, 900))
		return
	}
	e.age, e.latency = secs*1e6, secs*1e6
}

// nonResource is a request for a path outside the API's resources.
func (g *Generator) nonResource(a *actor, path string) {
	e := &g.e
	e.actor, e.verb = a, "get"
	g.buf.uri = append(g.buf.uri, path...)
	e.uri = g.buf.uri
	e.latency = int64(g.r.between(100, 2000))
}

// The configmaps and secrets each app pod mounts, by the names kubelets
// watch them under.
func podConfigs(p *pod) (configMap, secret string) {
	return p.app.name + "-config", p.app.name + "-credentials"
}

var readBehaviors = []behavior{
	{8, func(g *Generator) { n := g.node(); g.get(n.kubelet, rNodes, "", n.name, "") }},
	{8, func(g *Generator) { p := g.pod(); g.get(p.node.kubelet, rPods, p.app.ns, p.name, "") }},
	{6, kubeletWatchMounted},
	{2, func(g *Generator) {
		n := g.node()
		g.watch(n.kubelet, rPods, "", "fieldSelector=spec.nodeName%3D"+n.name)
	}},
	{1, func(g *Generator) { g.watch(g.node().kubelet, rServices, "", "") }},
	{3, func(g *Generator) {
		n := g.node()
		if g.r.chance(0.5) {
			g.watch(n.proxy, rServices, "", "labelSelector=%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name")
		} else {
			g.watch(n.proxy, rSlices, "", "labelSelector=%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name")
		}
	}},
	{0.5, func(g *Generator) { n := g.node(); g.get(n.proxy, rNodes, "", n.name, "") }},
	{2, func(g *Generator) {
		g.watch(g.c.coredns, pick(g.r, []*resource{rServices, rSlices, rNamespaces}), "", "")
	}},
	{10, controllerWatch},
	{5, controllerGet},
	{0.5, func(g *Generator) { g.watch(g.c.kcm, pick(g.r, []*resource{rSecrets, rSAs, rConfigMaps}), "", "") }},
	{3, func(g *Generator) {
		r := pick(g.r, []*resource{rPods, rNodes, rPVCs, rCSINodes, rNamespaces, rServices})
		sel := ""
		if r == rPods {
			sel = "fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed"
		}
		g.watch(g.c.scheduler, r, "", sel)
	}},
	{3, operatorWatch},
	{1.5, func(g *Generator) { g.nonResource(g.c.operators["prometheus"], "/metrics") }},
	{2, func(g *Generator) {
		p := g.pod()
		g.get(g.c.operators["fluent-bit"], rPods, p.app.ns, p.name, "")
	}},
	{2, func(g *Generator) {
		a := g.app()
		g.get(g.c.operators["argocd"], pick(g.r, []*resource{rDeployments, rServices, rConfigMaps, rSAs}), a.ns, a.name, "")
	}},
	{1.5, personRead},
	{0.5, func(g *Generator) {
		p := pick(g.r, g.c.people)
		g.watch(p, rPods, p.ns, "")
	}},
	{0.5, func(g *Generator) {
		a := pick(g.r, []*actor{pick(g.r, g.c.people), g.c.operators["argocd"]})
		g.nonResource(a, pick(g.r, []string{"/api", "/apis", "/openapi/v3", "/api/v1?timeout=32s", "/apis/apps/v1?timeout=32s"}))
	}},
	{3, func(g *Generator) {
		path := pick(g.r, []string{"/livez", "/readyz", "/healthz", "/readyz?verbose"})
		if g.r.chance(0.02) {
			path = "/version"
		}
		g.nonResource(g.c.anonymous, path)
	}},
	{1, func(g *Generator) {
		switch g.r.intn(3) {
		case 0:
			g.get(g.c.apiserver, rNamespaces, "", pick(g.r, []string{"default", "kube-system", "kube-public"}), "")
		case 1:
			g.get(g.c.apiserver, rServices, "default", "kubernetes", "")
		default:
			g.get(g.c.apiserver, rSlices, "default", "kubernetes", "")
		}
	}},
}

func kubeletWatchMounted(g *Generator) {
	p := g.pod()
	cm, sec := podConfigs(p)
	switch g.r.intn(3) {
	case 0:
		g.watch(p.node.kubelet, rConfigMaps, p.app.ns, "fieldSelector=metadata.name%3Dkube-root-ca.crt")
	case 1:
		g.watch(p.node.kubelet, rConfigMaps, p.app.ns, "fieldSelector=metadata.name%3D"+cm)
	default:
		g.watch(p.node.kubelet, rSecrets, p.app.ns, "fieldSelector=metadata.name%3D"+sec)
	}
}

// controllerResources is what each controller's informers watch.
var controllerResources = map[string][]*resource{
	"replicaset-controller":         {rReplicaSets, rPods},
	"deployment-controller":         {rDeployments, rReplicaSets, rPods},
	"daemon-set-controller":         {rDaemonSets, rPods, rNodes},
	"statefulset-controller":        {rSTS, rPods, rPVCs},
	"job-controller":                {rJobs, rPods},
	"cronjob-controller":            {rCronJobs, rJobs},
	"endpointslice-controller":      {rServices, rPods, rSlices, rNodes},
	"endpoint-controller":           {rServices, rPods, rEndpoints},
	"generic-garbage-collector":     {rPods, rReplicaSets, rDeployments, rConfigMaps, rSecrets, rSAs, rRoles, rRBs, rLeases, rEvents, rJobs},
	"namespace-controller":          {rNamespaces},
	"node-controller":               {rNodes, rPods, rLeases},
	"horizontal-pod-autoscaler":     {rHPAs},
	"ttl-after-finished-controller": {rJobs},
	"certificate-controller":        {rCSRs},
	"resourcequota-controller":      {rPods, rServices, rConfigMaps, rPVCs},
	"service-account-controller":    {rSAs, rNamespaces},
	"pvc-protection-controller":     {rPVCs, rPods},
	"disruption-controller":         {rPDBs, rPods, rDeployments, rSTS},
}

func controllerWatch(g *Generator) {
	a := pick(g.r, g.c.controllers)
	r := pick(g.r, controllerResources[a.name[len("system:serviceaccount:kube-system:"):]])
	if g.r.chance(0.1) {
		g.list(a, r, "", "")
		return
	}
	g.watch(a, r, "", "")
}

func controllerGet(g *Generator) {
	switch g.r.intn(5) {
	case 0:
		n := g.node()
		g.get(g.c.ctrl["node-controller"], rNodes, "", n.name, "")
	case 1:
		a := g.app()
		g.get(g.c.ctrl["deployment-controller"], rDeployments, a.ns, a.name, "")
	case 2:
		p := g.pod()
		g.get(g.c.ctrl["generic-garbage-collector"], rPods, p.app.ns, p.name, "")
	case 3:
		a := g.app()
		g.get(g.c.ctrl["service-account-controller"], rSAs, a.ns, a.sa, "")
	default:
		a := g.app()
		g.get(g.c.ctrl["replicaset-controller"], rReplicaSets, a.ns, a.name+"-"+a.hash, "")
	}
}

// operatorWatch is the add-ons' informers; ingress-nginx, cert-manager and
// argocd watch secrets in every namespace, as they do in real clusters.
func operatorWatch(g *Generator) {
	o := g.c.operators
	switch g.r.intn(7) {
	case 0, 1:
		ns := pick(g.r, g.c.namespaces)
		r := pick(g.r, []*resource{rPods, rEndpoints, rServices})
		if g.r.chance(0.3) {
			g.list(o["prometheus"], r, ns, "")
		} else {
			g.watch(o["prometheus"], r, ns, "")
		}
	case 2:
		g.watch(o["ingress"], pick(g.r, []*resource{rIngresses, rServices, rSlices, rSecrets, rConfigMaps}), "", "")
	case 3:
		g.watch(o["cert-manager"], pick(g.r, []*resource{rCerts, rSecrets, rIngresses}), "", "")
	case 4, 5:
		g.watch(o["argocd"], pick(g.r, []*resource{rDeployments, rSTS, rDaemonSets, rServices, rConfigMaps, rSecrets, rSAs, rRoles, rRBs, rCRoles, rCRBs, rApps, rNetPols}), "", "")
	default:
		g.watch(o["metrics-server"], pick(g.r, []*resource{rNodes, rPods}), "", "")
	}
}

// personRead is kubectl get/describe/logs in one's own namespace, and now
// and then a look elsewhere that RBAC denies.
func personRead(g *Generator) {
	p := pick(g.r, g.c.people)
	ns := p.ns
	denied := g.r.chance(0.03)
	if denied {
		ns = pick(g.r, g.c.appNS)
	}
	var pd *pod
	for range 4 {
		if pd = g.pod(); pd.app.ns == ns {
			break
		}
	}
	switch g.r.intn(6) {
	case 0, 1:
		g.list(p, pick(g.r, []*resource{rPods, rDeployments, rServices, rEvents, rConfigMaps}), ns, "")
	case 2:
		g.get(p, rPods, ns, pd.name, "")
	case 3:
		g.get(p, rPods, ns, pd.name, "log")
		g.query("?container=" + pd.app.name + "&tailLines=200")
	case 4:
		g.get(p, rDeployments, ns, pd.app.name, "")
	default:
		g.get(p, rConfigMaps, ns, pd.app.name+"-config", "")
	}
	if denied {
		g.e.latency = int64(g.r.between(200, 800))
		g.forbidden()
	}
}
