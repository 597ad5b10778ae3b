package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/daemon"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/k8saudit"
	"github.com/peregrine-sec/peregrine/source/kafka"
	"github.com/peregrine-sec/peregrine/source/webhook/webhooktest"
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
	stop := startDaemon(t, cfgPath)
	defer stop()

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

// startDaemon runs the daemon over cfgPath with the default rules.
func startDaemon(t *testing.T, cfgPath string) func() {
	t.Helper()
	eng, err := webhooktest.DefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	load := func() (*daemon.Loaded, error) {
		cfg, err := config.Load(cfgPath, nil)
		if err != nil {
			return nil, err
		}
		f := output.DefaultFormat()
		f.JSON = cfg.JSONOutput
		return &daemon.Loaded{Config: cfg, Engine: eng, Format: f}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Load: load, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Openers: map[string]source.Opener{"k8saudit": k8saudit.Open, "kafka": kafka.Open},
			Ready:   func(*daemon.Daemon) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not start")
	}
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stop: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("daemon did not stop")
		}
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
