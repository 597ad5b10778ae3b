// Package gke is the k8saudit-gke source: GKE's Kubernetes audit logs,
// which GKE writes as Cloud Audit Logs entries (a LogEntry whose
// protoPayload is a google.cloud.audit.AuditLog, resource type
// k8s_cluster), routed by a Log Router sink to a Pub/Sub topic. It is
// where those logs enter the data path: it receives them with the
// official Pub/Sub client, turns each LogEntry back into the
// audit.k8s.io/v1 Event the k8s_audit rules expect (package logentry; the
// mapping is in docs/sources/GKE.md), and submits the events to the
// pipeline.
//
// Delivery is at-least-once (DESIGN.md). A message is acked only once
// the batch holding its event was released: evaluated, and each of its
// alerts accepted by every output. Until then its Receive callback waits,
// so max_outstanding_messages bounds the messages anywhere between
// Pub/Sub and the outputs. Messages not delivered when the source stops
// are nacked and Pub/Sub redelivers them; after a crash their leases
// expire and Pub/Sub redelivers them too. Pub/Sub may also redeliver a
// message that was acked, and Cloud Logging may publish an entry twice:
// the source counts the repeats it can see (the same message ID, or the
// same logName and insertId, within redelivery_window) and evaluates
// them again rather than risk dropping the only copy. Entries that are not
// GKE Kubernetes audit logs are counted by reason and acked, since they
// would never convert.
//
// With fetch_cluster_metadata, a cluster's resource labels come from the
// GKE API (ClusterMetadata; ContainerAPI calls it), cached for
// cache_expiration, failures included.
//
// logentry.Format reads Cloud Logging exports (LogEntry JSON lines, or a
// JSON array of LogEntry) for `peregrine replay`, with the same
// conversion; a file:// open_params reads one such file once.
package gke
