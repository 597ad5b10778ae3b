package gen

import (
	"strconv"
	"strings"
	"sync"
)

// Large objects are 100 KiB–1 MiB events: a dashboard in a ConfigMap or a
// CRD with a big schema, each in both the request and the response.
const (
	minLarge = 100 << 10
	maxLarge = 1 << 20
)

var largeBehaviors = []behavior{
	{1, largeConfigMap},
	{1, largeCRD},
}

// fillers are built once per process, the first time a generator needs
// them, so that importing the package costs nothing.
var fillers struct {
	once      sync.Once
	dashboard string // an escaped JSON document inside a JSON string
	props     string // CRD schema properties, fixed-size blocks
	block     int    // the length of one props block, comma included
}

func buildFillers() {
	var b strings.Builder
	for i := 0; b.Len() < maxLarge/2; i++ {
		n := strconv.Itoa(i)
		b.WriteString(`{\"id\":` + n + `,\"type\":\"timeseries\",\"title\":\"Request rate by route ` + n + `\",\"datasource\":{\"type\":\"prometheus\",\"uid\":\"prometheus\"},\"gridPos\":{\"h\":8,\"w\":12,\"x\":0,\"y\":` + n + `},\"targets\":[{\"expr\":\"sum by (route) (rate(http_requests_total{job=\\\"api\\\",panel=\\\"` + n + `\\\"}[5m]))\",\"legendFormat\":\"{{route}}\",\"refId\":\"A\"}],\"fieldConfig\":{\"defaults\":{\"unit\":\"reqps\"}}},`)
	}
	fillers.dashboard = b.String()
	b.Reset()
	const desc = "Field documentation as CRD generators write it: what the field configures, its default and how it interacts with the other fields of the resource."
	for i := 0; b.Len() < maxLarge/2; i++ {
		b.WriteString(`"field` + leftPad(i) + `":{"description":"` + desc + `","type":"string"},`)
	}
	fillers.props = b.String()
	fillers.block = len(`"field00000":{"description":"` + desc + `","type":"string"},`)
}

func leftPad(i int) string {
	s := strconv.Itoa(i)
	return strings.Repeat("0", 5-len(s)) + s
}

// largeSize draws an event size roughly log-uniformly, so most large
// objects are near the small end: an octave from 100 KiB, 200, 400 or
// 800 KiB, then a uniform size within it, at most 1 MiB. Integers only, so
// that every architecture draws the same sizes.
func (g *Generator) largeSize() int {
	const margin = 8 << 10 // the rest of the event, and cuts at whole panels or fields
	base := (minLarge + margin) << g.r.intn(4)
	return min(base+g.r.intn(base), maxLarge-margin)
}

// largeConfigMap is argocd syncing a Grafana dashboard.
func largeConfigMap(g *Generator) {
	fillers.once.Do(buildFillers)
	// Both bodies carry the payload; leave room for the rest of the event.
	n := g.largeSize()/2 - 1500
	data := fillers.dashboard[:n]
	data = data[:strings.LastIndex(data, "},{")+2] // whole panels only
	name := "grafana-dashboard-" + pick(g.r, appNamespaces)
	g.requestResponse("update", g.c.operators["argocd"], rConfigMaps, "monitoring", name, "", 200)
	m := &meta{name: name, ns: "monitoring", uid: string(appendUUIDFrom(nil, mix64(uint64(len(name))), 77)), created: g.created(),
		labels:  `{"grafana_dashboard":"1","app.kubernetes.io/managed-by":"argocd"}`,
		manager: "argocd-controller", operation: "Update", apiVersion: "v1", fields: `{"f:data":{".":{},"f:dashboard.json":{}}}`}
	req := g.appendDashboard(g.buf.req[:0], m, data, false)
	resp := g.appendDashboard(g.buf.resp[:0], m, data, true)
	g.setBodies(req, resp)
}

func (g *Generator) appendDashboard(dst []byte, m *meta, panels string, full bool) []byte {
	dst = appendHead(dst, rConfigMaps)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"data":{"dashboard.json":"{\"title\":\"`...)
	dst = append(dst, m.name...)
	dst = append(dst, `\",\"schemaVersion\":39,\"panels\":[`...)
	dst = append(dst, panels...)
	return append(dst, `{}]}"}}`...)
}

// largeCRD is argocd applying an operator's CRD.
func largeCRD(g *Generator) {
	fillers.once.Do(buildFillers)
	n := (g.largeSize()/2 - 1500) / fillers.block
	props := fillers.props[:n*fillers.block-1] // drop the last comma
	kind := pick(g.r, []string{"Prometheus", "Alertmanager", "ServiceMonitor", "Application", "Certificate", "Kafka"})
	plural := strings.ToLower(kind) + "s"
	group := "example.operators.io"
	name := plural + "." + group
	verb, code := "update", 200
	if g.r.chance(0.1) {
		verb, code = "create", 201
	}
	g.requestResponse(verb, g.c.operators["argocd"], rCRDs, "", name, "", code)
	m := &meta{name: name, uid: string(appendUUIDFrom(nil, mix64(uint64(len(name))), 78)), created: g.created(), generation: int64(g.r.between(1, 9)),
		labels:  `{"app.kubernetes.io/managed-by":"argocd"}`,
		manager: "argocd-controller", operation: "Update", apiVersion: "apiextensions.k8s.io/v1", fields: `{"f:spec":{"f:versions":{}}}`}
	req := g.appendCRD(g.buf.req[:0], m, group, kind, plural, props, false)
	resp := g.appendCRD(g.buf.resp[:0], m, group, kind, plural, props, true)
	g.setBodies(req, resp)
}

func (g *Generator) appendCRD(dst []byte, m *meta, group, kind, plural, props string, full bool) []byte {
	dst = appendHead(dst, rCRDs)
	dst = g.appendMeta(dst, m, full)
	dst = append(dst, `,"spec":{"group":"`...)
	dst = append(dst, group...)
	dst = append(dst, `","names":{"plural":"`...)
	dst = append(dst, plural...)
	dst = append(dst, `","singular":"`...)
	dst = append(dst, plural[:len(plural)-1]...)
	dst = append(dst, `","kind":"`...)
	dst = append(dst, kind...)
	dst = append(dst, `","listKind":"`...)
	dst = append(dst, kind...)
	dst = append(dst, `List"},"scope":"Namespaced","versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{`...)
	dst = append(dst, props...)
	dst = append(dst, `}}}}},"subresources":{"status":{}}}],"conversion":{"strategy":"None"}}`...)
	if full {
		dst = append(dst, `,"status":{"conditions":[{"type":"Established","status":"True","lastTransitionTime":"`...)
		dst = g.objClk.appendSec(dst, m.created)
		dst = append(dst, `","reason":"InitialNamesAccepted","message":"the initial names have been accepted"}],"acceptedNames":{"plural":"`...)
		dst = append(dst, plural...)
		dst = append(dst, `","kind":"`...)
		dst = append(dst, kind...)
		dst = append(dst, `"},"storedVersions":["v1"]}`...)
	}
	return append(dst, '}')
}
