package k8saudit

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/file"
	"github.com/peregrine-sec/peregrine/source/sourcetest"
	"github.com/peregrine-sec/peregrine/source/webhook"
)

func TestOpenParams(t *testing.T) {
	tests := []struct {
		params string
		init   map[string]any
		want   string // source type, or "error: ..." substring
	}{
		{"", nil, "*webhook.Server"},
		{"http://:9765/k8s-audit", nil, "*webhook.Server"},
		{"http://127.0.0.1:0/audit", map[string]any{"bearer_tokens": []any{"t1", map[string]any{"token": "t2", "cluster": "c"}}}, "*webhook.Server"},
		{"https://:9765/k8s-audit", map[string]any{"sslCertificate": "/nonexistent.pem"}, "error: sslCertificate"},
		{"http://:9765/k8s-audit", map[string]any{"client_ca": "/ca.pem"}, "error: needs an https"},
		{"file:///var/log/audit.log", nil, "*file.Follower"},
		{"/var/log/audit.log", nil, "*file.Once"},
		{"  /var/log/audit  ", nil, "*file.Once"},
		{"ftp://x/y", nil, `error: scheme "ftp" is not supported`},
		{"http://:9765/k8s-audit", map[string]any{"maxEventSize": "big"}, "error: maxEventSize"},
		{"file:///x", map[string]any{"start_position": "middle"}, "error: start_position"},
		{"http://127.0.0.1:0/k8s-audit", map[string]any{"firehose_path": "/firehose", "firehose_access_key": "k"}, "*webhook.Server"},
		{"http://127.0.0.1:0/k8s-audit", map[string]any{"firehose_path": "/firehose"}, "*webhook.Server"},
		{"http://:9765/k8s-audit", map[string]any{"firehose_access_key": "k"}, "error: firehose_access_key needs firehose_path"},
		{"http://:9765/k8s-audit", map[string]any{"firehose_path": "firehose"}, "error: must be a URL path"},
		{"http://:9765/k8s-audit", map[string]any{"firehose_path": "/fire {x}"}, "error: must be a URL path"},
		{"http://:9765/k8s-audit", map[string]any{"firehose_path": "/firehose", "bearer_tokens": []any{"t"}}, "error: set firehose_access_key too"},
		{"https://:9765/k8s-audit", map[string]any{"firehose_path": "/firehose", "client_ca": "/ca.pem"}, "error: set firehose_access_key too"},
		{"http://:9765/k8s-audit", map[string]any{"firehose_path": "/k8s-audit/"}, "error: the webhook is there"},
		{"file:///var/log/audit.log", map[string]any{"firehose_path": "/firehose"}, "error: firehose_path needs an http"},
	}
	for _, tc := range tests {
		t.Run(tc.params, func(t *testing.T) {
			if tc.init == nil {
				tc.init = map[string]any{}
			}
			srcs, err := Open(source.Env{Plugin: "k8saudit", InitConfig: tc.init, OpenParams: strings.TrimSpace(tc.params)})
			if strings.HasPrefix(tc.want, "error: ") {
				if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tc.want, "error: ")) {
					t.Fatalf("err %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", srcs[0]); got != tc.want {
				t.Fatalf("%s, want %s", got, tc.want)
			}
			srcs[0].Close()
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(map[string]any{"useAsync": false, "webhookMaxBatchSize": 12582912.0})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxEventSize != 64<<20 || c.MaxBatchSize != 12582912 || c.SSLCertificate != "/etc/falco/falco.pem" {
		t.Errorf("%+v", c)
	}
}

func TestCheck(t *testing.T) {
	sourcetest.RunChecks(t, Check, []sourcetest.CheckCase{
		{Name: "clean", InitConfig: map[string]any{"bearer_tokens": []any{"t"}, "useAsync": true}, OpenParams: "http://:9765/k8s-audit"},
		{Name: "bearer_token", InitConfig: map[string]any{"bearer_token": []any{"abc"}}, Warn: []string{
			`init_config key "bearer_token" is not used by k8saudit; ignored (did you mean "bearer_tokens"?)`}},
		{Name: "sslCertificat", InitConfig: map[string]any{"sslCertificat": "/x.pem"}, OpenParams: "https://:9765/a", Warn: []string{
			`init_config key "sslCertificat" is not used by k8saudit; ignored (did you mean "sslCertificate"?)`}},
		{Name: "spool typo", InitConfig: map[string]any{"spool": map[string]any{"maxbytes": 1}}, Warn: []string{
			`init_config key "spool.maxbytes" is not used by k8saudit; ignored (did you mean "spool.max_bytes"?)`}},
		{Name: "bad value", InitConfig: map[string]any{"maxEventSize": "big"}, Err: `init_config.maxEventSize: "big" is not an integer`},
		{Name: "spool not a mapping", InitConfig: map[string]any{"spool": 5}, Err: "init_config.spool: expected a mapping"},
		{Name: "warns with an error", InitConfig: map[string]any{"maxEventSize": "big", "clientCA": "/ca.pem"}, Err: "maxEventSize", Warn: []string{
			`init_config key "clientCA" is not used by k8saudit; ignored (did you mean "client_ca"?)`}},
		{Name: "bad scheme", OpenParams: "ftp://x/y", Err: `scheme "ftp" is not supported`},
		{Name: "bad address", OpenParams: "http://nohost/a", Err: "missing port"},
		{Name: "client_ca on http", InitConfig: map[string]any{"client_ca": "/ca.pem"}, Err: "needs an https"},
		{Name: "firehose on the webhook", InitConfig: map[string]any{"firehose_path": "/k8s-audit"}, Err: "the webhook is there"},
		// Check opens nothing: a missing certificate fails only Open.
		{Name: "missing certificate", InitConfig: map[string]any{"sslCertificate": "/nonexistent.pem"}, OpenParams: "https://:9765/a"},
		{Name: "missing file", OpenParams: "/nonexistent/audit.log"},
	})
}

// TestKeysRead: every key of Keys but useAsync changes what ParseConfig
// returns (or makes it fail), so the list cannot name a key it ignores.
func TestKeysRead(t *testing.T) {
	base, err := ParseConfig(map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		if k == "useAsync" {
			continue // accepted for compatibility, tunes nothing here
		}
		c, err := ParseConfig(probe(k))
		if err == nil && reflect.DeepEqual(c, base) {
			t.Errorf("ParseConfig ignores %s", k)
		}
	}
}

// probe returns an init_config setting key ("a.b" is b under a) to a
// value no key takes as it is.
func probe(key string) map[string]any {
	m := map[string]any{}
	parts := strings.Split(key, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		sub := map[string]any{}
		cur[p] = sub
		cur = sub
	}
	cur[parts[len(parts)-1]] = map[string]any{"probe": true}
	return m
}

func TestOpenWarns(t *testing.T) {
	var buf bytes.Buffer
	env := source.Env{Plugin: "k8saudit", InitConfig: map[string]any{"bearer_token": []any{"s3cret"}},
		OpenParams: "/nonexistent/audit.log", Log: slog.New(slog.NewTextHandler(&buf, nil))}
	srcs, err := Open(env)
	if err != nil {
		t.Fatal(err)
	}
	srcs[0].Close()
	out := buf.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, `did you mean`) || strings.Contains(out, "s3cret") {
		t.Errorf("log:\n%s", out)
	}
}

var (
	_ = (*webhook.Server)(nil)
	_ = (*file.Follower)(nil)
)
