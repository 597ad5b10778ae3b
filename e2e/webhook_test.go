package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/plugin/pkg/audit/buffered"
	pluginwebhook "k8s.io/apiserver/plugin/pkg/audit/webhook"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

func TestMain(m *testing.M) {
	// The audit backends log every failed batch through klog; the tests
	// that fail batches on purpose count them instead.
	fs := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(fs)
	fs.Parse([]string{"-logtostderr=false", "-alsologtostderr=false", "-stderrthreshold=FATAL"})
	klog.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// retries is the backoff the backends get here: kube-apiserver's shape
// (webhook.DefaultRetryBackoffWithInitialDelay: 5 tries, factor 1.5)
// from 10 ms instead of --audit-webhook-initial-backoff's 10 s.
var retries = wait.Backoff{Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}

// The alerts the e2e rules raise for events().
const (
	alertPod     = "E2E privileged pod (user=jane@example.com pod=miner ns=default"
	alertExec    = "E2E exec (user=jane@example.com pod=web-0 command=sh"
	alertBinding = "E2E cluster-admin binding (user=jane@example.com binding=jane-admin"
)

// events are audit events as kube-apiserver's audit filter builds them:
// a pod created with a privileged container (its body kept as the
// runtime.Unknown the filter captures), an exec into a pod at
// ResponseStarted, a ClusterRoleBinding to cluster-admin, and then quiet
// reads that raise nothing, n events in all (n >= 3).
func events(t *testing.T, n int) []*auditinternal.Event {
	t.Helper()
	now := time.Now()
	id := 0
	jane := func(ev *auditinternal.Event) *auditinternal.Event {
		id++
		ev.AuditID = types.UID(fmt.Sprintf("e2e-%d-%d", now.UnixNano(), id))
		ev.User.Username = "jane@example.com"
		ev.User.Groups = []string{"developers", "system:authenticated"}
		ev.SourceIPs = []string{"203.0.113.7"}
		ev.UserAgent = "kubectl/v1.37.2 (linux/amd64) kubernetes/abcdef0"
		ev.RequestReceivedTimestamp = metav1.NewMicroTime(now)
		if ev.StageTimestamp.IsZero() {
			ev.StageTimestamp = metav1.NewMicroTime(now.Add(3 * time.Millisecond))
		}
		return ev
	}
	privileged := true
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "miner", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "alpine:3.20", Command: []string{"sleep", "infinity"},
			SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
		}}},
	}
	crb := &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: "jane-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "jane@example.com"}},
	}
	evs := []*auditinternal.Event{
		jane(&auditinternal.Event{
			Level: auditinternal.LevelRequest, Stage: auditinternal.StageResponseComplete,
			RequestURI: "/api/v1/namespaces/default/pods?fieldManager=kubectl-create", Verb: "create",
			ObjectRef:      &auditinternal.ObjectReference{Resource: "pods", Namespace: "default", Name: "miner", APIVersion: "v1"},
			ResponseStatus: &metav1.Status{Code: 201},
			RequestObject:  unknown(t, pod),
		}),
		jane(&auditinternal.Event{
			Level: auditinternal.LevelMetadata, Stage: auditinternal.StageResponseStarted,
			RequestURI:     "/api/v1/namespaces/default/pods/web-0/exec?command=sh&command=-c&command=id&container=web&stdin=true&stdout=true&tty=true",
			Verb:           "get",
			ObjectRef:      &auditinternal.ObjectReference{Resource: "pods", Namespace: "default", Name: "web-0", APIVersion: "v1", Subresource: "exec"},
			ResponseStatus: &metav1.Status{Code: 101},
		}),
		jane(&auditinternal.Event{
			Level: auditinternal.LevelRequest, Stage: auditinternal.StageResponseComplete,
			RequestURI: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create", Verb: "create",
			ObjectRef: &auditinternal.ObjectReference{Resource: "clusterrolebindings", Name: "jane-admin",
				APIGroup: "rbac.authorization.k8s.io", APIVersion: "v1"},
			ResponseStatus: &metav1.Status{Code: 201},
			RequestObject:  unknown(t, crb),
		}),
	}
	for i := len(evs); i < n; i++ {
		evs = append(evs, jane(&auditinternal.Event{
			Level: auditinternal.LevelMetadata, Stage: auditinternal.StageResponseComplete,
			RequestURI: "/api/v1/namespaces/default/pods?limit=500", Verb: "list",
			ObjectRef:      &auditinternal.ObjectReference{Resource: "pods", Namespace: "default", APIVersion: "v1"},
			ResponseStatus: &metav1.Status{Code: 200},
			StageTimestamp: metav1.NewMicroTime(now.Add(time.Duration(i) * time.Millisecond)),
		}))
	}
	return evs
}

// unknown is obj as the audit filter keeps a request body: its JSON, in a
// runtime.Unknown.
func unknown(t *testing.T, obj any) *runtime.Unknown {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &runtime.Unknown{Raw: b, ContentType: runtime.ContentTypeJSON}
}

// counted wraps the webhook backend to count the batches it delivered and
// the ones it gave up on (kube-apiserver only logs those).
type counted struct {
	audit.Backend
	ok, failed, events atomic.Int64
}

func (c *counted) ProcessEvents(evs ...*auditinternal.Event) bool {
	defer c.events.Add(int64(len(evs)))
	if c.Backend.ProcessEvents(evs...) {
		c.ok.Add(1)
		return true
	}
	c.failed.Add(1)
	return false
}

// apiserver is kube-apiserver's audit webhook pipeline: the webhook
// backend loaded from a kubeconfig file, behind the buffered backend
// (--audit-webhook-mode=batch, the default) with batches of at most
// maxBatch events (--audit-webhook-batch-max-size).
type apiserver struct {
	webhook  *counted
	buffered audit.Backend
}

func newAPIServer(t *testing.T, kubeconfig *clientcmdapi.Config, maxBatch int) *apiserver {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit-webhook.kubeconfig")
	if err := clientcmd.WriteToFile(*kubeconfig, path); err != nil {
		t.Fatal(err)
	}
	wb, err := pluginwebhook.NewBackend(path, auditv1.SchemeGroupVersion, retries, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &apiserver{webhook: &counted{Backend: wb}}
	a.buffered = buffered.NewBackend(a.webhook, buffered.BatchConfig{
		BufferSize: 10000, MaxBatchSize: maxBatch, MaxBatchWait: 200 * time.Millisecond,
		ThrottleEnable: true, ThrottleQPS: 100, ThrottleBurst: 15, AsyncDelegate: true,
	})
	return a
}

// send queues evs as the audit filter does, waits until the backend has
// delivered or given up every one, then stops it as kube-apiserver does on
// shutdown. Queued before Run, the events go in batches of exactly
// maxBatch while there are that many (a shorter rest waits for
// MaxBatchWait); stopping earlier could cut a batch short.
func (a *apiserver) send(t *testing.T, evs []*auditinternal.Event) {
	t.Helper()
	a.buffered.ProcessEvents(evs...)
	stop := make(chan struct{})
	if err := a.buffered.Run(stop); err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(stop)
		a.buffered.Shutdown()
	}()
	for deadline := time.Now().Add(10 * time.Second); a.webhook.events.Load() < int64(len(evs)); {
		if time.Now().After(deadline) {
			t.Fatalf("the audit backend handled %d of %d events in 10 s", a.webhook.events.Load(), len(evs))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func kubeconfig(server string) *clientcmdapi.Config {
	c := clientcmdapi.NewConfig()
	c.Clusters["peregrine"] = &clientcmdapi.Cluster{Server: server}
	c.AuthInfos["kube-apiserver"] = &clientcmdapi.AuthInfo{}
	c.Contexts["default"] = &clientcmdapi.Context{Cluster: "peregrine", AuthInfo: "kube-apiserver"}
	c.CurrentContext = "default"
	return c
}

// TestAPIServerBatches: a daemon configured only with where to listen
// (otherwise `peregrine run` without a configuration: alerts as text on
// stdout, no state_dir) gets kube-apiserver's batches over plain HTTP
// from a kubeconfig like those of seeds 002 and 004, and prints the
// alerts.
func TestAPIServerBatches(t *testing.T) {
	p := startPeregrine(t, `
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    open_params: "http://127.0.0.1:0/k8s-audit"
webserver: {listen_address: 127.0.0.1, listen_port: 0}
peregrine: {source_silence: {timeout: 0}}
`)
	const n = 12
	ok := `code="200"`
	t.Run("one batch", func(t *testing.T) {
		a := newAPIServer(t, kubeconfig(p.url), n)
		a.send(t, events(t, n))
		if a.webhook.ok.Load() != 1 || a.webhook.failed.Load() != 0 {
			t.Fatalf("batches delivered %d, failed %d; want 1 and 0", a.webhook.ok.Load(), a.webhook.failed.Load())
		}
		out := waitLines(t, p.stdout, alertBinding, 1)
		for _, want := range []string{"Warning " + alertPod, "Notice " + alertExec, "Error " + alertBinding} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout has no %q:\n%s", want, out)
			}
		}
		if got := p.metric(t, "peregrine_webhook_requests_total", ok); got != 1 {
			t.Errorf("%v POSTs answered 200, want one for %d events", got, n)
		}
		if got := p.metric(t, "peregrine_events_evaluated_total"); got != n {
			t.Errorf("%v events evaluated, want %d", got, n)
		}
	})
	t.Run("several batches", func(t *testing.T) {
		before := p.metric(t, "peregrine_webhook_requests_total", ok)
		a := newAPIServer(t, kubeconfig(p.url+"/staging"), n/3)
		a.send(t, events(t, n))
		if a.webhook.ok.Load() != 3 || a.webhook.failed.Load() != 0 {
			t.Fatalf("batches delivered %d, failed %d; want 3 and 0", a.webhook.ok.Load(), a.webhook.failed.Load())
		}
		out := waitLines(t, p.stdout, "cluster=staging)", 3) // the path names the cluster
		if n := strings.Count(out, "cluster=staging)"); n != 3 {
			t.Errorf("want 3 alerts for staging, have %d:\n%s", n, out)
		}
		if got := p.metric(t, "peregrine_webhook_requests_total", ok) - before; got != 3 {
			t.Errorf("%v POSTs answered 200, want 3", got)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		// The webhook backend does not compress; log shippers that
		// forward its bodies may. These are the bytes it sends, encoded
		// with its codec.
		list := &auditinternal.EventList{}
		for _, ev := range events(t, 3) {
			list.Items = append(list.Items, *ev)
		}
		body, err := runtime.Encode(audit.Codecs.LegacyCodec(auditv1.SchemeGroupVersion), list)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(body, []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1"`)) {
			t.Fatalf("not what the backend sends: %.80s", body)
		}
		before := strings.Count(readFile(p.stdout), alertBinding)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(body)
		zw.Close()
		req, _ := http.NewRequest(http.MethodPost, p.url, &gz)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("gzip POST: %d", resp.StatusCode)
		}
		waitLines(t, p.stdout, alertBinding, before+1)
	})
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestAPIServerTLS: TLS with Peregrine's own CA, mTLS and a bearer token,
// with the webhook spool on; the kubeconfig carries everything inline
// (certificate-authority-data, client-certificate-data, client-key-data,
// token) and reaches the daemon by address, checking the certificate
// against the Service's name (tls-server-name). Without the token or the
// client certificate the daemon answers 401, and kube-apiserver's backend
// (v0.37) retries even that before it gives the batch up.
func TestAPIServerTLS(t *testing.T) {
	pk := newPKI(t)
	const token = "e2e-0123456789abcdef"
	t.Setenv("PEREGRINE_E2E_TOKEN", token)
	alerts := filepath.Join(t.TempDir(), "alerts.json")
	p := startPeregrine(t, fmt.Sprintf(`
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config:
      sslCertificate: %s
      client_ca: %s
      bearer_tokens:
        - {token: "${PEREGRINE_E2E_TOKEN}", cluster: prod}
    open_params: "https://127.0.0.1:0/k8s-audit"
load_plugins: [k8saudit]
stdout_output: {enabled: false}
file_output: {enabled: true, filename: %s}
json_output: true
webserver: {listen_address: 127.0.0.1, listen_port: 0}
peregrine:
  state_dir: %s
  source_silence: {timeout: 0}
`, pk.path("server.pem"), pk.path("client-ca.pem"), alerts, t.TempDir()))
	secure := func() *clientcmdapi.Config {
		c := kubeconfig(p.url)
		c.Clusters["peregrine"].CertificateAuthorityData = pk.serverCA
		c.Clusters["peregrine"].TLSServerName = serverName
		u := c.AuthInfos["kube-apiserver"]
		u.Token = token
		u.ClientCertificateData, u.ClientKeyData = pk.clientCrt, pk.clientKy
		return c
	}
	accepted := 0 // batches of 3 alerts
	unauthorized := func() float64 {
		return p.metric(t, "peregrine_events_skipped_total", `reason="unauthorized"`)
	}

	t.Run("mTLS and token", func(t *testing.T) {
		a := newAPIServer(t, secure(), 5)
		a.send(t, events(t, 5))
		if a.webhook.ok.Load() != 1 {
			t.Fatalf("batches delivered %d, failed %d", a.webhook.ok.Load(), a.webhook.failed.Load())
		}
		out := waitLines(t, alerts, `"rule":"E2E`, 3)
		for _, want := range []string{alertPod + " cluster=prod)", alertExec, alertBinding} {
			if !strings.Contains(out, want) {
				t.Errorf("alerts have no %q:\n%s", want, out)
			}
		}
		if !strings.Contains(out, `"priority":"Error","rule":"E2E cluster-admin binding"`) {
			t.Errorf("not Falco's JSON alerts:\n%s", out)
		}
		accepted++
	})

	t.Run("shipped kubeconfig", func(t *testing.T) {
		// deploy/kube-apiserver/audit-webhook.kubeconfig.yaml with its
		// files (CA, token, client certificate) made here and its
		// address pointed at the daemon: what the docs tell users to
		// install works with kube-apiserver's loader.
		c, err := clientcmd.LoadFromFile("../deploy/kube-apiserver/audit-webhook.kubeconfig.yaml")
		if err != nil {
			t.Fatal(err)
		}
		cl := c.Clusters[c.Contexts[c.CurrentContext].Cluster]
		u := c.AuthInfos[c.Contexts[c.CurrentContext].AuthInfo]
		if cl == nil || u == nil || cl.TLSServerName != serverName || cl.CertificateAuthority == "" || u.TokenFile == "" {
			t.Fatalf("the shipped kubeconfig should name the CA file, a token file and tls-server-name %s: %+v %+v", serverName, cl, u)
		}
		cl.Server = strings.Replace(cl.Server, hostPort(t, cl.Server), hostPort(t, p.url), 1)
		cl.CertificateAuthority = pk.path("ca.pem")
		u.TokenFile = filepath.Join(t.TempDir(), "token")
		os.WriteFile(u.TokenFile, []byte(token+"\n"), 0o600)
		// Optional in the shipped file (commented out), required here.
		u.ClientCertificate, u.ClientKey = pk.path("client.crt"), pk.path("client.key")
		a := newAPIServer(t, c, 3)
		a.send(t, events(t, 3))
		if a.webhook.ok.Load() != 1 {
			t.Fatalf("batches delivered %d, failed %d", a.webhook.ok.Load(), a.webhook.failed.Load())
		}
		accepted++
		waitLines(t, alerts, alertBinding, accepted)
	})

	t.Run("wrong token", func(t *testing.T) {
		before := unauthorized()
		c := secure()
		c.AuthInfos["kube-apiserver"].Token = "stolen-or-stale"
		a := newAPIServer(t, c, 3)
		a.send(t, events(t, 3))
		if a.webhook.failed.Load() != 1 {
			t.Fatalf("batches failed %d, want 1", a.webhook.failed.Load())
		}
		if got := unauthorized() - before; got != float64(retries.Steps) {
			t.Errorf("%v POSTs refused with 401, want %d: the backend retries every error", got, retries.Steps)
		}
	})

	t.Run("no client certificate", func(t *testing.T) {
		before := unauthorized()
		c := secure()
		c.AuthInfos["kube-apiserver"].ClientCertificateData = nil
		c.AuthInfos["kube-apiserver"].ClientKeyData = nil
		a := newAPIServer(t, c, 3)
		a.send(t, events(t, 3))
		if a.webhook.failed.Load() != 1 || unauthorized() == before {
			t.Fatalf("batches failed %d, 401s %v; want the batch refused", a.webhook.failed.Load(), unauthorized()-before)
		}
	})

	t.Run("unauthenticated POST", func(t *testing.T) {
		before := unauthorized()
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pk.serverCA)
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName},
		}}
		resp, err := client.Post(p.url, "application/json", strings.NewReader(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		client.CloseIdleConnections()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("answer %d, WWW-Authenticate %q; want 401, Bearer", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		if unauthorized() != before+1 {
			t.Errorf("the 401 was not counted")
		}
	})

	// Nothing refused raised an alert.
	out := readFile(alerts)
	if n := strings.Count(out, "\n"); n != 3*accepted {
		t.Errorf("want %d alerts from the accepted batches, have %d:\n%s", 3*accepted, n, out)
	}
}
