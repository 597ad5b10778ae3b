// Package gketest builds the GKE LogEntries the gke and logentry tests
// publish and convert. They are written from Google's documented schemas
// (LogEntry, AuditLog and its messages, AttributeContext.Request) and
// from what GKE's audit logging documentation says it writes
// (docs/sources/GKE.md lists which shapes are documented rather than
// observed); no real GKE entry was available to copy.
package gketest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Mod edits a LogEntry being built.
type Mod func(e map[string]any)

// Entry builds a GKE Kubernetes audit LogEntry (protojson) for a
// methodName and resourceName: a successful Admin Activity entry by
// alice@example.com on cluster prod-1, edited by mods.
func Entry(method, resource string, mods ...Mod) []byte {
	e := map[string]any{
		"insertId": "ins-" + strings.ReplaceAll(resource, "/", "-"),
		"logName":  "projects/my-proj/logs/cloudaudit.googleapis.com%2Factivity",
		"resource": map[string]any{"type": "k8s_cluster", "labels": map[string]any{
			"project_id": "my-proj", "location": "europe-west1", "cluster_name": "prod-1"}},
		"timestamp":        "2024-05-01T10:00:00.123456Z",
		"receiveTimestamp": "2024-05-01T10:00:01.5Z",
		"severity":         "NOTICE",
		"labels": map[string]any{"authorization.k8s.io/decision": "allow",
			"authorization.k8s.io/reason": "access granted by IAM permissions."},
		"operation": map[string]any{"id": "9f3c2a70-6a4e-4bb4-a7c8-2b1d5b8e0f11", "producer": "k8s.io", "first": true, "last": true},
		"protoPayload": map[string]any{
			"@type":              "type.googleapis.com/google.cloud.audit.AuditLog",
			"serviceName":        "k8s.io",
			"methodName":         method,
			"resourceName":       resource,
			"authenticationInfo": map[string]any{"principalEmail": "alice@example.com"},
			"authorizationInfo":  []any{map[string]any{"resource": resource, "permission": method, "granted": true}},
			"requestMetadata": map[string]any{"callerIp": "203.0.113.7",
				"callerSuppliedUserAgent": "kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b"},
			"status": map[string]any{},
		},
	}
	for _, m := range mods {
		m(e)
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return b
}

// Set puts v at path, creating objects on the way.
func Set(v any, path ...string) Mod {
	return func(e map[string]any) {
		m := e
		for _, k := range path[:len(path)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[path[len(path)-1]] = v
	}
}

// Del removes path.
func Del(path ...string) Mod {
	return func(e map[string]any) {
		m := e
		for _, k := range path[:len(path)-1] {
			m, _ = m[k].(map[string]any)
		}
		delete(m, path[len(path)-1])
	}
}

// Payload sets a member of protoPayload (the AuditLog).
func Payload(k string, v any) Mod { return Set(v, "protoPayload", k) }

// Obj parses a JSON object for a table; it panics on a typo.
func Obj(s string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		panic(fmt.Sprintf("%v in %s", err, s))
	}
	return m
}

// Objects entries carry, as protobuf's Struct encodes them: with @type.
var (
	PrivilegedPod = Obj(`{"@type":"core.k8s.io/v1.Pod","apiVersion":"v1","kind":"Pod",
		"metadata":{"name":"nginx","namespace":"default"},
		"spec":{"containers":[{"name":"c","image":"alpine:3.19","securityContext":{"privileged":true}}]}}`)
	AdminBinding = Obj(`{"@type":"rbac.authorization.k8s.io/v1.ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1",
		"kind":"ClusterRoleBinding","metadata":{"name":"ev"},
		"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
		"subjects":[{"kind":"User","name":"eve@example.com","apiGroup":"rbac.authorization.k8s.io"}]}`)
	CredsConfigMap = Obj(`{"@type":"core.k8s.io/v1.ConfigMap","apiVersion":"v1","kind":"ConfigMap",
		"metadata":{"name":"app","namespace":"default"},"data":{"aws_access_key_id":"AKIA0000000000000000","note":"a<b&c"}}`)
)

// Subset reports where got differs from want: every member of want must
// be in got with a subset value; arrays must have the same length.
func Subset(want, got any, at string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", at, got)}
		}
		var diffs []string
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s/%s: missing", at, k))
				continue
			}
			diffs = append(diffs, Subset(w[k], gv, at+"/"+k)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %v", at, got, w)}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, Subset(w[i], g[i], fmt.Sprintf("%s/%d", at, i))...)
		}
		return diffs
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: got %v, want %v", at, got, want)}
	}
	return nil
}
