package aks_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/peregrine-sec/peregrine/daemon/daemontest"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/aks"
	"github.com/peregrine-sec/peregrine/source/aks/akstest"
)

// seedConfig is the k8saudit-aks block users have: the keys and the
// ${VAR} form of the Falco blog's falco.yaml (seed 000), with the rate
// limit and open_params of the plugin's README (seed 003).
const seedConfig = `
plugins:
 - name: k8saudit-aks
   library_path: libk8saudit-aks.so
   init_config:
     event_hub_name: ${EVENTHUB_NAME}
     blob_storage_container_name: ${BLOB_STORAGE_CONTAINER_NAME}
     event_hub_namespace_connection_string: ${EVENTHUB_NAMESPACE_CONNECTION_STRING}
     blob_storage_connection_string: ${BLOB_STORAGE_CONNECTION_STRING}
     rate_limit_events_per_second: 100
     rate_limit_burst: 200
   open_params: "my-cluster"
 - name: json
   library_path: libjson.so
   init_config: ""

load_plugins: [k8saudit-aks, json]

stdout_output:
  enabled: false
file_output:
  enabled: true
  filename: ALERTS
json_output: true
`

// seedRules is the README's test rule (seed 003), its output extended by
// the cluster name.
const seedRules = `
- required_engine_version: 15
- required_plugin_versions:
  - name: k8saudit-aks
    version: 0.1.0

- rule: Dummy rule
  desc: >
    Dummy rule
  condition: >
    ka.verb in (get,create,delete,update)
  output: user=%ka.user.name verb=%ka.verb target=%ka.target.name target.namespace=%ka.target.namespace resource=%ka.target.resource cluster=%ka.cluster.name
  priority: WARNING
  source: k8s_audit
  tags: [k8s]
`

// TestSeedConfig runs `peregrine run`'s daemon on the users' k8saudit-aks
// block against the emulators: AKS records become alerts carrying the
// cluster name, and the partition is checkpointed on the way out.
func TestSeedConfig(t *testing.T) {
	srv := akstest.Need(t)
	hub := srv.Fake.Hub(t, 1) // the balanced processor claims one partition per 10 s round
	t.Setenv("EVENTHUB_NAME", hub)
	t.Setenv("BLOB_STORAGE_CONTAINER_NAME", hub)
	t.Setenv("EVENTHUB_NAMESPACE_CONNECTION_STRING", srv.Fake.ConnString())
	t.Setenv("BLOB_STORAGE_CONNECTION_STRING", srv.BlobConn)

	dir := t.TempDir()
	alerts := filepath.Join(dir, "alerts.json")
	cfgPath := filepath.Join(dir, "falco.yaml")
	os.WriteFile(cfgPath, []byte(strings.ReplaceAll(seedConfig, "ALERTS", alerts)), 0o644)
	r := daemontest.Start(t, daemontest.Options{Config: cfgPath, Rules: seedRules,
		Openers: map[string]source.Opener{"k8saudit-aks": aks.Open}})

	// The block has no start_position: a new hub is read from its end, as
	// upstream does, so publish once the partition is being read.
	waitUntil(t, "the partition to be read", func() bool { return len(srv.Fake.Receivers(t, hub)["0"]) == 1 })
	srv.Fake.Publish(t, hub, 0, akstest.Body(
		akstest.Record("kube-audit", "aks-prod", akstest.AuditEvent("a1b2c3d4-0000-4000-8000-000000000001", 1)),
		akstest.Record("kube-apiserver", "aks-prod", akstest.APIServerLog),
		akstest.Record("kube-audit-admin", "aks-prod", akstest.AuditEvent("a1b2c3d4-0000-4000-8000-000000000002", 2))))
	waitUntil(t, "two alerts", func() bool {
		b, _ := os.ReadFile(alerts)
		return strings.Count(string(b), `"rule":"Dummy rule"`) == 2
	})
	b, _ := os.ReadFile(alerts)
	if n := strings.Count(string(b), "cluster=my-cluster"); n != 2 {
		t.Errorf("alerts without the cluster name:\n%s", b)
	}

	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	cc, _ := container.NewClientFromConnectionString(srv.BlobConn, hub, nil)
	store, _ := checkpoints.NewBlobStore(cc, nil)
	props, _ := azeventhubs.ParseConnectionString(srv.Fake.ConnString())
	cps, err := store.ListCheckpoints(context.Background(), props.FullyQualifiedNamespace, hub, azeventhubs.DefaultConsumerGroup, nil)
	if err != nil || len(cps) != 1 || *cps[0].SequenceNumber != 0 {
		t.Errorf("checkpoints after the stop: %v %+v", err, cps)
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
