// Package eks is the k8saudit-eks source: it reads an EKS cluster's audit
// log from CloudWatch Logs, where EKS control plane logging puts it (log
// group /aws/eks/<cluster>/cluster, streams kube-apiserver-audit-*), and
// hands it to the pipeline like every other source: the start of the data
// path for EKS. A falco.yaml entry for upstream's plugin works unchanged:
// open_params is the cluster name (and the events' ka.cluster.name when
// they carry none); init_config has upstream's region, profile, shift,
// polling_interval, use_async, buffer_size, max_event_size (see Config).
//
// # Reading without losing or repeating events
//
// The source calls FilterLogEvents with the official AWS SDK for Go v2,
// paging through each time range, at start and polling_interval after each
// poll. Each log message is one audit payload, decoded as the k8saudit
// plugin decodes payloads (package audit). Upstream moves its start to the newest timestamp it read, so it
// loses events CloudWatch makes visible late (after newer ones) and reads
// events sharing that millisecond twice. Here every poll reads again from
// a margin before the newest timestamp, and every overlap_interval a poll
// reads the whole overlap (init_config.overlap, 5 minutes) again; CloudWatch
// eventIds recognise what was read already (see window). So an event that
// turns up to the overlap late is read, and no event is read twice while
// the process runs. Events ingested later than the overlap after their
// timestamp are counted (peregrine_cloudwatch_late_events_total): such
// events can be missed, and the overlap should grow.
//
// # Delivery
//
// Each page of new events is one batch. Its position is the newest
// timestamp read, the start of the range still being re-read, and the
// batch's number; the Tracker commits positions in order once batches are
// evaluated and their alerts accepted. The state file (under state_dir, or
// init_config.checkpoint_file) holds the committed position with the ids
// of the delivered events from that range start on. After a restart the
// source reads that range again and skips those ids: after a graceful stop
// nothing is evaluated twice; after a crash, the events of undelivered
// batches are (at least once, as DESIGN.md promises).
//
// # Failures
//
// The SDK's own retries are off. Throttling (ThrottlingException,
// LimitExceededException), network errors and 5xx are retried with capped
// exponential backoff and jitter, for ever; refusals (access denied, no
// such log group yet) too, louder in the log. A rejected nextToken makes
// the poll read its range again from the start. Nothing is skipped and the
// source never stops on an API error. A message CloudWatch truncated (it
// ends in "[Truncated...]") cannot be parsed: it is counted as skipped
// (reason "truncated") and logged with its auditID, never its body.
//
// # History and archives
//
// OpenHistory reads a past time range once, for `peregrine replay -c
// CONFIG --source k8saudit-eks --since T --until T`. Formats let `peregrine
// replay` read CloudWatch exports: S3 export files, `aws logs
// filter-log-events` output, and subscription messages as Firehose writes
// them to S3. Package cwlogs reads these shapes without the AWS SDK, and
// Firehose's HTTP endpoint deliveries of subscription messages, which the
// k8saudit webhook takes on init_config.firehose_path.
//
// Package ekstest is an in-process CloudWatch Logs speaking the service's
// wire protocol, for tests that drive the real SDK client.
package eks
