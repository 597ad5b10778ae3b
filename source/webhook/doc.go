// Package webhook is the k8saudit webhook source: kube-apiserver's audit
// webhook backend (and anything speaking its protocol) POSTs audit events
// here; they are decoded, made durable (with a spool) or evaluated (without
// one) before the answer, and handed to the pipeline.
//
// # Answers
//
// What kube-apiserver does with an answer was measured, not assumed: the
// e2e module drives this handler with k8s.io/apiserver v0.37's own audit
// webhook backend (plugin/pkg/audit/webhook). That backend retries a
// failed POST whatever the failure (connection refused, 5xx, and 4xx such
// as 401 too), 5 times with exponential backoff from
// --audit-webhook-initial-backoff (10 s: about 80 s in all), then drops the
// batch. Older apiservers retried only what pkg/util/webhook's
// DefaultShouldRetry names (connection resets, 500, 504, 429, answers with
// Retry-After). The answers are chosen to be right under both:
//
//   - 2xx once the batch is durably in the spool (state_dir set), or once
//     it was evaluated and its alerts queued for the outputs (no spool);
//     an oversized event (maxEventSize) or one without a stageTimestamp is
//     dropped and counted, and the rest of its batch is accepted;
//   - 429 with Retry-After while the spool is full or more than
//     webhookMaxInFlight POSTs are in flight, 503 with Retry-After before
//     the pipeline is attached: the batch comes again;
//   - 500 when the spool cannot be written: retried;
//   - 401 when authentication is configured and fails (bad or missing
//     bearer token, no verified client certificate);
//   - 400 for a body that is not audit events, not JSON, empty (or only
//     whitespace), or that cannot be read (bad gzip); 413 for a body over
//     webhookMaxBatchSize; 415 for a Content-Encoding other than gzip or
//     identity; 405 for a method other than POST; 404 for a path deeper
//     than Path/<cluster>: a resend of the same bytes gets the same answer.
//
// A body refused with 400, 413 or 415 is lost once the sender gives up,
// so it is counted (events_skipped by reason, and events_received, as one
// event) and logged at Warn with its size and sender, never its content,
// at most logBurst lines per reason every 10 s (logbudget.go).
//
// The cluster name of the events (the fallback of ka.cluster.name) is the
// one mapped to the bearer token, else the path suffix (/k8s-audit/prod:
// one segment), else init_config.cluster_name.
//
// # Amazon Data Firehose
//
// With Options.FirehosePath (init_config firehose_path, a Peregrine
// extension) the same server, with the same TLS, takes Firehose's HTTP
// endpoint deliveries of an EKS log group's CloudWatch Logs subscription
// messages (firehose.go). The access key (X-Amz-Firehose-Access-Key)
// replaces bearer tokens and client certificates there. Events are
// spooled (one record per cluster, in the webhook's format) or evaluated
// under the same contract; their cluster is the log group's
// (/aws/eks/<cluster>/cluster), else init_config.cluster_name. Answers
// are Firehose's JSON, with the codes above; control messages and other
// log streams are acknowledged and dropped, unreadable records skipped.
package webhook
