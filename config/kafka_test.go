package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadYAML(t *testing.T, doc string) *Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "falco.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKafkaOutput(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want KafkaOutput // checked: Enabled, Topic, Key, brokers, SASL mechanism
		err  string
	}{
		{name: "absent", yaml: "stdout_output: {enabled: true}"},
		{name: "disabled is not checked", yaml: "kafka_output: {enabled: false, key: bogus}", want: KafkaOutput{Key: "bogus"}},
		{name: "plain", yaml: "kafka_output: {enabled: true, brokers: [k1:9092, k2:9092], topic: alerts}",
			want: KafkaOutput{Enabled: true, Topic: "alerts", Key: "rule"}},
		{name: "event hubs", yaml: `kafka_output:
  enabled: true
  key: cluster
  event_hubs_connection_string: "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=s3cret;EntityPath=alerts"`,
			want: KafkaOutput{Enabled: true, Topic: "alerts", Key: "cluster"}},
		{name: "no topic", yaml: "kafka_output: {enabled: true, brokers: k:9092}", err: "kafka_output.topic: required"},
		{name: "bad key", yaml: "kafka_output: {enabled: true, brokers: k:9092, topic: a, key: user}", err: "kafka_output.key"},
		{name: "bad sasl", yaml: "kafka_output: {enabled: true, brokers: k:9092, topic: a, sasl: {mechanism: GSSAPI}}", err: "kafka_output.sasl.mechanism"},
		{name: "not a mapping", yaml: "kafka_output: yes", err: "kafka_output: expected a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err != "" { // Load reports kafka_output errors, so validate -c does
				p := filepath.Join(t.TempDir(), "falco.yaml")
				os.WriteFile(p, []byte(tc.yaml), 0o644)
				_, err := Load(p, nil)
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			c := loadYAML(t, tc.yaml)
			got, err := c.KafkaOutput()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Enabled != tc.want.Enabled || got.Topic != tc.want.Topic || (tc.want.Key != "" && got.Key != tc.want.Key) {
				t.Errorf("got %+v", got)
			}
			if tc.name == "event hubs" && (got.Conn.Brokers[0] != "ns.servicebus.windows.net:9093" || got.Conn.SASL.Mechanism != "PLAIN" || got.Conn.TLS == nil) {
				t.Errorf("event hubs connection %+v", got.Conn)
			}
		})
	}
	c := loadYAML(t, "kafka_output: {enabled: true, brokers: k:9092, topic: a}")
	for _, w := range c.Warnings {
		if strings.Contains(w, "kafka_output") {
			t.Errorf("warning about kafka_output: %s", w)
		}
	}
}
