package gke

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/sourcetest"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name   string
		init   map[string]any
		params string
		want   string // fmt %+v of selected fields, or "error: ..."
	}{
		{"defaults", map[string]any{}, "sub",
			"sub=sub project= goroutines=10 outstanding=1000 fetch=false cache=10m0s max=67108864 window=10m0s"},
		{"upstream example", map[string]any{"project_id": "your-gcp-project-id", "fetch_cluster_metadata": false, "max_event_size": 8000000}, " your-gcp-subscription-id ",
			"sub=your-gcp-subscription-id project=your-gcp-project-id goroutines=10 outstanding=1000 fetch=false cache=10m0s max=8000000 window=10m0s"},
		{"every key", map[string]any{"num_goroutines": 2.0, "max_outstanding_messages": "50", "fetch_cluster_metadata": "yes",
			"cache_expiration": 3, "use_async": false, "redelivery_window": 0}, "projects/p/subscriptions/s",
			"sub=projects/p/subscriptions/s project= goroutines=2 outstanding=50 fetch=true cache=3m0s max=67108864 window=0s"},
		{"file", map[string]any{}, "file:///tmp/entries.json", "file=/tmp/entries.json"},
		{"numeric project", map[string]any{"project_id": 123456789012.0}, "s",
			"sub=s project=123456789012 goroutines=10 outstanding=1000 fetch=false cache=10m0s max=67108864 window=10m0s"},
		{"empty subscription", map[string]any{}, "", "error: subscription ID can't be empty"},
		{"empty file", map[string]any{}, "file://", "error: no path"},
		{"bad int", map[string]any{"num_goroutines": "many"}, "s", "error: num_goroutines"},
		{"bad bool", map[string]any{"fetch_cluster_metadata": "maybe"}, "s", "error: fetch_cluster_metadata"},
		{"bad type", map[string]any{"max_event_size": []any{1}}, "s", "error: max_event_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(tt.init, tt.params)
			if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("sub=%s project=%s goroutines=%d outstanding=%d fetch=%v cache=%v max=%d window=%v",
				c.Subscription, c.ProjectID, c.NumGoroutines, c.MaxOutstanding, c.FetchMetadata, c.CacheExpiration, c.MaxEventSize, c.RedeliveryWindow)
			if c.File != "" {
				got = "file=" + c.File
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestProjectID(t *testing.T) {
	for _, tt := range []struct{ project, sub, want string }{
		{"p", "s", "p"},
		{"", "projects/other/subscriptions/s", "other"},
		{"", "s", "*detect-project-id*"},
	} {
		if got := projectID(Config{ProjectID: tt.project, Subscription: tt.sub}); got != tt.want {
			t.Errorf("projectID(%q, %q) = %q, want %q", tt.project, tt.sub, got, tt.want)
		}
	}
}

func TestCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	tests := []struct{ path, err string }{
		{"", ""},
		{write("sa.json", `{"type":"service_account","client_email":"x@y"}`), ""},
		{write("user.json", `{"type":"authorized_user"}`), ""},
		{write("odd.json", `{"type":"gdch_something"}`), `unsupported credentials type "gdch_something"`},
		{write("bad.json", `not json`), "not a credentials JSON file"},
		{filepath.Join(dir, "missing.json"), "no such file"},
	}
	for _, tt := range tests {
		_, err := credentials(tt.path)
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("credentials(%s): %v, want %q", filepath.Base(tt.path), err, tt.err)
		}
	}
}

func TestCheck(t *testing.T) {
	sourcetest.RunChecks(t, Check, []sourcetest.CheckCase{
		{Name: "upstream example", InitConfig: map[string]any{"project_id": "p", "fetch_cluster_metadata": false, "max_event_size": 8000000,
			"use_async": true}, OpenParams: "sub"},
		{Name: "camelCase", InitConfig: map[string]any{"projectId": "p", "maxEventSize": 1}, OpenParams: "sub", Warn: []string{
			`init_config key "maxEventSize" is not used by k8saudit-gke; ignored (did you mean "max_event_size"?)`,
			`init_config key "projectId" is not used by k8saudit-gke; ignored (did you mean "project_id"?)`,
		}},
		{Name: "typo", InitConfig: map[string]any{"credential_file": "/k.json"}, OpenParams: "sub", Warn: []string{
			`init_config key "credential_file" is not used by k8saudit-gke; ignored (did you mean "credentials_file"?)`}},
		{Name: "bad value", InitConfig: map[string]any{"num_goroutines": "many"}, OpenParams: "sub", Err: `init_config.num_goroutines: "many" is not an integer`},
		// Check reads no credentials: a missing file fails only Open.
		{Name: "missing credentials", InitConfig: map[string]any{"credentials_file": "/nonexistent.json"}, OpenParams: "sub"},
		{Name: "no subscription", Err: "subscription ID can't be empty"},
	})
}

// TestKeysRead: every key of Keys but use_async changes what ParseConfig
// returns (or makes it fail), so the list cannot name a key it ignores.
func TestKeysRead(t *testing.T) {
	base, err := ParseConfig(map[string]any{}, "sub")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		if k == "use_async" {
			continue // accepted for compatibility, tunes nothing here
		}
		c, err := ParseConfig(map[string]any{k: map[string]any{"probe": true}}, "sub")
		if err == nil && reflect.DeepEqual(c, base) {
			t.Errorf("ParseConfig ignores %s", k)
		}
	}
}

// TestOpen: a subscription gives a Pub/Sub source (here against an
// emulator address, which needs no credentials), file:// a read-once
// file source.
func TestOpen(t *testing.T) {
	t.Setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:1")
	for params, want := range map[string]string{"sub": "*gke.Source", "file://logentry/testdata/export.jsonl": "*file.Once"} {
		srcs, err := Open(source.Env{Plugin: "k8saudit-gke", InitConfig: map[string]any{"project_id": "p"}, OpenParams: params})
		if err != nil {
			t.Fatalf("%s: %v", params, err)
		}
		if got := fmt.Sprintf("%T", srcs[0]); got != want {
			t.Errorf("%s: %s, want %s", params, got, want)
		}
		srcs[0].Close()
	}
	if _, err := Open(source.Env{Plugin: "k8saudit-gke", InitConfig: map[string]any{}, OpenParams: ""}); err == nil {
		t.Error("empty open_params accepted")
	}
}

func TestSeenWindow(t *testing.T) {
	s := newSeenWindow(time.Minute)
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		id     string
		at     time.Duration
		repeat bool
	}{
		{"a", 0, false}, {"b", 10 * time.Second, false}, {"a", 30 * time.Second, true},
		{"a", 61 * time.Second, false}, // expired, seen again
		{"b", 65 * time.Second, true}, {"b", 71 * time.Second, false}, {"", 0, false}, {"", 0, false},
	}
	for i, st := range steps {
		if got := s.repeat(st.id, t0.Add(st.at)); got != st.repeat {
			t.Errorf("step %d (%s at %v): repeat=%v", i, st.id, st.at, got)
		}
	}
	big := newSeenWindow(time.Hour)
	for i := range maxSeen + 5000 {
		big.repeat(fmt.Sprint(i), t0)
	}
	if n := len(big.at); n != maxSeen {
		t.Errorf("%d IDs kept, want %d", n, maxSeen)
	}
	if big.repeat("0", t0) {
		t.Error("the oldest ID was not forgotten")
	}
}
