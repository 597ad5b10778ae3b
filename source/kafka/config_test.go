package kafka

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/peregrine-sec/peregrine/source/sourcetest"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name   string
		ic     map[string]any
		op     string
		topics []string
		err    string
	}{
		{name: "topics list", ic: map[string]any{"brokers": []any{"k:9092"}, "topics": []any{"a", "b"}}, topics: []string{"a", "b"}},
		{name: "topics from open_params", ic: map[string]any{"brokers": "k:9092"}, op: "a, b", topics: []string{"a", "b"}},
		{name: "topic from the event hub", ic: map[string]any{
			"event_hubs_connection_string": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=r;SharedAccessKey=secret;EntityPath=audit"},
			topics: []string{"audit"}},
		{name: "no topics", ic: map[string]any{"brokers": "k:9092"}, err: "init_config.topics: at least one topic"},
		{name: "no brokers", ic: map[string]any{"topics": "a"}, err: "init_config.brokers: at least one"},
		{name: "bad start", ic: map[string]any{"brokers": "k:9092", "topics": "a", "start_offset": "soon"}, err: "init_config.start_offset"},
		{name: "bad duration", ic: map[string]any{"brokers": "k:9092", "topics": "a", "commit_interval": "often"}, err: "init_config.commit_interval"},
		{name: "heartbeat over session", ic: map[string]any{"brokers": "k:9092", "topics": "a", "heartbeat_interval": "1m"}, err: "heartbeat_interval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(tc.ic, tc.op)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error shows a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Topics, tc.topics) {
				t.Errorf("topics %v, want %v", c.Topics, tc.topics)
			}
			if c.Group != "peregrine" || c.MaxEventSize != 64<<20 {
				t.Errorf("defaults: group %q, max_event_size %d", c.Group, c.MaxEventSize)
			}
		})
	}
}

func TestStartOffset(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want kgo.Offset
	}{
		{"latest", kgo.NewOffset().AtEnd()},
		{"earliest", kgo.NewOffset().AtStart()},
		{"2h", kgo.NewOffset().AfterMilli(now.Add(-2 * time.Hour).UnixMilli())},
		{"2024-05-01T10:00:00Z", kgo.NewOffset().AfterMilli(now.Add(-2 * time.Hour).UnixMilli())},
	}
	for _, tc := range tests {
		got, err := startOffset(tc.in, now)
		if err != nil || got.String() != tc.want.String() {
			t.Errorf("startOffset(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	sourcetest.RunChecks(t, Check, []sourcetest.CheckCase{
		{Name: "clean", InitConfig: map[string]any{"brokers": "k:9092", "topics": "a", "tls": map[string]any{"ca_cert": "/nonexistent.pem"},
			"sasl": map[string]any{"mechanism": "PLAIN", "username": "u", "password": "p"}}},
		{Name: "tls true", InitConfig: map[string]any{"brokers": "k:9092", "tls": true}, OpenParams: "a"},
		{Name: "typo", InitConfig: map[string]any{"brokers": "k:9092", "topic": "a"}, OpenParams: "b", Warn: []string{
			`init_config key "topic" is not used by kafka; ignored (did you mean "topics"?)`}},
		{Name: "nested typos", InitConfig: map[string]any{"brokers": "k:9092", "topics": "a",
			"tls": map[string]any{"cacert": "/ca.pem"}, "sasl": map[string]any{"mechanism": "PLAIN", "username": "u", "pasword": "s3cret"}},
			Warn: []string{
				`init_config key "sasl.pasword" is not used by kafka; ignored (did you mean "sasl.password"?)`,
				`init_config key "tls.cacert" is not used by kafka; ignored (did you mean "tls.ca_cert"?)`,
			}},
		{Name: "bad value", InitConfig: map[string]any{"brokers": "k:9092", "topics": "a", "commit_interval": "often"}, Err: "init_config.commit_interval"},
		{Name: "no brokers", InitConfig: map[string]any{"broker": "k:9092", "topics": "a"}, Err: "init_config.brokers", Warn: []string{
			`init_config key "broker" is not used by kafka; ignored (did you mean "brokers"?)`}},
	})
}

// TestKeysRead: every key of Keys changes what ParseConfig returns (or
// makes it fail), so the list cannot name a key it ignores.
func TestKeysRead(t *testing.T) {
	ic := func() map[string]any { return map[string]any{"brokers": "k:9092", "topics": "a"} }
	base, err := ParseConfig(ic(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		m := ic()
		if parent, child, ok := strings.Cut(k, "."); ok {
			m[parent] = map[string]any{child: map[string]any{"probe": true}}
		} else {
			m[k] = map[string]any{"probe": true}
		}
		c, err := ParseConfig(m, "")
		if err == nil && reflect.DeepEqual(c, base) {
			t.Errorf("ParseConfig ignores %s", k)
		}
	}
}
