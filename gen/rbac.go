package gen

// Role rules as JSON arrays. The benign ones are what charts install: read
// access, and write access to the leases and configmaps leader election
// needs.
const (
	benignRoleRules      = `[{"verbs":["get","list","watch"],"apiGroups":[""],"resources":["configmaps","pods","services","endpoints"]},{"verbs":["get","create","update"],"apiGroups":["coordination.k8s.io"],"resources":["leases"]}]`
	operatorClusterRules = `[{"verbs":["get","list","watch"],"apiGroups":[""],"resources":["nodes","pods","namespaces"]},{"verbs":["get","list","watch"],"apiGroups":["apps"],"resources":["deployments","daemonsets","statefulsets"]}]`
)

func saSubject(sa, ns string) string {
	return `[{"kind":"ServiceAccount","name":"` + sa + `","namespace":"` + ns + `"}]`
}

// roleCreate creates a Role in an app namespace, or a ClusterRole.
func (g *Generator) roleCreate(who *actor, rules string, cluster bool) {
	a := g.app()
	r, ns, name := rRoles, a.ns, a.name+"-leader-election"
	if cluster {
		r, ns, name = rCRoles, "", a.ns+"-"+a.name+"-reader"
	}
	g.roleWrite("create", who, r, ns, name, rules)
}

// roleWrite writes a Role or ClusterRole with the given rules.
func (g *Generator) roleWrite(verb string, who *actor, r *resource, ns, name, rules string) {
	code := 201
	ref := name
	if verb != "create" {
		code = 200
	}
	g.requestResponse(verb, who, r, ns, ref, "", code)
	m := &meta{name: name, ns: ns, uid: string(appendUUID(nil, g.r)), created: g.now / 1e6,
		labels:  `{"app.kubernetes.io/managed-by":"Helm"}`,
		manager: managerOf(who), operation: "Update", apiVersion: "rbac.authorization.k8s.io/v1",
		fields: `{"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/managed-by":{}}},"f:rules":{}}`}
	req := g.appendRole(g.buf.req[:0], r, m, rules, false)
	resp := g.appendRole(g.buf.resp[:0], r, m, rules, true)
	g.setBodies(req, resp)
}

func (g *Generator) appendRole(dst []byte, r *resource, m *meta, rules string, full bool) []byte {
	dst = appendHead(dst, r)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"rules":`...)
	dst = append(dst, rules...)
	return append(dst, '}')
}

// bindingCreate binds subjects (a JSON array) to a role.
func (g *Generator) bindingCreate(who *actor, r *resource, ns, name, roleKind, role, subjects string) {
	g.requestResponse("create", who, r, ns, name, "", 201)
	m := &meta{name: name, ns: ns, uid: string(appendUUID(nil, g.r)), created: g.now / 1e6,
		manager: managerOf(who), operation: "Update", apiVersion: "rbac.authorization.k8s.io/v1",
		fields: `{"f:roleRef":{},"f:subjects":{}}`}
	req := g.appendBinding(g.buf.req[:0], r, m, roleKind, role, subjects, false)
	resp := g.appendBinding(g.buf.resp[:0], r, m, roleKind, role, subjects, true)
	g.setBodies(req, resp)
}

func (g *Generator) appendBinding(dst []byte, r *resource, m *meta, roleKind, role, subjects string, full bool) []byte {
	dst = appendHead(dst, r)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"subjects":`...)
	dst = append(dst, subjects...)
	dst = append(dst, `,"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"`...)
	dst = append(dst, roleKind...)
	dst = append(dst, `","name":"`...)
	dst = append(dst, role...)
	return append(dst, `"}}`...)
}

// managerOf is the field manager name a client's writes are recorded under.
func managerOf(a *actor) string {
	switch {
	case a.ns == "argocd":
		return "argocd-controller"
	case a.ns == "cert-manager":
		return "cert-manager-cainjector"
	case len(a.name) > 12 && a.name[:12] == "system:node:":
		return "kubelet"
	case len(a.name) > 7 && a.name[:7] == "system:":
		return "kube-controller-manager"
	}
	return "kubectl-client-side-apply"
}

// serviceAccountCreate creates a service account.
func (g *Generator) serviceAccountCreate(who *actor, ns, name string) {
	g.requestResponse("create", who, rSAs, ns, name, "", 201)
	m := &meta{name: name, ns: ns, uid: string(appendUUID(nil, g.r)), created: g.now / 1e6,
		manager: managerOf(who), operation: "Update", apiVersion: "v1", fields: `{"f:metadata":{}}`}
	req := appendHead(g.buf.req[:0], rSAs)
	req = g.appendMeta(req, m, false)
	req = append(req, '}')
	resp := appendHead(g.buf.resp[:0], rSAs)
	resp = g.appendMeta(resp, m, true)
	resp = append(resp, '}')
	g.setBodies(req, resp)
}

// serviceCreate creates a service of the given type.
func (g *Generator) serviceCreate(who *actor, ns, name, typ string) {
	g.requestResponse("create", who, rServices, ns, name, "", 201)
	m := &meta{name: name, ns: ns, uid: string(appendUUID(nil, g.r)), created: g.now / 1e6,
		labels:  `{"app.kubernetes.io/name":"` + name + `"}`,
		manager: managerOf(who), operation: "Update", apiVersion: "v1", fields: `{"f:spec":{"f:ports":{},"f:selector":{},"f:type":{}}}`}
	req := g.appendService(g.buf.req[:0], m, typ, false)
	resp := g.appendService(g.buf.resp[:0], m, typ, true)
	g.setBodies(req, resp)
}

func (g *Generator) appendService(dst []byte, m *meta, typ string, full bool) []byte {
	dst = appendHead(dst, rServices)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"spec":{"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":8080`...)
	if typ == "NodePort" && full {
		dst = append(dst, `,"nodePort":`...)
		dst = appendInt(dst, int64(g.r.between(30000, 32767)))
	}
	dst = append(dst, `}],"selector":{"app.kubernetes.io/name":"`...)
	dst = append(dst, m.name...)
	dst = append(dst, '"', '}')
	if full {
		dst = append(dst, `,"clusterIP":"10.96.`...)
		dst = appendInt(dst, int64(g.r.intn(250)))
		dst = append(dst, '.')
		dst = appendInt(dst, int64(g.r.between(2, 250)))
		dst = append(dst, '"')
	}
	dst = append(dst, `,"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","sessionAffinity":"None"}`...)
	if full {
		dst = append(dst, `,"status":{"loadBalancer":{}}`...)
	}
	return append(dst, '}')
}

// webhookConfig writes an admission webhook configuration. verb is create,
// update or delete.
func (g *Generator) webhookConfig(who *actor, r *resource, verb, name string) {
	code := 200
	if verb == "create" {
		code = 201
	}
	g.requestResponse(verb, who, r, "", name, "", code)
	m := &meta{name: name, uid: string(appendUUID(nil, g.r)), created: g.created(), generation: int64(g.r.between(1, 30)),
		manager: managerOf(who), operation: "Update", apiVersion: r.apiVersion(), fields: `{"f:webhooks":{}}`}
	if verb == "delete" {
		req := append(g.buf.req[:0], `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}`...)
		resp := append(g.buf.resp[:0], `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"`...)
		resp = append(resp, name...)
		resp = append(resp, `","group":"admissionregistration.k8s.io","kind":"`...)
		resp = append(resp, r.plural...)
		resp = append(resp, `","uid":"`...)
		resp = append(resp, m.uid...)
		resp = append(resp, `"}}`...)
		g.setBodies(req, resp)
		return
	}
	req := g.appendWebhook(g.buf.req[:0], r, m, name, false)
	resp := g.appendWebhook(g.buf.resp[:0], r, m, name, true)
	g.setBodies(req, resp)
}

func (g *Generator) appendWebhook(dst []byte, r *resource, m *meta, svc string, full bool) []byte {
	dst = appendHead(dst, r)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"webhooks":[{"name":"`...)
	dst = append(dst, svc...)
	dst = append(dst, `.example.com","clientConfig":{"service":{"namespace":"`...)
	dst = append(dst, svc...)
	dst = append(dst, `","name":"`...)
	dst = append(dst, svc...)
	dst = append(dst, `","path":"/mutate","port":443},"caBundle":"`...)
	dst = append(dst, placeholder...)
	dst = append(dst, `"},"rules":[{"operations":["CREATE","UPDATE"],"apiGroups":["*"],"apiVersions":["*"],"resources":["pods","deployments"],"scope":"*"}],"failurePolicy":"Ignore","matchPolicy":"Equivalent","namespaceSelector":{},"objectSelector":{},"sideEffects":"None","timeoutSeconds":10,"admissionReviewVersions":["v1"]`...)
	if r == rMWCs {
		dst = append(dst, `,"reinvocationPolicy":"Never"`...)
	}
	return append(dst, "}]}"...)
}

// csrCreate is a certificate signing request by username in group; request
// (see csrRequest) holds the identity it asks for.
func (g *Generator) csrCreate(who *actor, name, signer, username, group, request string) {
	g.requestResponse("create", who, rCSRs, "", name, "", 201)
	m := &meta{name: name, uid: string(appendUUID(nil, g.r)), created: g.now / 1e6,
		manager: managerOf(who), operation: "Update", apiVersion: "certificates.k8s.io/v1", fields: `{"f:spec":{"f:request":{},"f:signerName":{},"f:usages":{}}}`}
	c := csrObject{signer: signer, username: username, group: group, request: request}
	req := g.appendCSR(g.buf.req[:0], m, &c, false)
	resp := g.appendCSR(g.buf.resp[:0], m, &c, true)
	g.setBodies(req, resp)
}

// csrApprove is an approval as kubectl and the controller send it: an
// update of the approval subresource with the whole object, request included.
func (g *Generator) csrApprove(who *actor, name, reason string, c csrObject) {
	g.requestResponse("update", who, rCSRs, "", name, "approval", 200)
	m := &meta{name: name, uid: string(appendUUID(nil, g.r)), created: g.now/1e6 - 2,
		manager: managerOf(who), operation: "Update", apiVersion: "certificates.k8s.io/v1", fields: `{"f:status":{"f:conditions":{}}}`}
	c.approved = reason
	req := g.appendCSR(g.buf.req[:0], m, &c, false)
	resp := g.appendCSR(g.buf.resp[:0], m, &c, true)
	g.setBodies(req, resp)
}

// csrObject is what a CSR object says: who asked (username, group), with
// which signer, the request, and the approval reason once approved.
type csrObject struct {
	signer, username, group, request, approved string
}

func (g *Generator) appendCSR(dst []byte, m *meta, c *csrObject, full bool) []byte {
	dst = appendHead(dst, rCSRs)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"spec":{"request":"`...)
	dst = append(dst, c.request...)
	dst = append(dst, `","signerName":"`...)
	dst = append(dst, c.signer...)
	dst = append(dst, `","usages":["digital signature","client auth"]`...)
	if full {
		dst = append(dst, `,"username":"`...)
		dst = append(dst, escape(c.username)...)
		dst = append(dst, `","groups":["`...)
		dst = append(dst, c.group...)
		dst = append(dst, `","system:authenticated"]`...)
	}
	dst = append(dst, '}')
	if c.approved != "" {
		dst = append(dst, `,"status":{"conditions":[{"type":"Approved","status":"True","reason":"`...)
		dst = append(dst, c.approved...)
		dst = append(dst, `","message":"This CSR was approved.","lastUpdateTime":"`...)
		dst = g.objClk.appendSec(dst, g.now/1e6)
		dst = append(dst, `","lastTransitionTime":"`...)
		dst = g.objClk.appendSec(dst, g.now/1e6)
		dst = append(dst, `"}]}`...)
	} else if full {
		dst = append(dst, `,"status":{}`...)
	}
	return append(dst, '}')
}
