// Package aks is the k8saudit-aks source: Kubernetes audit events of
// Azure Kubernetes Service clusters, which an AKS diagnostic setting
// streams to an Event Hub (live) or archives to a storage account
// (history).
//
// # Live: Event Hubs
//
// The source consumes the hub with the Azure SDK's Processor
// (azeventhubs/v2), which balances the partitions among every instance
// reading the same hub and consumer group and keeps their ownership and
// checkpoints in a Blob Storage container (the SDK's BlobStore). Each
// partition the processor hands out is read by one goroutine: a batch of
// messages is decoded (see Records below) into one source.Batch, tracked
// by that partition's own source.Tracker at the last message's sequence
// number and offset. The Tracker commits a position only after that batch
// and every earlier one of the partition were evaluated and their alerts
// accepted by every output, and a writer stores the committed positions
// as checkpoints every checkpoint_interval: a checkpoint never gets ahead
// of an undelivered alert (DESIGN.md, Delivery). Upstream checkpoints a
// message as soon as its records are handed on, so a crash loses them.
//
// On a graceful stop the daemon drains the pipeline and calls Close,
// which writes the final checkpoints before the processor gives the
// partitions up, so nothing is read twice. After a crash, a failover or a
// partition steal, the next owner starts at the last checkpoint and
// events past it are evaluated again: at-least-once. Those repeats are
// counted (peregrine_aks_repeated_events_total) against the highest
// sequence number received, which the owner records beside each
// checkpoint; a stolen partition's old owner writes nothing more for it.
//
// A processor that cannot work (hub or storage unreachable, credentials
// refused) is rebuilt with backoff from 1 s to 1 min; a probe of the
// owned partitions every health_interval both samples the lag and
// notices a dead connection. Until the failing operation works again the
// source is unhealthy (Health, peregrine_aks_healthy).
//
// # Records
//
// Diagnostic settings send messages whose body is {"records":[...]}; an
// archive blob (PT1H.json) holds one record per line. A record of
// category kube-audit or kube-audit-admin carries one audit event as a
// JSON string in properties.log; records of other categories are counted
// per category and skipped. An event that AKS cut off (large pods and
// CRDs arrive so) is counted as truncated and logged with its auditID and
// size; a body that is not JSON is counted as malformed. Neither stops
// the partition: its position advances past them.
//
// ka.cluster.name falls back (DESIGN.md) to init_config.cluster_name,
// else open_params unless empty or "default", else the managed cluster's
// name in the record's resourceId.
//
// # History
//
// History reads the storage account archive (container
// insights-logs-kube-audit, blobs
// resourceId=/SUBSCRIPTIONS/…/MANAGEDCLUSTERS/<name>/y=…/m=…/d=…/h=…/m=00/PT1H.json)
// for `peregrine replay -c CONFIG --source k8saudit-aks --since … --until …`,
// and Format lets plain `peregrine replay` read downloaded PT1H.json files.
package aks
