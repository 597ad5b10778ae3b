// Package kafka is the Kafka source: audit events that log shippers
// (Fluent Bit, Vector, Logstash) or Azure diagnostic settings (through
// Event Hubs' Kafka endpoint) write to Kafka topics, consumed by any
// number of Peregrine instances sharing one consumer group. It starts the
// data path like the webhook does, and hands batches to the same
// pipeline; docs/sources/KAFKA.md is the user's guide.
//
// # Delivery
//
// Each partition has its own source.Tracker. A poll's records become one
// batch per partition (at most batchRecords each), registered with the
// offset after their last record and submitted in order. The tracker
// marks a position delivered once its batch and every earlier one of the
// partition were evaluated and their alerts accepted by every output; a
// commit loop sends the delivered positions to the group every
// commit_interval. Nothing is autocommitted. A record that is not audit
// data is counted (peregrine_events_skipped_total by reason) and its
// offset committed with the rest: it never blocks its partition.
//
// # Rebalances
//
// The group uses the cooperative-sticky balancer, so a member joining or
// leaving moves only the partitions that must move, while the others
// keep flowing. BlockRebalanceOnPoll holds a rebalance while a poll's
// records are being submitted; the revoke callback then waits (up to half
// of rebalance_timeout) until the revoked partitions' batches are
// delivered, commits them, and only then lets the group give them away.
// The new owner starts at that commit: a graceful handover, like a
// graceful stop (Close commits and leaves the group), evaluates nothing
// twice. What can repeat, never be lost, is what DESIGN.md allows: after
// a crash or a lost session (OnPartitionsLost), or when delivery outlasts
// the revoke wait (outputs down), the events past the last commit are
// evaluated again by the next owner.
//
// # Messages
//
// A record's value is an audit payload (an Event, an EventList, an array
// of them, or JSON lines); a shipper's envelope with the event in a field
// (event_field, as a JSON string or an object); or Azure diagnostic
// records ({"records":[...]}, category kube-audit or kube-audit-admin,
// the event in properties.log). Events alias the record's bytes. The
// events' cluster (the fallback of ka.cluster.name) is the record header
// cluster_header, else the message field cluster_field, else
// cluster_name.
//
// # Metrics
//
// Besides every source's metrics: peregrine_kafka_consumer_lag (records
// past the committed position, per owned partition),
// peregrine_kafka_commits_total by result, and
// peregrine_kafka_partition_events_total (assigned, revoked, lost).
//
// # History
//
// History serves `peregrine replay -c CONFIG --source kafka --since T
// [--until T]`: offsets for time give each partition's range, read once
// without joining the group.
package kafka
