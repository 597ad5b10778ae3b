package aks

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source/sourcetest"
)

// seed003 is the init_config of the k8saudit-aks README (seed 003), as
// YAML decodes it.
func seed003() map[string]any {
	return map[string]any{
		"event_hub_namespace_connection_string": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s",
		"event_hub_name":                        "my-hub",
		"blob_storage_connection_string":        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5;EndpointSuffix=core.windows.net",
		"blob_storage_container_name":           "container-name",
		"rate_limit_events_per_second":          100,
		"rate_limit_burst":                      200,
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name  string
		in    map[string]any
		check func(Config) string // "" when right
		err   string
	}{
		{name: "seed 003", in: seed003(), check: func(c Config) string {
			if c.RateLimit != 100 || c.RateBurst != 200 || c.ConsumerGroup != "$Default" || c.MaxEventSize != audit.DefaultMaxEventSize ||
				c.Start.Latest == nil || c.BatchSize != 100 || c.Strategy != "balanced" {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
		{name: "no rate limit unless set", in: with(seed003(), "rate_limit_events_per_second", nil, "rate_limit_burst", nil),
			check: func(c Config) string { return cond(c.RateLimit == 0, "limit %v", c.RateLimit) }},
		{name: "burst alone gets upstream's rate", in: with(seed003(), "rate_limit_events_per_second", nil, "rate_limit_burst", "50"),
			check: func(c Config) string {
				return cond(c.RateLimit == 100 && c.RateBurst == 50, "%v/%v", c.RateLimit, c.RateBurst)
			}},
		{name: "rate from a ${VAR} string", in: with(seed003(), "rate_limit_events_per_second", "2.5", "rate_limit_burst", nil),
			check: func(c Config) string {
				return cond(c.RateLimit == 2.5 && c.RateBurst == 200, "%v/%v", c.RateLimit, c.RateBurst)
			}},
		{name: "maxEventSize camelCase", in: with(seed003(), "maxEventSize", 262144),
			check: func(c Config) string { return cond(c.MaxEventSize == 262144, "%d", c.MaxEventSize) }},
		{name: "extras", in: with(seed003(), "consumer_group", "peregrine", "cluster_name", "prod", "start_position", "earliest",
			"receive_wait", "250ms", "checkpoint_interval", 2, "load_balancing_strategy", "greedy"),
			check: func(c Config) string {
				return cond(c.ConsumerGroup == "peregrine" && c.Cluster == "prod" && c.Start.Earliest != nil &&
					c.ReceiveWait == 250*time.Millisecond && c.CheckpointInterval == 2*time.Second && c.Strategy == "greedy", "%+v", c)
			}},
		{name: "start at a time", in: with(seed003(), "start_position", "2024-05-01T13:00:00Z"),
			check: func(c Config) string {
				return cond(c.Start.EnqueuedTime != nil && c.Start.EnqueuedTime.Equal(time.Date(2024, 5, 1, 13, 0, 0, 0, time.UTC)), "%+v", c.Start)
			}},
		{name: "start a duration ago", in: with(seed003(), "start_position", "2h"),
			check: func(c Config) string {
				return cond(c.Start.EnqueuedTime != nil && time.Since(*c.Start.EnqueuedTime) > 119*time.Minute, "%+v", c.Start)
			}},
		{name: "Azure AD", in: with(seed003(), "event_hub_namespace_connection_string", nil, "blob_storage_connection_string", nil,
			"fully_qualified_namespace", "ns.servicebus.windows.net", "blob_storage_account_url", "https://a.blob.core.windows.net/",
			"azure_credential", "workload_identity"),
			check: func(c Config) string { return cond(c.Credential == "workload_identity", "%q", c.Credential) }},
		{name: "no hub connection", in: with(seed003(), "event_hub_namespace_connection_string", nil),
			err: "init_config: set event_hub_namespace_connection_string, or fully_qualified_namespace for Azure AD"},
		{name: "no container", in: with(seed003(), "blob_storage_container_name", ""),
			err: "init_config.blob_storage_container_name: the checkpoint container must be named"},
		{name: "hub from EntityPath", in: with(seed003(), "event_hub_name", nil,
			"event_hub_namespace_connection_string", "Endpoint=sb://ns/;SharedAccessKeyName=k;SharedAccessKey=s;EntityPath=hub")},
		{name: "no hub", in: with(seed003(), "event_hub_name", nil),
			err: "init_config.event_hub_name: the Event Hub must be named (or the connection string carry EntityPath)"},
		{name: "bad rate", in: with(seed003(), "rate_limit_events_per_second", 0),
			err: "init_config: rate_limit_events_per_second must be positive and rate_limit_burst at least 1"},
		{name: "bad number", in: with(seed003(), "rate_limit_burst", "lots"), err: `init_config.rate_limit_burst: "lots" is not a number`},
		{name: "bad start", in: with(seed003(), "start_position", "yesterday"),
			err: `init_config.start_position: "yesterday" must be latest, earliest, an RFC 3339 time or a duration ago (24h)`},
		{name: "bad credential", in: with(seed003(), "azure_credential", "cli"),
			err: `init_config.azure_credential: "cli" must be default, environment, workload_identity or managed_identity`},
		{name: "bad strategy", in: with(seed003(), "load_balancing_strategy", "random"),
			err: `init_config.load_balancing_strategy: "random" must be balanced or greedy`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				if msg := tt.check(c); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

func cond(ok bool, format string, a ...any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf(format, a...)
}

// TestLimiter checks the bucket's arithmetic on a fake clock: a burst at
// once, then the rate.
func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(10, 20)
	l.now = func() time.Time { return now }
	steps := []struct {
		advance time.Duration
		take    float64
		wait    time.Duration
	}{
		{0, 20, 0},                     // the burst
		{0, 1, 100 * time.Millisecond}, // then one per 100 ms
		{100 * time.Millisecond, 5, 500 * time.Millisecond}, // still owing
		{10 * time.Second, 20, 0},                           // refilled, capped at the burst
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := l.reserve(s.take); got != s.wait {
			t.Errorf("step %d: wait %v, want %v", i, got, s.wait)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.wait(ctx, 5); err == nil {
		t.Error("wait in debt with a cancelled context succeeded")
	}
}

func TestCheck(t *testing.T) {
	sourcetest.RunChecks(t, Check, []sourcetest.CheckCase{
		{Name: "seed 003", InitConfig: seed003()},
		{Name: "snake case", InitConfig: with(seed003(), "max_event_size", 1), Warn: []string{
			`init_config key "max_event_size" is not used by k8saudit-aks; ignored (did you mean "maxEventSize"?)`}},
		{Name: "typo", InitConfig: with(seed003(), "rate_limit_event_per_second", 5), Warn: []string{
			`init_config key "rate_limit_event_per_second" is not used by k8saudit-aks; ignored (did you mean "rate_limit_events_per_second"?)`}},
		{Name: "bad value", InitConfig: with(seed003(), "rate_limit_burst", "lots"), Err: `init_config.rate_limit_burst: "lots" is not a number`},
		{Name: "misspelled required key", InitConfig: with(seed003(), "event_hub_name", nil, "eventhub_name", "h"),
			Err: "init_config.event_hub_name", Warn: []string{
				`init_config key "eventhub_name" is not used by k8saudit-aks; ignored (did you mean "event_hub_name"?)`}},
	})
}

// TestKeysRead: every key of Keys changes what ParseConfig returns (or
// makes it fail), so the list cannot name a key it ignores.
func TestKeysRead(t *testing.T) {
	base, err := ParseConfig(seed003())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		c, err := ParseConfig(with(seed003(), k, map[string]any{"probe": true}))
		if err == nil && reflect.DeepEqual(c, base) {
			t.Errorf("ParseConfig ignores %s", k)
		}
	}
}
