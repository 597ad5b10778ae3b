package fields

import (
	"net/url"
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
)

// This file holds the extractors of the ka.* fields that are not per
// container (see containers.go for those).

// top returns an extractor for the single value TEXT(O.<path>).
func top(path ...string) Extractor {
	first, rest := path[0], path[1:]
	return func(ev *audit.Event, _ *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		dst, _ = appendText(dst, ev.Get(first, rest...))
		return dst
	}
}

// topList returns an extractor for the array O.<path>, one TEXT element per
// item. A value that is not an array gives nothing, like an empty one.
func topList(path ...string) Extractor {
	first, rest := path[0], path[1:]
	return func(ev *audit.Event, _ *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		dst, _ = appendElems(dst, ev.Get(first, rest...))
		return dst
	}
}

// Paths below requestObject, built once: a literal in the extractor would
// be a new slice for every event.
var (
	firstImageKeys = []string{"spec", "containers", "image"}
	privilegedKeys = []string{"spec", "containers", "securityContext", "privileged"}
	portsKeys      = []string{"spec", "ports"}
	hostPathKeys   = []string{"spec", "volumes", "hostPath", "path"}
	volumeKeys     = []string{"spec", "volumes", ""}
)

// walkTexts returns an extractor that walks requestObject.<keys> (see walk)
// and keeps TEXT of every value found, skipping holes.
func walkTexts(keys ...string) Extractor {
	return func(ev *audit.Event, arg *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		var buf valBuf
		vals, _ := walkReq(buf[:0], ev, index(arg), keys)
		return appendTexts(dst, vals)
	}
}

// uriParam is ka.uri.param[key]: the first value of the query parameter
// key, parsed exactly as Go's net/url does (so a ';' in the query or a bad
// %-escape means no value at all).
func uriParam(ev *audit.Event, arg *Arg, dst []string) []string {
	if !isAudit(ev) || arg == nil {
		return dst
	}
	uri, ok := ev.Top("requestURI").Text()
	// Without '?' the query is empty whatever url.Parse says: skip the parse.
	if !ok || strings.IndexByte(uri, '?') < 0 {
		return dst
	}
	u, err := url.Parse(uri)
	if err != nil {
		return dst
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return dst
	}
	if vals := q[arg.Text]; len(vals) > 0 {
		dst = append(dst, vals[0])
	}
	return dst
}

// targetPodName is ka.target.pod.name: the response object's name, only
// for requests on pods themselves (a subresource such as exec or log names
// the same pod but is not a pod object). A subresource that is not a
// non-empty string does not count as one, as upstream reads it as a string.
func targetPodName(ev *audit.Event, _ *Arg, dst []string) []string {
	if !isAudit(ev) {
		return dst
	}
	if res, _ := ev.Get("objectRef", "resource").Str(); res != "pods" {
		return dst
	}
	if sub, _ := ev.Get("objectRef", "subresource").Str(); sub != "" {
		return dst
	}
	dst, _ = appendText(dst, ev.Get("responseObject", "metadata", "name"))
	return dst
}

// subjectNames returns the extractor of the names of the binding subjects
// of one kind. A subject needs a string kind and a string name to count.
func subjectNames(kind string, withNamespace bool) Extractor {
	return func(ev *audit.Event, _ *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		ev.Get("requestObject", "subjects").Each(func(s audit.Value) bool {
			dst = appendSubject(dst, s, kind, withNamespace)
			return true
		})
		return dst
	}
}

func appendSubject(dst []string, s audit.Value, kind string, withNamespace bool) []string {
	k, ok := s.Get("kind").Str()
	if !ok || k != kind {
		return dst
	}
	name, ok := s.Get("name").Str()
	if !ok {
		return dst
	}
	if !withNamespace {
		return append(dst, name)
	}
	ns, ok := s.Get("namespace").Str()
	if !ok {
		return dst // upstream skips service accounts without a namespace
	}
	return append(dst, ns+":"+name)
}

// hasName is the deprecated ka.req.binding.subject.has_name[...]: upstream
// documents "N/A" but has always answered "true", whatever the key.
func hasName(ev *audit.Event, _ *Arg, dst []string) []string {
	if !isAudit(ev) {
		return dst
	}
	return append(dst, "true")
}

// firstContainer returns an extractor of containers[0].image, or of its
// repository part: the deprecated single-container fields.
func firstContainer(repo bool) Extractor {
	return func(ev *audit.Event, _ *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		var buf valBuf
		vals, ok := walkReq(buf[:0], ev, 0, firstImageKeys)
		if !ok {
			return dst
		}
		img, ok := vals[0].Text()
		if !ok {
			return dst
		}
		if repo {
			img = repository(img)
		}
		return append(dst, img)
	}
}

// anyPrivileged is the deprecated ka.req.container.privileged: "true" when
// some container's securityContext.privileged is JSON true, else "false";
// no value when the pod has no containers at all.
func anyPrivileged(ev *audit.Event, _ *Arg, dst []string) []string {
	if !isAudit(ev) {
		return dst
	}
	var buf valBuf
	vals, ok := walkReq(buf[:0], ev, noIndex, privilegedKeys)
	if !ok {
		return dst
	}
	for _, v := range vals {
		if v.IsTrue() {
			return append(dst, "true")
		}
	}
	return append(dst, "false")
}

// rulesField returns the extractor of ka.req.role.rules.<key>: the items of
// every rule's <key> array, flattened. The index selects a rule (upstream
// applies it to the rules array, not to the items); a <key> that is not an
// array is ignored.
func rulesField(key string) Extractor {
	keys := []string{"rules", key}
	return func(ev *audit.Event, arg *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		var buf valBuf
		vals, _ := walkReq(buf[:0], ev, index(arg), keys)
		for _, v := range vals {
			dst, _ = appendElems(dst, v)
		}
		return dst
	}
}

// servicePorts is ka.req.service.ports: one compact JSON object per port.
// (Upstream gives the whole ports array as a single element; see
// docs/COMPATIBILITY.md.) The index picks one port.
func servicePorts(ev *audit.Event, arg *Arg, dst []string) []string {
	if !isAudit(ev) {
		return dst
	}
	var buf valBuf
	vals, _ := walkReq(buf[:0], ev, noIndex, portsKeys)
	n := len(dst)
	for _, v := range vals {
		if v.Kind() == audit.Array {
			dst, _ = appendElems(dst, v)
		} else {
			dst, _ = appendText(dst, v)
		}
	}
	return pick(dst, n, index(arg))
}

// pick keeps only element i of the values appended after dst[:n], or none
// when there is no such element; noIndex keeps them all.
func pick(dst []string, n, i int) []string {
	switch {
	case i == noIndex:
		return dst
	case i < len(dst)-n:
		dst[n] = dst[n+i]
		return dst[:n+1]
	}
	return dst[:n]
}

// volumeHostPath is the deprecated ka.req.volume.hostpath[path]: "true"
// when some hostPath volume has exactly that path, or starts with it when
// the key ends in '*'; "false" otherwise; no value without spec.volumes.
func volumeHostPath(ev *audit.Event, arg *Arg, dst []string) []string {
	if !isAudit(ev) || arg == nil {
		return dst
	}
	var buf valBuf
	vals, ok := walkReq(buf[:0], ev, noIndex, hostPathKeys)
	if !ok {
		return dst
	}
	key := arg.Text
	prefix, isPrefix := strings.CutSuffix(key, "*")
	for _, v := range vals {
		p, ok := v.Text()
		if ok && (p == key || isPrefix && strings.HasPrefix(p, prefix)) {
			return append(dst, "true")
		}
	}
	return append(dst, "false")
}

// volumeTypes is ka.req.pod.volumes.volume_type: for every volume object,
// each of its keys other than "name" (the volume source, e.g. hostPath).
func volumeTypes(ev *audit.Event, arg *Arg, dst []string) []string {
	if !isAudit(ev) {
		return dst
	}
	var buf valBuf
	vals, _ := walkReq(buf[:0], ev, index(arg), volumeKeys)
	for _, v := range vals {
		v.Members(func(k []byte, _ audit.Value) bool {
			if s, ok := keyText(k); ok && s != "name" {
				dst = append(dst, s)
			}
			return true
		})
	}
	return dst
}

// sourceIPs is ka.sourceips: the event's top-level sourceIPs. (Upstream
// reads a path that never exists; see docs/COMPATIBILITY.md.)
func sourceIPs(ev *audit.Event, arg *Arg, dst []string) []string {
	if !isAudit(ev) {
		return dst
	}
	n := len(dst)
	dst, _ = appendElems(dst, ev.Top("sourceIPs"))
	return pick(dst, n, index(arg))
}

// clusterName is ka.cluster.name: the event's annotations.cluster_name, else
// the name the event's source gave it.
func clusterName(ev *audit.Event, _ *Arg, dst []string) []string {
	if !isAudit(ev) {
		return dst
	}
	var ok bool
	if dst, ok = appendText(dst, ev.Get("annotations", "cluster_name")); ok {
		return dst
	}
	if ev.Cluster != "" {
		dst = append(dst, ev.Cluster)
	}
	return dst
}

// objectJSON returns the extractor of a Peregrine extension field that
// gives a top-level member (requestObject, responseObject) as compact JSON.
func objectJSON(key string) Extractor {
	return func(ev *audit.Event, _ *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		if s, ok := compactValue(ev.Top(key)); ok {
			dst = append(dst, s)
		}
		return dst
	}
}

// compactValue returns v as compact JSON. Unlike TEXT, a string keeps its
// quotes: the result is always JSON.
func compactValue(v audit.Value) (string, bool) {
	switch v.Kind() {
	case audit.Missing:
		return "", false
	case audit.String:
		b := make([]byte, 0, len(v.Raw())+2)
		b = append(append(append(b, '"'), v.Raw()...), '"')
		return audit.Compact(b)
	}
	return v.Text()
}

// repository returns the repository part of an image reference: without
// the digest (@...) and without the tag (a ':' after the last '/'), so a
// registry port stays: "reg:5000/app:1" gives "reg:5000/app". (Upstream cuts
// at the first ':'; see docs/COMPATIBILITY.md.)
func repository(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image
}
