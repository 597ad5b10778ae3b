package akstest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// No real AKS payloads are available to the project; these follow
// Microsoft's documented resource-log schema for AKS (category,
// resourceId, time, operationName, properties.log/stream/pod) and the
// audit.k8s.io/v1 Event. Documented, not observed: the extra members
// (ccpNamespace, Cloud, Environment, Underlay*) and the exact casing of
// resourceId, which Azure Monitor upper-cases.

// ResourceID is a managed cluster's resource ID as diagnostic records
// carry it.
func ResourceID(cluster string) string {
	return "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG-PEREGRINE/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/" + strings.ToUpper(cluster)
}

// Base is the stageTimestamp of AuditEvent(…, 0).
var Base = time.Date(2024, 5, 1, 13, 0, 0, 0, time.UTC)

// AuditEvent is an audit event creating a privileged pod (the default
// rules alert on it) with the given auditID, at Base + i ms.
func AuditEvent(id string, i int) string {
	ts := Base.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000000Z")
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":%q,`+
		`"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create",`+
		`"user":{"username":"mallory","groups":["system:authenticated"]},"sourceIPs":["10.1.2.3"],"userAgent":"kubectl/v1.30.0",`+
		`"objectRef":{"resource":"pods","namespace":"default","name":"priv-%d","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},`+
		`"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"priv-%d","namespace":"default"},`+
		`"spec":{"containers":[{"name":"c","image":"alpine:3.19","securityContext":{"privileged":true}}]}},`+
		`"requestReceivedTimestamp":%q,"stageTimestamp":%q,`+
		`"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}`, id, i, i, ts, ts)
}

// Record wraps a log line in a diagnostic record of a category.
func Record(category, cluster, log string) string {
	r := map[string]any{
		"operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
		"category":      category,
		"ccpNamespace":  "6630a0c2f9d3c6000177b9a1",
		"resourceId":    ResourceID(cluster),
		"properties":    map[string]any{"log": log, "stream": "stdout", "pod": "kube-apiserver-7c9d5b8f6d-x2x7l"},
		"time":          Base.Format("2006-01-02T15:04:05.0000000Z"),
		"Cloud":         "AzureCloud",
		"Environment":   "prod",
		"UnderlayClass": "hcp-underlay",
		"UnderlayName":  "hcp-underlay-eastus-cx-123",
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// Body is an Event Hubs message of diagnostic records.
func Body(records ...string) []byte {
	return []byte(`{"records":[` + strings.Join(records, ",") + `]}`)
}

// Truncated cuts an audit event as AKS delivers large ones: the log
// string stops part-way.
func Truncated(event string, n int) string { return event[:n] }

// APIServerLog is a kube-apiserver log line (category kube-apiserver).
const APIServerLog = `I0501 13:00:00.123456       1 controller.go:624] quota admission added evaluator for: leases.coordination.k8s.io`
