package k8saudit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/file"
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

var (
	_ = (*webhook.Server)(nil)
	_ = (*file.Follower)(nil)
)
