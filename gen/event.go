package gen

import "strconv"

// evt is the event being generated: behaviours fill it, appendEnvelope
// writes it. Byte slices point into the generator's scratch buffers.
type evt struct {
	level, stage, verb string
	uri                []byte
	actor              *actor
	impersonated       string // the impersonatedUser object, or ""
	res                *resource
	ns, name, sub      string
	code               int
	status             []byte // a full responseStatus; nil: {"metadata":{},"code":N}
	req, resp          []byte // request and response objects; nil: absent
	latency            int64  // µs from request to this stage
	age                int64  // µs the request was open before now (long watches)
	forbid             bool
	annotations        string // extra annotations, each `,"key":"value"`
	attack             string
}

// scratch holds the reusable buffers of one generator.
type scratch struct {
	uri, status, req, resp, tmp []byte
}

func (e *evt) reset(s *scratch) {
	*e = evt{level: "Metadata", stage: "ResponseComplete", code: 200, latency: 1500}
	s.uri, s.status, s.req, s.resp, s.tmp = s.uri[:0], s.status[:0], s.req[:0], s.resp[:0], s.tmp[:0]
}

// target sets the object the request is about and its URI path.
func (g *Generator) target(verb string, r *resource, ns, name, sub string) {
	e := &g.e
	e.verb, e.res, e.ns, e.name, e.sub = verb, r, ns, name, sub
	if verb == "create" && sub == "" {
		name = "" // a create POSTs to the collection; only objectRef names the object
	}
	g.buf.uri = appendPath(g.buf.uri, r, ns, name, sub)
	e.uri = g.buf.uri
}

// query appends a query string to the URI.
func (g *Generator) query(q string) {
	g.buf.uri = append(g.buf.uri, q...)
	g.e.uri = g.buf.uri
}

// notFound makes the request fail as a get of a missing object does.
func (g *Generator) notFound() {
	e := &g.e
	s := append(g.buf.status[:0], `{"metadata":{},"status":"Failure","message":"`...)
	s = append(s, e.res.plural...)
	s = append(s, ` \"`...)
	s = append(s, e.name...)
	s = append(s, `\" not found`...)
	g.failure(s, "NotFound", 404)
}

// conflict makes an update fail on a stale resourceVersion, as lease and
// status updates sometimes do.
func (g *Generator) conflict() {
	e := &g.e
	s := append(g.buf.status[:0], `{"metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on `...)
	s = append(s, e.res.plural...)
	if e.res.group != "" {
		s = append(s, '.')
		s = append(s, e.res.group...)
	}
	s = append(s, ` \"`...)
	s = append(s, e.name...)
	s = append(s, `\": the object has been modified; please apply your changes to the latest version and try again`...)
	g.failure(s, "Conflict", 409)
}

// failure ends a failure Status about the event's object, whose message s
// holds so far, and makes it the response.
func (g *Generator) failure(s []byte, reason string, code int) {
	e := &g.e
	s = append(s, `","reason":"`...)
	s = append(s, reason...)
	s = append(s, `","details":{"name":"`...)
	s = append(s, e.name...)
	s = append(s, `","kind":"`...)
	s = append(s, e.res.plural...)
	s = append(s, `"},"code":`...)
	s = strconv.AppendInt(s, int64(code), 10)
	s = append(s, '}')
	g.buf.status, e.status, e.code = s, s, code
}

// forbidden makes the request denied by RBAC.
func (g *Generator) forbidden() {
	e := &g.e
	s := append(g.buf.status[:0], `{"metadata":{},"status":"Failure","message":"`...)
	s = append(s, e.res.plural...)
	s = append(s, ` is forbidden: User \"`...)
	s = append(s, escape(e.actor.name)...)
	s = append(s, `\" cannot `...)
	s = append(s, e.verb...)
	s = append(s, ` resource \"`...)
	s = append(s, e.res.plural...)
	s = append(s, `\" in API group \"`...)
	s = append(s, e.res.group...)
	s = append(s, `\"","reason":"Forbidden","details":{"kind":"`...)
	s = append(s, e.res.plural...)
	s = append(s, `"},"code":403}`...)
	g.buf.status, e.status, e.code, e.forbid = s, s, 403, true
}

func (g *Generator) nextRV() int64 {
	g.rv += int64(1 + g.r.intn(40))
	return g.rv
}

// appendEnvelope writes the event with kube-apiserver's member order.
func (g *Generator) appendEnvelope(dst []byte) []byte {
	e := &g.e
	dst = append(dst, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"`...)
	dst = append(dst, e.level...)
	dst = append(dst, `","auditID":"`...)
	dst = appendUUID(dst, g.r)
	dst = append(dst, `","stage":"`...)
	dst = append(dst, e.stage...)
	dst = append(dst, `","requestURI":"`...)
	dst = append(dst, e.uri...)
	dst = append(dst, `","verb":"`...)
	dst = append(dst, e.verb...)
	dst = append(dst, `",`...)
	dst = append(dst, e.actor.user...)
	if e.impersonated != "" {
		dst = append(dst, `,"impersonatedUser":`...)
		dst = append(dst, e.impersonated...)
	}
	dst = append(dst, ',')
	dst = append(dst, e.actor.origin...)
	if e.res != nil {
		dst = append(dst, ',')
		dst = appendObjectRef(dst, e.res, e.ns, e.name, e.sub)
	}
	dst = append(dst, `,"responseStatus":`...)
	if e.status != nil {
		dst = append(dst, e.status...)
	} else {
		dst = append(dst, `{"metadata":{},"code":`...)
		dst = strconv.AppendInt(dst, int64(e.code), 10)
		dst = append(dst, '}')
	}
	if len(e.req) > 0 {
		dst = append(dst, `,"requestObject":`...)
		dst = append(dst, e.req...)
	}
	if len(e.resp) > 0 {
		dst = append(dst, `,"responseObject":`...)
		dst = append(dst, e.resp...)
	}
	received := g.now - e.age
	dst = append(dst, `,"requestReceivedTimestamp":"`...)
	dst = g.clk.appendMicro(dst, received)
	dst = append(dst, `","stageTimestamp":"`...)
	dst = g.clk.appendMicro(dst, received+e.latency)
	dst = append(dst, `","annotations":{"authorization.k8s.io/decision":"`...)
	if e.forbid {
		dst = append(dst, `forbid","authorization.k8s.io/reason":""`...)
	} else {
		dst = append(dst, `allow","authorization.k8s.io/reason":"`...)
		dst = append(dst, e.actor.reason...)
		dst = append(dst, '"')
	}
	dst = append(dst, e.annotations...)
	if e.attack != "" {
		dst = append(dst, `,"`+AttackAnnotation+`":"`...)
		dst = append(dst, e.attack...)
		dst = append(dst, '"')
	}
	return append(dst, "}}"...)
}
