package fields

import (
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
)

// This file holds the extractors of the per-container fields
// ka.req.pod.<list>.<sub>, where list is containers, initContainers or
// ephemeralContainers. Each takes the list's name, so one definition in
// table.go serves all three lists. The optional index picks container i.

// containerTexts returns the extractor of spec.<list>[*].<key>: TEXT per
// container, and no value at all when some container lacks the key
// (upstream reads names and images that way).
func containerTexts(list, key string, conv func(string) string) Extractor {
	keys := []string{"spec", list, key}
	return func(ev *audit.Event, arg *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		var buf valBuf
		vals, _ := walkReq(buf[:0], ev, index(arg), keys)
		n := len(dst)
		dst = appendAllTexts(dst, vals)
		if conv != nil {
			for i := n; i < len(dst); i++ {
				dst[i] = conv(dst[i])
			}
		}
		return dst
	}
}

// containerSecurity returns the extractor of
// spec.<list>[*].securityContext.<key>, skipping containers without it.
func containerSecurity(list, key string) Extractor {
	return walkTexts("spec", list, "securityContext", key)
}

// containerArgv returns the extractor of command or args: one element per
// container that has it, its strings joined with single spaces. A command
// that is not an array of strings means no value for the whole field.
func containerArgv(list, key string) Extractor {
	keys := []string{"spec", list, key}
	return func(ev *audit.Event, arg *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		var buf valBuf
		vals, _ := walkReq(buf[:0], ev, index(arg), keys)
		n := len(dst)
		for _, v := range vals {
			if !v.Exists() {
				continue
			}
			s, ok := joinStrings(v)
			if !ok {
				return dst[:n]
			}
			dst = append(dst, s)
		}
		return dst
	}
}

// joinStrings joins the strings of a JSON array with single spaces.
func joinStrings(arr audit.Value) (string, bool) {
	if arr.Kind() != audit.Array {
		return "", false
	}
	var b strings.Builder
	ok := true
	arr.Each(func(e audit.Value) bool {
		var s string
		if s, ok = e.Str(); ok {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		}
		return ok
	})
	return b.String(), ok
}

// containerEffective returns the extractor of eff_run_as_user/group: for
// each container, its securityContext.<key>, else the pod's
// securityContext.<key>, else "0" (what the kubelet uses when neither is
// set, i.e. root). A JSON null counts as not set. (Upstream reads paths
// that skip securityContext; see docs/COMPATIBILITY.md.)
func containerEffective(list, key string) Extractor {
	return func(ev *audit.Event, arg *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		spec := ev.Get("requestObject", "spec")
		containers := spec.Get(list)
		if containers.Kind() != audit.Array {
			return dst
		}
		pod, ok := setting(spec.Get("securityContext", key))
		if !ok {
			pod = "0"
		}
		if i := index(arg); i != noIndex {
			if c := containers.Index(i); c.Exists() {
				dst = append(dst, effective(c, key, pod))
			}
			return dst
		}
		containers.Each(func(c audit.Value) bool {
			dst = append(dst, effective(c, key, pod))
			return true
		})
		return dst
	}
}

func effective(container audit.Value, key, pod string) string {
	if s, ok := setting(container.Get("securityContext", key)); ok {
		return s
	}
	return pod
}

// setting returns TEXT(v) for a value that is set: present and not null.
func setting(v audit.Value) (string, bool) {
	if v.Kind() == audit.Null {
		return "", false
	}
	return v.Text()
}

// containerCaps returns the extractor of add_capabilities: one capability
// per element, over all containers (or container i). (Upstream gives each
// container's whole array as one JSON element; see docs/COMPATIBILITY.md.)
func containerCaps(list string) Extractor {
	keys := []string{"spec", list, "securityContext", "capabilities", "add"}
	return func(ev *audit.Event, arg *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		var buf valBuf
		vals, _ := walkReq(buf[:0], ev, index(arg), keys)
		for _, v := range vals {
			if v.Kind() == audit.Array {
				dst, _ = appendElems(dst, v)
			} else {
				dst, _ = appendText(dst, v)
			}
		}
		return dst
	}
}

// containerHostPorts returns the extractor of host_port: for every port of
// every container, its hostPort, else its containerPort (with hostNetwork
// the two are the same port). Containers without ports are skipped; a
// ports value that is not an array means no value for the whole field.
func containerHostPorts(list string) Extractor {
	keys := []string{"spec", list, "ports"}
	return func(ev *audit.Event, arg *Arg, dst []string) []string {
		if !isAudit(ev) {
			return dst
		}
		var buf valBuf
		vals, _ := walkReq(buf[:0], ev, index(arg), keys)
		n := len(dst)
		for _, ports := range vals {
			switch ports.Kind() {
			case audit.Missing:
				continue
			case audit.Array:
				dst = appendHostPorts(dst, ports)
			default:
				return dst[:n]
			}
		}
		return dst
	}
}

func appendHostPorts(dst []string, ports audit.Value) []string {
	ports.Each(func(p audit.Value) bool {
		v := p.Get("hostPort")
		if !v.Exists() {
			v = p.Get("containerPort")
		}
		dst, _ = appendText(dst, v)
		return true
	})
	return dst
}
