// Package metrics defines every Prometheus metric the daemon exports, with
// the names and units DESIGN.md promises, on a registry of its own (so
// tests and benchmarks can run several daemons in one process). Sources,
// the pipeline and the outputs update them; the webserver serves them at
// /metrics. It sits beside the data path and knows nothing of it.
package metrics
