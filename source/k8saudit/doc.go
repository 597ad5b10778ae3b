// Package k8saudit opens the sources of a k8saudit plugin entry: its
// open_params pick the webhook (http://, https://), a followed file
// (file://) or a file or directory read once (a plain path), and its
// init_config carries upstream's keys (sslCertificate, maxEventSize,
// webhookMaxBatchSize, useAsync) and Peregrine's extras (cluster_name,
// client_ca, bearer_tokens, checkpoint_file, start_position, spool,
// webhookMaxInFlight, firehose_path and firehose_access_key: Amazon Data
// Firehose deliveries on the webhook's server, for EKS audit logs
// streamed from CloudWatch). Keys it does not read get a warning.
//
// It is the Opener the daemon registers under the plugin name k8saudit:
// the glue between falco.yaml and the webhook and file sources.
package k8saudit
