package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/peregrine-sec/peregrine/daemon/daemontest"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/k8saudit"
	"github.com/peregrine-sec/peregrine/source/kafka"
)

const kafkaYAML = `
json_output: true
stdout_output: {enabled: false}
webserver: {enabled: false}
peregrine: {source_silence: {timeout: 0}}
plugins:
  - name: kafka
    init_config:
      brokers: BROKERS
      topics: [audit]
      start_offset: earliest
      commit_interval: 20ms
      heartbeat_interval: 50ms
      session_timeout: 2s
      cluster_header: cluster
load_plugins: [kafka]
kafka_output:
  enabled: true
  brokers: BROKERS
  topic: alerts
`

// TestKafkaToKafka runs the daemon from a falco.yaml with a kafka source
// and kafka_output against an in-process Kafka: an alerting event, a
// quiet one and a malformed record go in; the alert comes out on the
// alerts topic, keyed by rule, and the group's offsets then cover all
// three records.
func TestKafkaToKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "audit"), kfake.SeedTopics(1, "alerts"),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	cfgPath := filepath.Join(t.TempDir(), "falco.yaml")
	os.WriteFile(cfgPath, []byte(strings.ReplaceAll(kafkaYAML, "BROKERS", brokers)), 0o644)
	r := daemontest.Start(t, daemontest.Options{Config: cfgPath,
		Openers: map[string]source.Opener{"k8saudit": k8saudit.Open, "kafka": kafka.Open}})
	defer r.Stop() // before the broker goes away: the stop commits offsets

	quiet := strings.Replace(strings.Replace(privileged, `"privileged":true`, `"privileged":false`, 1), `"p1"`, `"q1"`, 1)
	produceTo(t, c, "audit",
		&kgo.Record{Partition: 0, Value: []byte(privileged), Headers: []kgo.RecordHeader{{Key: "cluster", Value: []byte("prod")}}},
		&kgo.Record{Partition: 0, Value: []byte(quiet)},
		&kgo.Record{Partition: 1, Value: []byte("{not json")})

	recs := consumeFrom(t, c, "alerts", 1)
	if string(recs[0].Key) != "Privileged container in a pod" || !strings.Contains(string(recs[0].Value), `"rule":"Privileged container in a pod"`) {
		t.Fatalf("alert record key %q value %s", recs[0].Key, recs[0].Value)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		g := c.GroupInfo("peregrine")
		if g != nil && g.Commits["audit"][0].Offset == 2 && g.Commits["audit"][1].Offset == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets not committed past every record: %+v", g)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func produceTo(t *testing.T, c *kfake.Cluster, topic string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func consumeFrom(t *testing.T, c *kfake.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		out = append(out, cl.PollFetches(ctx).Records()...)
	}
	if len(out) < n {
		t.Fatalf("%d of %d records on %s", len(out), n, topic)
	}
	return out
}
