package main

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestReplayKafkaHistory: `replay -c CONFIG --source kafka --since
// --until` reads the configured topic's records of that time range (the
// sample, stamped inside it) and none outside (the sample again, an hour
// later), and prints the same alerts as replaying the file.
func TestReplayKafkaHistory(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "audit"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	var inside, later []*kgo.Record
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := []byte(sc.Text())
		inside = append(inside, &kgo.Record{Topic: "audit", Timestamp: t0, Value: line})
		later = append(later, &kgo.Record{Topic: "audit", Timestamp: t0.Add(time.Hour), Value: line})
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), append(inside, later...)...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "falco.yaml", "plugins:\n  - name: kafka\n    init_config: {brokers: "+c.ListenAddrs()[0]+", topics: [audit]}\n")

	out, errOut, code := run(t, "", "replay", "-q", "-c", cfg, "-r", testRules, "--source", "kafka",
		"--since", t0.Add(-time.Minute).Format(time.RFC3339), "--until", t0.Add(time.Minute).Format(time.RFC3339))
	want, _, _ := run(t, "", "replay", "-q", "-r", testRules, sample)
	if code != 0 || out != want || strings.Count(out, "\n") != 3 {
		t.Errorf("exit %d (%s), got:\n%s\nwant:\n%s", code, errOut, out, want)
	}
}
