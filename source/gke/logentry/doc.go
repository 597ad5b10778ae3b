// Package logentry turns GKE's Kubernetes audit logs, as Cloud Logging
// writes them (a LogEntry whose protoPayload is a
// google.cloud.audit.AuditLog, resource type k8s_cluster), back into the
// audit.k8s.io/v1 Events the k8s_audit rules read. It sits between a
// source that reads LogEntries (the k8saudit-gke Pub/Sub source, replay
// of Cloud Logging exports through Format) and the audit decoder, and
// knows nothing of transport: it has no dependency beyond the audit
// package, so it can be fuzzed and reused on its own.
//
// The conversion follows upstream's k8saudit-gke plugin (RULES-LANGUAGE.md
// §5.5) and improves on it where an entry carries more than upstream
// reads: failures keep their status code, requestURI keeps the query,
// delegation becomes impersonation, and collections and subresources get
// a correct objectRef. docs/sources/GKE.md lists the mapping field by
// field and every difference from upstream.
package logentry
