package source

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestUnknownKeys(t *testing.T) {
	known := []string{"bearer_tokens", "sslCertificate", "maxEventSize", "tls", "spool.max_bytes", "tls.ca_cert", "tls.enabled"}
	tests := []struct {
		name string
		ic   map[string]any
		want []string
	}{
		{"none", map[string]any{}, nil},
		{"all known", map[string]any{"bearer_tokens": []any{"t"}, "maxEventSize": 1, "spool": map[string]any{"max_bytes": 1}}, nil},
		{"one edit", map[string]any{"bearer_token": []any{"abc"}},
			[]string{`init_config key "bearer_token" is not used by k8saudit; ignored (did you mean "bearer_tokens"?)`}},
		{"truncated", map[string]any{"sslCertificat": "/x.pem"},
			[]string{`init_config key "sslCertificat" is not used by k8saudit; ignored (did you mean "sslCertificate"?)`}},
		{"snake case", map[string]any{"max_event_size": 1},
			[]string{`init_config key "max_event_size" is not used by k8saudit; ignored (did you mean "maxEventSize"?)`}},
		{"swap", map[string]any{"maxEvnetSize": 1},
			[]string{`init_config key "maxEvnetSize" is not used by k8saudit; ignored (did you mean "maxEventSize"?)`}},
		{"far", map[string]any{"region": "x"},
			[]string{`init_config key "region" is not used by k8saudit; ignored`}},
		{"short key, two edits", map[string]any{"tx": true},
			[]string{`init_config key "tx" is not used by k8saudit; ignored`}},
		{"nested", map[string]any{"spool": map[string]any{"max_byte": 1}, "tls": map[string]any{"ca_certs": "x", "enabled": true}}, []string{
			`init_config key "spool.max_byte" is not used by k8saudit; ignored (did you mean "spool.max_bytes"?)`,
			`init_config key "tls.ca_certs" is not used by k8saudit; ignored (did you mean "tls.ca_cert"?)`,
		}},
		{"data mapping not walked", map[string]any{"bearer_tokens": map[string]any{"s3cret": "c"}, "tls": true}, nil},
		{"sorted", map[string]any{"zz": 1, "aa": 1, "mm": 1}, []string{
			`init_config key "aa" is not used by k8saudit; ignored`,
			`init_config key "mm" is not used by k8saudit; ignored`,
			`init_config key "zz" is not used by k8saudit; ignored`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := UnknownKeys("k8saudit", tc.ic, known)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestUnknownKeysHideValues: a value under a misspelled key may be a
// secret, and a warning must not show it.
func TestUnknownKeysHideValues(t *testing.T) {
	ic := map[string]any{"bearer_token": []any{"s3cret"}, "password": "s3cret", "sasl": map[string]any{"s3cret": 1}}
	for _, w := range UnknownKeys("kafka", ic, []string{"bearer_tokens"}) {
		if strings.Contains(w, "s3cret") {
			t.Errorf("warning shows a value: %s", w)
		}
	}
}

func TestEnvWarn(t *testing.T) {
	var buf bytes.Buffer
	env := Env{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	env.Warn([]string{"first", "second"})
	if got := strings.Count(buf.String(), "level=WARN"); got != 2 {
		t.Errorf("%d warnings logged, want 2:\n%s", got, buf.String())
	}
	Env{}.Warn([]string{"to the default logger"}) // no Log: must not panic
}
