package gke_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"

	"github.com/peregrine-sec/peregrine/daemon/daemontest"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/gke"
)

const upstream = "../../../shared/upstream"

// seedConfig is upstream's example falco.yaml for k8saudit-gke
// (configs/k8saudit-gke/falco.yaml) cut to the keys that matter here, with
// its plugin entry unchanged but for the project and subscription, and
// rule_matching: all so that one event shows every rule it fires.
const seedConfig = `
plugins:
- init_config:
    project_id: "test-proj"
    fetch_cluster_metadata: false
    max_event_size: 8000000
  library_path: libk8saudit-gke.so
  name: k8saudit-gke
  open_params: "falco-gke-audit-sub"
- init_config: ""
  library_path: libjson.so
  name: json
load_plugins: [ k8saudit-gke, json ]
rules_file:
- UPSTREAM/rules/k8saudit/k8s_audit_rules.yaml
- UPSTREAM/rules/k8saudit-gke/k8s_audit_rules_gke.yaml
- CLUSTER_RULE
json_output: true
json_include_output_property: true
json_include_tags_property: true
priority: debug
rule_matching: all
stdout_output:
  enabled: false
file_output:
  enabled: true
  filename: ALERTS
webserver:
  enabled: false
peregrine: {source_silence: {timeout: 0}}
`

// clusterRule prints the cluster name of every event.
const clusterRule = `
- rule: GKE cluster event
  desc: every event, with its cluster
  condition: kevt and ka.cluster.name exists
  output: GKE event (cluster=%ka.cluster.name user=%ka.user.name verb=%ka.verb)
  priority: INFO
  source: k8s_audit
`

// TestSeedConfigAgainstPubSub runs the daemon with a seed-style
// k8saudit-gke configuration against an in-process Pub/Sub server (found
// through PUBSUB_EMULATOR_HOST, as an operator would point it at the
// emulator) and expects upstream's alerts, with the cluster name from the
// entries' resource labels, and every message acked.
func TestSeedConfigAgainstPubSub(t *testing.T) {
	if _, err := os.Stat(upstream); err != nil {
		t.Skipf("skipping: upstream rules not found at %s (../shared is absent)", upstream)
	}
	srv := pstest.NewServer()
	defer srv.Close()
	t.Setenv("PUBSUB_EMULATOR_HOST", srv.Addr)
	createSubscription(t)
	export, err := os.ReadFile("logentry/testdata/export.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range bytes.Split(bytes.TrimSpace(export), []byte("\n")) {
		ids = append(ids, srv.Publish("projects/test-proj/topics/gke-audit", l, nil))
	}

	dir := t.TempDir()
	alerts := filepath.Join(dir, "alerts.json")
	os.WriteFile(filepath.Join(dir, "cluster.yaml"), []byte(clusterRule), 0o644)
	cfgPath := filepath.Join(dir, "falco.yaml")
	yaml := strings.NewReplacer("UPSTREAM", upstream, "CLUSTER_RULE", filepath.Join(dir, "cluster.yaml"), "ALERTS", alerts).Replace(seedConfig)
	os.WriteFile(cfgPath, []byte(yaml), 0o644)

	r := daemontest.Start(t, daemontest.Options{Config: cfgPath, Openers: map[string]source.Opener{"k8saudit-gke": gke.Open}})
	waitAlerts(t, alerts, r, `"rule":"Attach to cluster-admin Role"`, `"rule":"Create Privileged Pod"`,
		`"rule":"Attach/Exec Pod"`, `"rule":"K8s Secret Get Unsuccessfully Tried"`,
		`"ka.cluster.name":"prod-1"`, `GKE event (cluster=prod-1 user=alice@example.com verb=create)`)
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for srv.Message(id).Acks == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if srv.Message(id).Acks == 0 {
			t.Errorf("message %s was not acked", id)
		}
	}
	// Every message is acked, so every alert was written.
	if b, _ := os.ReadFile(alerts); strings.Contains(string(b), "K8s Secret Get Successfully") {
		t.Error("a denied secret read alerted as successful")
	}
	if err := r.Stop(); err != nil {
		t.Errorf("daemon: %v", err)
	}
}

func createSubscription(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, "test-proj")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := "projects/test-proj/topics/gke-audit"
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: "projects/test-proj/subscriptions/falco-gke-audit-sub", Topic: topic, AckDeadlineSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
}

// waitAlerts waits until the alerts file has every one of wants (events
// are evaluated in parallel, so in no set order), failing early if the
// daemon stops.
func waitAlerts(t *testing.T, path string, r *daemontest.Running, wants ...string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		missing := ""
		for _, w := range wants {
			if !strings.Contains(string(b), w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return string(b)
		}
		if err, ok := r.Exited(); ok {
			t.Fatalf("daemon stopped: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the alerts:\n%s", missing, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
