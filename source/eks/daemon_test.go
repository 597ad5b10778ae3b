package eks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/daemon/daemontest"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/eks"
	"github.com/peregrine-sec/peregrine/source/eks/ekstest"
)

// seed001 is the falco.yaml of seed 001 (the k8saudit-eks announcement),
// unchanged.
const seed001 = `
plugins:
  - name: k8saudit-eks
    library_path: libk8saudit-eks.so
    init_config:
      region: "us-east-1"
      profile: "default"
      shift: 10
      polling_interval: 10
      use_async: false
      buffer_size: 500
    open_params: "my-cluster"
  - name: json
    library_path: libjson.so
    init_config: ""

load_plugins: [k8saudit-eks, json]
`

// dummyRules is seed 001's example rule, its output naming the cluster.
const dummyRules = `
- required_engine_version: 15
- required_plugin_versions:
  - name: k8saudit-eks
    version: 0.1.0

- rule: Dummy rule
  desc: >
    Dummy rule
  condition: >
    ka.verb in (get,create,delete,update)
  output: user=%ka.user.name verb=%ka.verb target=%ka.target.name target.namespace=%ka.target.namespace resource=%ka.target.resource cluster=%ka.cluster.name
  priority: WARNING
  source: k8s_audit
  tags: [k8s]
`

// TestSeed001 runs the daemon with seed 001's configuration against the
// fake CloudWatch Logs (reached through the SDK's standard endpoint
// variable, credentials from the environment) and expects the example's
// alert, with the cluster named by open_params.
func TestSeed001(t *testing.T) {
	srv := ekstest.New()
	defer srv.Close()
	now := time.Now()
	ev := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"e1","stage":"ResponseComplete","verb":"get",` +
		`"user":{"username":"eks:certificate-controller"},"objectRef":{"resource":"configmaps","namespace":"kube-system","name":"eks-certificates-controller"},` +
		`"stageTimestamp":"` + now.UTC().Format(time.RFC3339Nano) + `"}`
	srv.Add(ekstest.Event{Group: "/aws/eks/my-cluster/cluster", Stream: "kube-apiserver-audit-5e3b", Time: now.Add(-2 * time.Second).UnixMilli(), Message: ev})

	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": srv.URL, "AWS_ACCESS_KEY_ID": "AKIDSEED", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_PROFILE": "", "AWS_REGION": "", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	cfgPath := filepath.Join(dir, "falco.yaml")
	os.WriteFile(cfgPath, []byte(seed001), 0o644)
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()

	r := daemontest.Start(t, daemontest.Options{Config: cfgPath, Rules: dummyRules, Stdout: stdout,
		Openers: map[string]source.Opener{"k8saudit-eks": eks.Open}})
	want := "Warning user=eks:certificate-controller verb=get target=eks-certificates-controller target.namespace=kube-system resource=configmaps cluster=my-cluster"
	got := waitFor(t, stdout.Name(), want, r)
	if err := r.Stop(); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	if n := strings.Count(got, "Dummy") + strings.Count(got, "Warning"); n != 1 {
		t.Fatalf("want one alert, got:\n%s", got)
	}
}

func waitFor(t *testing.T, path, want string, r *daemontest.Running) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return string(b)
		}
		if err, ok := r.Exited(); ok {
			t.Fatalf("daemon stopped: %v\n%s", err, b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert %q in:\n%s", want, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
