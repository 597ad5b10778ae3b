// Package gen generates realistic Kubernetes audit traffic
// (audit.k8s.io/v1 Events) for load tests, benchmarks and false-positive
// counts. It sits before the data path: its output is what a source would
// read from a cluster, and nothing in Peregrine depends on it.
//
// # What a cluster says
//
// A Generator models one cluster (nodes, namespaces, deployments and their
// pods, the control plane, operators, CI and a few people) and emits what
// its API server would audit, in the proportions of a busy cluster:
//
//   - reads: get/list/watch at Metadata level by kubelets, kube-proxy,
//     coredns, controllers, the scheduler, operators and people, with the
//     requestURI, userAgent, sourceIPs, user groups, objectRef and
//     authorization annotations a real server writes; watches appear as
//     ResponseStarted when they open and ResponseComplete when they end;
//   - coordination: lease renewals (node heartbeats, leader election) and
//     Kubernetes events;
//   - status: pod and node status patches, scheduler bindings, kubelet
//     TokenRequests, endpoint slices, workload status updates;
//   - writes: RequestResponse creates, patches, updates and deletes of pods,
//     workloads, configmaps, secrets (placeholder data only), service
//     accounts and RBAC objects, with full request and response bodies;
//   - large objects: 100 KiB–1 MiB configmaps and CRDs;
//   - attacks: a small share (Options.AttackShare) drawn from AttackKinds.
//
// Benign traffic includes what real clusters do that naive rules mistake
// for attacks (kube-proxy runs privileged, node-exporter shares the host
// PID and network namespaces and mounts /, ingress controllers watch secrets
// in every namespace, cert-manager rewrites webhook configurations, kubelets
// request service-account tokens): that is what tells a tuned rule set from
// a noisy one.
//
// Every attack event, and no other, carries the annotation
// AttackAnnotation ("peregrine.dev/generated-attack") naming its kind, so
// alerts can be sorted into true and false positives and missed attacks
// counted, without a side channel.
//
// # Determinism and speed
//
// The output is a function of Options alone: the same seed gives the same
// bytes on every machine and Go version (the generator has its own PRNG).
// Events do not depend on Format, Size or Events: a JSON-lines file is a
// prefix of a longer one with the same seed, and an EventList file holds
// the same events in the same order.
//
// Identities, pod specs and label sets are built once per generator; each
// event is appended field by field into reused buffers: no reflection and no
// encoding/json per event, so one core writes well over a GB/s to memory
// (see BenchmarkWrite); a file or gzip is then the limit.
package gen
