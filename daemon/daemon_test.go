package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/daemon"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/internal/syncbuf"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/rules"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/k8saudit"
	"github.com/peregrine-sec/peregrine/source/webhook"
	"github.com/peregrine-sec/peregrine/source/webhook/webhooktest"
)

// privileged is an event the default rules alert on.
const privileged = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"p1","stage":"ResponseComplete","verb":"create",
"user":{"username":"mallory"},"objectRef":{"resource":"pods","namespace":"default","name":"x"},
"requestObject":{"kind":"Pod","spec":{"containers":[{"name":"c","image":"alpine","securityContext":{"privileged":true}}]}},
"responseStatus":{"code":201},"stageTimestamp":"2024-01-01T00:00:00.000000Z"}`

// testRules are the daemon tests' own rules, so that they do not depend on
// the wording of the default rules.
const testRules = `
- rule: Privileged container in a pod
  desc: A pod with a privileged container.
  condition: ka.verb = create and ka.req.pod.containers.privileged intersects (true)
  output: Privileged container in a pod (user=%ka.user.name ns=%ka.target.namespace images=%ka.req.pod.containers.image)
  priority: WARNING
  source: k8s_audit
  tags: [k8s]

- rule: Numbered event
  desc: Every event has evt.num > 0, whatever its source (rules use it as "always true").
  condition: ka.verb = delete and evt.num > 0
  output: Numbered event (num=%evt.num)
  priority: NOTICE
  source: k8s_audit
`

func testEngine(t *testing.T) *engine.Engine {
	t.Helper()
	col, rep := rules.Load([]rules.Source{{Name: "test-rules.yaml", Data: []byte(testRules)}}, rules.Options{})
	eng := engine.New(col, engine.DefaultOptions(), rep)
	if eng == nil {
		t.Fatal(rep.Err())
	}
	return eng
}

type running struct {
	d      *daemon.Daemon
	alerts string
	config string // the falco.yaml it loads
	cancel context.CancelFunc
	done   chan error
}

// run starts a daemon over a falco.yaml, with the test rules; loads
// after the first fail when fail is set.
func run(t *testing.T, yaml string, fail *atomic.Bool, opts ...func(*daemon.Options)) *running {
	t.Helper()
	dir := t.TempDir()
	alerts := filepath.Join(dir, "alerts.log")
	yaml = strings.ReplaceAll(yaml, "ALERTS", alerts)
	yaml = strings.ReplaceAll(yaml, "STATE", filepath.Join(dir, "state"))
	cfgPath := filepath.Join(dir, "falco.yaml")
	os.WriteFile(cfgPath, []byte(yaml), 0o644)
	eng := testEngine(t)
	load := func() (*daemon.Loaded, error) {
		if fail != nil && fail.Load() {
			return nil, errors.New("rules.yaml:3:1: broken")
		}
		cfg, err := config.Load(cfgPath, nil)
		if err != nil {
			return nil, err
		}
		f := output.DefaultFormat()
		f.JSON = cfg.JSONOutput
		return &daemon.Loaded{Config: cfg, Engine: eng, Format: f}, nil
	}
	r := &running{alerts: alerts, config: cfgPath, done: make(chan error, 1)}
	ready := make(chan *daemon.Daemon, 1)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	o := daemon.Options{Load: load, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ready: func(d *daemon.Daemon) { ready <- d }}
	for _, f := range opts {
		f(&o)
	}
	go func() { r.done <- daemon.Run(ctx, o) }()
	select {
	case r.d = <-ready:
	case err := <-r.done:
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not start")
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("stop: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("daemon did not stop")
	}
}

func (r *running) webhookURL(t *testing.T) string {
	for _, s := range r.d.Sources() {
		if ws, ok := s.(*webhook.Server); ok {
			return ws.URL()
		}
	}
	t.Fatal("no webhook source")
	return ""
}

func waitFile(t *testing.T, path, want string) string {
	t.Helper()
	return waitCount(t, path, want, 1)
}

// waitCount waits until path holds want at least n times.
func waitCount(t *testing.T, path, want string, n int) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Count(string(b), want) >= n {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %q fewer than %d times:\n%s", path, want, n, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const base = `
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config: '{"cluster_name":"test"}'
    open_params: "http://127.0.0.1:0/k8s-audit"
  - {name: json, library_path: libjson.so}
stdout_output: {enabled: false}
file_output: {enabled: true, filename: ALERTS}
json_output: true
webserver: {listen_address: 127.0.0.1, listen_port: 0}
peregrine: {source_silence: {timeout: 0}}
`

// post sends body as kube-apiserver would, retrying while the webhook
// answers 503 with Retry-After (it is listening but its pipeline is not
// attached yet), as the apiserver's backend retries.
func post(t *testing.T, url, body string) int {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || time.Now().After(deadline) {
			return resp.StatusCode
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebhookToFileOutput(t *testing.T) {
	for _, spool := range []bool{false, true} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			yaml := base
			if spool {
				yaml = strings.Replace(yaml, "peregrine: {", "peregrine: {state_dir: STATE, ", 1)
			}
			r := run(t, yaml, nil)
			if code := post(t, r.webhookURL(t), privileged); code != 200 {
				t.Fatalf("POST: %d", code)
			}
			got := waitFile(t, r.alerts, `"rule":"Privileged container in a pod"`)
			if !strings.HasPrefix(got, `{"hostname":`) {
				t.Errorf("not Falco's JSON alert: %s", got)
			}
			if code, body := r.healthz(t); code != 200 {
				t.Fatalf("healthz: %d %s", code, body)
			}
			resp, _ := http.Get("http://" + r.d.WebAddr() + "/metrics")
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			for _, m := range []string{`peregrine_events_received_total{source="k8saudit"} 1`,
				`peregrine_events_evaluated_total{source="k8saudit"} 1`, `peregrine_output_sent_total{output="file"} 1`,
				`peregrine_webhook_requests_total{code="200",source="k8saudit"} 1`, `peregrine_source_lag_seconds{source="k8saudit"}`,
				`peregrine_alerts_total{priority="Warning",rule="Privileged container in a pod"} 1`} {
				if !strings.Contains(b.String(), m) {
					t.Errorf("/metrics has no %s", m)
				}
			}
		})
	}
}

// TestReloadKeepsOldRules: a reload that fails keeps the running engine
// and outputs; one that works swaps them without losing alerts.
func TestReloadKeepsOldRules(t *testing.T) {
	var fail atomic.Bool
	r := run(t, base, &fail)
	fail.Store(true)
	if r.d.Reload("test") {
		t.Fatal("a broken reload succeeded")
	}
	if code := post(t, r.webhookURL(t), privileged); code != 200 {
		t.Fatalf("POST: %d", code)
	}
	waitFile(t, r.alerts, "Privileged container")
	fail.Store(false)
	if !r.d.Reload("test") {
		t.Fatal("reload failed")
	}
	post(t, r.webhookURL(t), strings.Replace(privileged, `"p1"`, `"p2"`, 1))
	got := waitCount(t, r.alerts, "Privileged container in a pod\"", 2)
	if strings.Count(got, "Privileged container in a pod\"") != 2 {
		t.Fatalf("want two alerts across the reload:\n%s", got)
	}
}

// TestReloadSaysRestartNeeded: a reload applies rules and outputs; when
// settings read only at start changed too, it says they wait for a
// restart.
func TestReloadSaysRestartNeeded(t *testing.T) {
	logs := &syncbuf.Buffer{}
	r := run(t, base+"watch_config_files: false\n", nil, func(o *daemon.Options) { o.Log = slog.New(slog.NewTextHandler(logs, nil)) })
	const warning = "take effect at the next restart"
	cases := []struct {
		name, from, to string
		warn           bool
	}{
		{"outputs only", "json_output: true", "json_output: false", false},
		{"init_config", `{"cluster_name":"test"}`, `{"cluster_name":"prod"}`, true},
		{"webserver", "listen_port: 0}", "listen_port: 0, k8s_audit_endpoint: /audit}", true},
		{"source silence", "source_silence: {timeout: 0}", "source_silence: {timeout: 5m}", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs.Reset()
			b, _ := os.ReadFile(r.config)
			os.WriteFile(r.config, bytes.Replace(b, []byte(c.from), []byte(c.to), 1), 0o644)
			defer os.WriteFile(r.config, b, 0o644)
			if !r.d.Reload("test") {
				t.Fatal("reload failed")
			}
			if got := strings.Contains(logs.String(), warning); got != c.warn {
				t.Errorf("warned %v, want %v:\n%s", got, c.warn, logs.String())
			}
		})
	}
}

func TestUnavailableSources(t *testing.T) {
	var missing []string // the family's sources this build lacks
	for name := range config.KnownPlugins {
		if _, ok := daemon.Openers()[name]; !ok && name != "json" {
			missing = append(missing, name)
		}
	}
	for _, name := range missing {
		yaml := fmt.Sprintf("plugins: [{name: %s, library_path: x, open_params: c}]\nwebserver: {enabled: false}\n", name)
		p := filepath.Join(t.TempDir(), "falco.yaml")
		os.WriteFile(p, []byte(yaml), 0o644)
		load := func() (*daemon.Loaded, error) {
			cfg, err := config.Load(p, nil)
			if err != nil {
				return nil, err
			}
			eng, _ := webhooktest.DefaultEngine()
			return &daemon.Loaded{Config: cfg, Engine: eng, Format: output.DefaultFormat()}, nil
		}
		err := daemon.Run(context.Background(), daemon.Options{Load: load, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if !errors.Is(err, source.ErrUnavailable) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want a clear 'not available' error", name, err)
		}
	}
}

func TestSourceSilenceAlert(t *testing.T) {
	yaml := strings.Replace(base, "source_silence: {timeout: 0}", "source_silence: {timeout: 100ms, priority: critical}", 1)
	r := run(t, yaml, nil)
	got := waitFile(t, r.alerts, daemon.SilenceRule)
	if !strings.Contains(got, `"priority":"Critical"`) || !strings.Contains(got, "source k8saudit") {
		t.Errorf("silence alert: %s", got)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"user=bob password=hunter2 ns=x", "user=bob password=*** ns=x"},
		{`{"token":"abc.def"}`, `{"token":"***"}`},
		{"Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer ***"},
		{"key AKIAABCDEFGHIJKLMNOP here", "key *** here"},
		{"jwt eyJhbGciOi.eyJzdWIiOiIx.sig123 end", "jwt *** end"},
		{"nothing secret here", "nothing secret here"},
	}
	for _, tc := range tests {
		if got := daemon.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLegacyEndpoint: seed 004's webserver block accepts audit POSTs on
// the webserver's port, beside /healthz and /metrics, and is then the
// only source.
func TestLegacyEndpoint(t *testing.T) {
	yaml := `
plugins: []
load_plugins: []
stdout_output: {enabled: false}
file_output: {enabled: true, filename: ALERTS}
webserver: {enabled: true, listen_address: 127.0.0.1, listen_port: 0, k8s_audit_endpoint: /k8s_audit, ssl_enabled: false}
peregrine: {source_silence: {timeout: 0}}
`
	r := run(t, yaml, nil)
	web := "http://" + r.d.WebAddr()
	deadline := time.Now().Add(5 * time.Second)
	for post(t, web+"/k8s_audit", privileged) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the legacy endpoint never answered 200")
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitFile(t, r.alerts, "Privileged container in a pod")
	// The legacy endpoint is the source: no default webhook beside it.
	if srcs := r.d.Sources(); len(srcs) != 1 || srcs[0].Name() != "webserver" {
		t.Errorf("sources %v, want the webserver's alone", srcs)
	}
}

// TestSpoolBound: peregrine.spool.max_bytes bounds the webhook's spool
// when its init_config sets none: with alerts that cannot be delivered
// the spool fills and the webhook answers 429.
func TestSpoolBound(t *testing.T) {
	yaml := strings.Replace(base, "peregrine: {source_silence: {timeout: 0}}",
		"peregrine: {source_silence: {timeout: 0}, state_dir: STATE, drain_timeout: 1s, spool: {max_bytes: 1000}}\n"+
			"http_output: {enabled: true, url: \"http://127.0.0.1:1/\"}", 1)
	r := run(t, yaml, nil)
	codes := ""
	for i := range 6 {
		codes += fmt.Sprint(post(t, r.webhookURL(t), strings.Replace(privileged, `"p1"`, fmt.Sprintf(`"p%d"`, i), 1)), " ")
	}
	if !strings.Contains(codes, "429") {
		t.Errorf("answers %s: want a 429 once 1000 bytes are spooled", codes)
	}
}

// TestWebhookEventsNumbered: the webhook leaves evt.num to the pipeline,
// which numbers each source's events from 1.
func TestWebhookEventsNumbered(t *testing.T) {
	r := run(t, base, nil)
	del := strings.Replace(strings.Replace(privileged, `"create"`, `"delete"`, 1), `"p1"`, `"d1"`, 1)
	if code := post(t, r.webhookURL(t), del); code != 200 {
		t.Fatalf("POST: %d", code)
	}
	waitFile(t, r.alerts, "Numbered event (num=1)")
}

// sick wraps a source and reports it unhealthy.
type sick struct{ source.Source }

func (sick) Health() error { return errors.New("connection lost, retrying") }

// TestHealthzWithoutRules: a detector without rules is not healthy.
func TestHealthzWithoutRules(t *testing.T) {
	r := run(t, base, nil, func(o *daemon.Options) {
		load := o.Load
		o.Load = func() (*daemon.Loaded, error) {
			l, err := load()
			if err == nil {
				col, rep := rules.Load(nil, rules.Options{})
				l.Engine = engine.New(col, engine.DefaultOptions(), rep)
			}
			return l, err
		}
	})
	if code, body := r.healthz(t); code != http.StatusServiceUnavailable || !strings.Contains(body, "rules: none loaded") {
		t.Errorf("healthz: %d %s", code, body)
	}
}

// healthz GETs /healthz and returns the status code and body.
func (r *running) healthz(t *testing.T) (int, string) {
	resp, err := http.Get("http://" + r.d.WebAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, b.String()
}

// TestHealthzAsksSources: a running source that says it is unhealthy makes
// /healthz answer 503 with its reason.
func TestHealthzAsksSources(t *testing.T) {
	r := run(t, base, nil, func(o *daemon.Options) {
		o.Openers = map[string]source.Opener{"k8saudit": func(env source.Env) ([]source.Source, error) {
			srcs, err := k8saudit.Open(env)
			for i := range srcs {
				srcs[i] = sick{srcs[i]}
			}
			return srcs, err
		}}
	})
	if code, body := r.healthz(t); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection lost") {
		t.Errorf("healthz: %d %s", code, body)
	}
}
