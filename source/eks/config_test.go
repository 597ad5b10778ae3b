package eks

import (
	"reflect"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/source/sourcetest"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		init map[string]any
		open string
		want Config
		err  string
	}{
		{
			name: "seed 001",
			init: map[string]any{"region": "us-east-1", "profile": "default", "shift": 10, "polling_interval": 10, "use_async": false, "buffer_size": 500},
			open: "my-cluster",
			want: Config{Cluster: "my-cluster", Region: "us-east-1", Profile: "default", Shift: 10 * time.Second,
				PollInterval: 10 * time.Second, Overlap: DefaultOverlap, OverlapInterval: time.Minute, BufferSize: 500, MaxEventSize: 64 << 20},
		},
		{
			name: "defaults: zero means the default, as upstream",
			init: map[string]any{"shift": 0, "polling_interval": 0, "buffer_size": 0}, open: " c ",
			want: Config{Cluster: "c", Shift: time.Second, PollInterval: 5 * time.Second, Overlap: 5 * time.Minute, OverlapInterval: time.Minute,
				UseAsync: true, BufferSize: 200, MaxEventSize: 64 << 20},
		},
		{
			name: "Peregrine's keys, numbers as strings, fractions of seconds",
			init: map[string]any{"overlap": "600", "polling_interval": 0.5, "cluster_name": "prod", "endpoint": "http://localhost:4566",
				"checkpoint_file": "/var/lib/p/eks.json", "max_event_size": 262144, "use_async": "yes", "overlap_interval": 30},
			open: "c",
			want: Config{Cluster: "c", ClusterName: "prod", Endpoint: "http://localhost:4566", Checkpoint: "/var/lib/p/eks.json",
				Shift: time.Second, PollInterval: 500 * time.Millisecond, Overlap: 10 * time.Minute, OverlapInterval: 30 * time.Second, UseAsync: true,
				BufferSize: 200, MaxEventSize: 262144},
		},
		{name: "no cluster", open: "", err: "open_params: cluster name can't be empty"},
		{name: "not a name", open: "a/b", err: `open_params "a/b": not an EKS cluster name`},
		{name: "negative", init: map[string]any{"shift": -1}, open: "c", err: "init_config.shift: -1 is not a non-negative number"},
		{name: "text", init: map[string]any{"polling_interval": "soon"}, open: "c", err: `init_config.polling_interval: "soon" is not a number`},
		{name: "fraction", init: map[string]any{"buffer_size": 1.5}, open: "c", err: "init_config.buffer_size: 1.5 is not an integer"},
		{name: "bool", init: map[string]any{"use_async": "maybe"}, open: "c", err: `init_config.use_async: "maybe" is not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig(tt.init, tt.open)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestConfigNames(t *testing.T) {
	c := Config{Cluster: "my-cluster"}
	if c.LogGroup() != "/aws/eks/my-cluster/cluster" || c.EventCluster() != "my-cluster" {
		t.Fatalf("log group %q, event cluster %q", c.LogGroup(), c.EventCluster())
	}
	c.ClusterName = "prod"
	if c.EventCluster() != "prod" {
		t.Fatalf("event cluster %q, want cluster_name", c.EventCluster())
	}
}

func TestCheck(t *testing.T) {
	sourcetest.RunChecks(t, Check, []sourcetest.CheckCase{
		{Name: "seed 001", InitConfig: map[string]any{"region": "us-east-1", "profile": "default", "shift": 10, "polling_interval": 10,
			"use_async": false, "buffer_size": 500}, OpenParams: "my-cluster"},
		{Name: "camelCase", InitConfig: map[string]any{"maxEventSize": 1, "pollingInterval": 1}, OpenParams: "c", Warn: []string{
			`init_config key "maxEventSize" is not used by k8saudit-eks; ignored (did you mean "max_event_size"?)`,
			`init_config key "pollingInterval" is not used by k8saudit-eks; ignored (did you mean "polling_interval"?)`,
		}},
		{Name: "typo", InitConfig: map[string]any{"regoin": "eu-west-1"}, OpenParams: "c", Warn: []string{
			`init_config key "regoin" is not used by k8saudit-eks; ignored (did you mean "region"?)`}},
		{Name: "bad value", InitConfig: map[string]any{"shift": "soon"}, OpenParams: "c", Err: `init_config.shift: "soon" is not a number`},
		{Name: "no cluster", Err: "cluster name can't be empty"},
	})
}

// TestKeysRead: every key of Keys changes what ParseConfig returns (or
// makes it fail), so the list cannot name a key it ignores.
func TestKeysRead(t *testing.T) {
	base, err := ParseConfig(map[string]any{}, "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		c, err := ParseConfig(map[string]any{k: map[string]any{"probe": true}}, "c")
		if err == nil && reflect.DeepEqual(c, base) {
			t.Errorf("ParseConfig ignores %s", k)
		}
	}
}
