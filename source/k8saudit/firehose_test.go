package k8saudit_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/daemon/daemontest"
	cw "github.com/peregrine-sec/peregrine/source/eks/cwlogs/cwlogstest"
	"github.com/peregrine-sec/peregrine/source/webhook"
)

// firehoseConfig is a falco.yaml whose k8saudit webhook also takes Amazon
// Data Firehose deliveries, the access key from the environment.
const firehoseConfig = `
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config:
      firehose_path: /firehose
      firehose_access_key: "${FIREHOSE_ACCESS_KEY}"
    open_params: "http://127.0.0.1:0/k8s-audit"
load_plugins: [k8saudit]
stdout_output: {enabled: true}
peregrine:
  state_dir: STATE_DIR
`

const secretsRule = `
- rule: Secret read
  desc: A secret was read.
  condition: ka.verb = get and ka.target.resource = secrets
  output: Secret read (user=%ka.user.name secret=%ka.target.name cluster=%ka.cluster.name)
  priority: WARNING
  source: k8s_audit
`

// TestFirehoseDaemon runs the daemon from falco.yaml and delivers what a
// CloudWatch Logs subscription filter on an EKS log group sends through
// Firehose: the alert names the cluster of the log group, and the
// control message CloudWatch sends first changes nothing.
func TestFirehoseDaemon(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FIREHOSE_ACCESS_KEY", "k3y")
	cfg := filepath.Join(dir, "falco.yaml")
	os.WriteFile(cfg, []byte(strings.Replace(firehoseConfig, "STATE_DIR", filepath.Join(dir, "state"), 1)), 0o644)
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	r := daemontest.Start(t, daemontest.Options{Config: cfg, Rules: secretsRule, Stdout: stdout})
	url := firehoseURL(t, r)

	control := cw.Gzip(cw.Control("/aws/eks/prod-eu/cluster"))
	data := cw.Gzip(cw.Subscription("DATA_MESSAGE", "/aws/eks/prod-eu/cluster", cw.Stream(3),
		cw.AuditEvent("e1", "get", "secrets"), cw.AuditEvent("e2", "list", "pods")))
	for _, body := range [][]byte{cw.Body("req-1", control), cw.Body("req-2", data)} {
		resp, err := http.DefaultClient.Do(cw.Request(url, "req", "k3y", body, true))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("answer %d", resp.StatusCode)
		}
	}
	want := "Warning Secret read (user=alice secret=x cluster=prod-eu)"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(stdout.Name())
		if n := strings.Count(string(b), "Secret read"); n == 1 && strings.Contains(string(b), want) {
			break
		} else if n > 1 || time.Now().After(deadline) {
			t.Fatalf("want one %q in:\n%s", want, b)
		}
	}
}

func firehoseURL(t *testing.T, r *daemontest.Running) string {
	for _, s := range r.D.Sources() {
		if ws, ok := s.(*webhook.Server); ok && ws.FirehoseURL() != "" {
			return ws.FirehoseURL()
		}
	}
	t.Fatal("no webhook with a Firehose path")
	return ""
}
