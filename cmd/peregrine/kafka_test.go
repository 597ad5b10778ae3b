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

// kafkaConfig starts an in-process Kafka with topic audit holding recs
// and writes a falco.yaml whose kafka plugin reads it.
func kafkaConfig(t *testing.T, recs ...*kgo.Record) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "audit"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "falco.yaml", "plugins:\n  - name: kafka\n    init_config: {brokers: "+c.ListenAddrs()[0]+", topics: [audit]}\n")
}

// sampleRecords is the sample, one record per line, stamped at.
func sampleRecords(t *testing.T, at time.Time) []*kgo.Record {
	t.Helper()
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []*kgo.Record
	for sc := bufio.NewScanner(f); sc.Scan(); {
		recs = append(recs, &kgo.Record{Topic: "audit", Timestamp: at, Value: []byte(sc.Text())})
	}
	return recs
}

// TestReplayKafkaHistory: `replay -c CONFIG --source kafka --since
// --until` reads the configured topic's records of that time range (the
// sample, stamped inside it) and none outside (the sample again, an hour
// later), and prints the same alerts as replaying the file.
func TestReplayKafkaHistory(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	cfg := kafkaConfig(t, append(sampleRecords(t, t0), sampleRecords(t, t0.Add(time.Hour))...)...)

	out, errOut, code := run(t, "", "replay", "-q", "-c", cfg, "-r", testRules, "--source", "kafka",
		"--since", t0.Add(-time.Minute).Format(time.RFC3339), "--until", t0.Add(time.Minute).Format(time.RFC3339))
	want, _, _ := run(t, "", "replay", "-q", "-r", testRules, sample)
	if code != 0 || out != want || strings.Count(out, "\n") != 3 {
		t.Errorf("exit %d (%s), got:\n%s\nwant:\n%s", code, errOut, out, want)
	}
}

// TestReplayKafkaHistoryProblems: records a history replay skips are
// printed once each with their location, counted by reason in the summary
// and fail --strict, as a file's malformed input does; alerts are as for
// the sample alone.
func TestReplayKafkaHistoryProblems(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	bad := []*kgo.Record{{Topic: "audit", Timestamp: t0, Value: []byte("{not json")},
		{Topic: "audit", Timestamp: t0, Value: []byte(`{"kind":"Pod"}`)}}
	cfg := kafkaConfig(t, append(bad, sampleRecords(t, t0)...)...)
	want, _, _ := run(t, "", "replay", "-q", "-r", testRules, sample)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"reported and counted", nil, 0},
		{"--strict", []string{"--strict"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"replay", "-c", cfg, "-r", testRules, "--source", "kafka", "--since", t0.Format(time.RFC3339)}, tt.args...)
			out, errOut, code := run(t, "", args...)
			if code != tt.code || out != want {
				t.Errorf("exit %d, want %d; alerts:\n%s\nwant:\n%s", code, tt.code, out, want)
			}
			for _, s := range []string{"peregrine: topic audit partition 0 offset 0: ", "peregrine: topic audit partition 0 offset 1: data not recognized",
				"Events read: 33 ", "Inputs skipped: 2 (malformed 1, not-audit 1)\n"} {
				if strings.Count(errOut, s) != 1 {
					t.Errorf("stderr has %q %d times, want once:\n%s", s, strings.Count(errOut, s), errOut)
				}
			}
		})
	}
}
