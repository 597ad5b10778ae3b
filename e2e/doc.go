// Package e2e tests Peregrine against Kubernetes' own code, in a Go module
// of its own so that the main module does not depend on k8s.io.
//
// webhook_test.go drives a running daemon (in process, as `peregrine run`
// wires it) with k8s.io/apiserver's audit backends: the webhook backend
// loaded from a kubeconfig, wrapped in the buffered (batching) backend,
// posting audit.k8s.io/v1 EventLists exactly as kube-apiserver does, over
// plain HTTP and over TLS with a client certificate and a bearer token.
//
// deploy_test.go keeps deploy/ from rotting: every manifest is decoded
// strictly into the k8s.io/api types, the Helm chart is rendered with
// Helm's own engine and decoded the same way, each falco.yaml inside is
// loaded by Peregrine's configuration loader, and deploy/audit-policy.yaml
// is loaded by kube-apiserver's policy loader.
//
// Run with `go test ./...` from this directory (scripts/test does).
package e2e
