// Package kafkaconn holds what the Kafka source (source/kafka) and the
// Kafka alert sink (kafka_output) share: the connection keys (brokers, TLS,
// SASL PLAIN/SCRAM/OAUTHBEARER, the Event Hubs connection-string
// shorthand), how they are read from a YAML mapping, and how they become
// franz-go client options. It sits beside the data path, below both ends
// of it, so that neither end imports the other.
//
// Secrets (passwords, connection strings, client secrets, tokens) are read
// into Options but never appear in an error message or a log line.
package kafkaconn
