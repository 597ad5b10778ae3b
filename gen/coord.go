package gen

// leader is a leader-election lease and the component holding it.
type leader struct {
	actor     func(*cluster) *actor
	ns, lease string
}

var leaders = []leader{
	{func(c *cluster) *actor { return c.kcm }, "kube-system", "kube-controller-manager"},
	{func(c *cluster) *actor { return c.scheduler }, "kube-system", "kube-scheduler"},
	{func(c *cluster) *actor { return c.operators["cert-manager"] }, "kube-system", "cert-manager-controller"},
	{func(c *cluster) *actor { return c.operators["cainjector"] }, "kube-system", "cert-manager-cainjector-leader-election"},
	{func(c *cluster) *actor { return c.operators["ingress"] }, "ingress-nginx", "ingress-nginx-leader"},
	{func(c *cluster) *actor { return c.operators["argocd"] }, "argocd", "argocd-application-controller"},
}

// apiserverLeases are the API servers' identity leases (one per replica).
var apiserverLeases = []string{"apiserver-k3x7qplm2vdbrz5hsw6ftc4ng", "apiserver-m8v2rjxq4tlz7dkc9pbn5hwsf", "apiserver-z5c7kdq2hmx4vfp8lwbtr6sjn"}

var coordinationBehaviors = []behavior{
	{40, func(g *Generator) {
		n := g.node()
		g.update(n.kubelet, rLeases, "kube-node-lease", n.name, "")
		g.query("?timeout=10s")
	}},
	{10, func(g *Generator) {
		l := pick(g.r, leaders)
		if g.r.chance(0.5) {
			g.get(l.actor(g.c), rLeases, l.ns, l.lease, "")
			g.query("?timeout=5s")
			return
		}
		g.update(l.actor(g.c), rLeases, l.ns, l.lease, "")
		g.query("?timeout=5s")
	}},
	{3, func(g *Generator) {
		g.update(g.c.apiserver, rLeases, "kube-system", pick(g.r, apiserverLeases), "")
	}},
	{6, eventCreate},
	{3, func(g *Generator) {
		p := g.pod()
		g.e.actor = p.node.kubelet
		g.target("patch", rEvents, p.app.ns, eventName(g, p), "")
		g.e.latency = int64(g.r.between(800, 5000))
	}},
}

// update is a Metadata-level update; a few lose a race.
func (g *Generator) update(a *actor, r *resource, ns, name, sub string) {
	g.e.actor = a
	g.target("update", r, ns, name, sub)
	g.e.latency = int64(g.r.between(1000, 8000))
	if g.r.chance(0.004) {
		g.conflict()
	}
}

// eventName is a Kubernetes event's name: the object's name and a hex
// timestamp-like suffix.
func eventName(g *Generator, p *pod) string {
	b := append(g.buf.tmp[:0], p.name...)
	b = append(b, '.')
	h := g.r.u64()
	for range 16 {
		b = append(b, hexDigits[h&15])
		h >>= 4
	}
	g.buf.tmp = b
	return string(b)
}

// eventCreate is a Kubernetes event recorded by the kubelet, a controller
// or the scheduler.
func eventCreate(g *Generator) {
	p := g.pod()
	e := &g.e
	switch g.r.intn(4) {
	case 0, 1:
		e.actor = p.node.kubelet
		g.target("create", rEvents, p.app.ns, eventName(g, p), "")
	case 2:
		e.actor = g.c.ctrl["replicaset-controller"]
		g.target("create", rEvents, p.app.ns, eventName(g, p), "")
	default:
		e.actor = g.c.scheduler
		g.target("create", rEventsV1, p.app.ns, eventName(g, p), "")
	}
	e.code, e.latency = 201, int64(g.r.between(800, 6000))
}

var statusBehaviors = []behavior{
	{10, func(g *Generator) {
		p := g.pod()
		g.patch(p.node.kubelet, rPods, p.app.ns, p.name, "status")
	}},
	{4, func(g *Generator) {
		n := g.node()
		g.patch(n.kubelet, rNodes, "", n.name, "status")
	}},
	{4, func(g *Generator) {
		a := g.app()
		g.update(g.c.ctrl["endpointslice-controller"], rSlices, a.ns, a.name+"-"+a.hash[:5], "")
	}},
	{1, func(g *Generator) {
		a := g.app()
		g.update(g.c.ctrl["endpoint-controller"], rEndpoints, a.ns, a.name, "")
	}},
	{2, func(g *Generator) {
		p := g.pod()
		g.e.actor = g.c.scheduler
		g.target("create", rPods, p.app.ns, p.name, "binding")
		g.e.code, g.e.latency = 201, int64(g.r.between(1000, 6000))
	}},
	{4, func(g *Generator) {
		p := g.pod()
		g.e.actor = p.node.kubelet
		g.target("create", rSAs, p.app.ns, p.app.sa, "token")
		g.e.code, g.e.latency = 201, int64(g.r.between(1000, 4000))
	}},
	{3, workloadStatus},
	{1, func(g *Generator) {
		a := g.app()
		g.get(g.c.ctrl["horizontal-pod-autoscaler"], rDeployments, a.ns, a.name, "scale")
	}},
}

func (g *Generator) patch(a *actor, r *resource, ns, name, sub string) {
	g.e.actor = a
	g.target("patch", r, ns, name, sub)
	g.e.latency = int64(g.r.between(1000, 9000))
}

func workloadStatus(g *Generator) {
	a := g.app()
	switch a.kind {
	case "DaemonSet":
		g.update(g.c.ctrl["daemon-set-controller"], rDaemonSets, a.ns, a.name, "status")
	case "StatefulSet":
		g.update(g.c.ctrl["statefulset-controller"], rSTS, a.ns, a.name, "status")
	default:
		if g.r.chance(0.5) {
			g.update(g.c.ctrl["deployment-controller"], rDeployments, a.ns, a.name, "status")
		} else {
			g.update(g.c.ctrl["replicaset-controller"], rReplicaSets, a.ns, a.name+"-"+a.hash, "status")
		}
	}
}
