// Package webhook is the k8saudit webhook source: kube-apiserver's audit
// webhook backend (and anything speaking its protocol) POSTs audit events
// here; they are decoded, made durable (with a spool) or evaluated (without
// one) before the answer, and handed to the pipeline.
//
// # Answers
//
// kube-apiserver's webhook backend retries a batch only for some answers
// (k8s.io/apiserver pkg/util/webhook DefaultShouldRetry, used by
// plugin/pkg/audit/webhook through GenericWebhook.WithExponentialBackoff):
// a connection reset, 500 (IsInternalError), 504 (IsTimeout), 429
// (IsTooManyRequests), and any answer that carries Retry-After
// (apierrors.SuggestsClientDelay). Every other 4xx or 5xx drops the batch
// for good. So the handler answers:
//
//   - 2xx once the batch is durably in the spool (state_dir set), or once
//     it was evaluated and its alerts queued for the outputs (no spool);
//     an oversized event (maxEventSize) or one without a stageTimestamp is
//     dropped and counted, and the rest of its batch is accepted;
//   - 429 with Retry-After while the spool is full: retried;
//   - 500 when the spool cannot be written: retried;
//   - 401 when authentication is configured and fails (bad or missing
//     bearer token, no verified client certificate): not retried;
//   - 400 for a body that is not audit events, or not JSON; 413 for a body
//     over webhookMaxBatchSize; 405 for a method other than POST: not
//     retried, since resending the same bytes cannot help.
//
// The cluster name of the events (the fallback of ka.cluster.name) is the
// one mapped to the bearer token, else the path suffix (/k8s-audit/prod),
// else init_config.cluster_name.
package webhook
