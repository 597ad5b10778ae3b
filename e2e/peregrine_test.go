package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/daemon"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/rules"
	"github.com/peregrine-sec/peregrine/source/webhook"
)

// peregrine is a daemon running in this process, wired as `peregrine run`
// wires it: daemon.Run over a falco.yaml, with the e2e rules.
type peregrine struct {
	d      *daemon.Daemon
	url    string // the webhook's URL
	stdout string // the file standing in for stdout
	cancel context.CancelFunc
	done   chan error
}

// startPeregrine runs a daemon over the falco.yaml yaml until the test
// ends.
func startPeregrine(t *testing.T, yaml string) *peregrine {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "falco.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	rulesYAML, err := os.ReadFile("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	col, rep := rules.Load([]rules.Source{{Name: "testdata/rules.yaml", Data: rulesYAML}}, rules.Options{})
	eng := engine.New(col, engine.DefaultOptions(), rep)
	if eng == nil {
		t.Fatal(rep.Err())
	}
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdout.Close() })
	load := func() (*daemon.Loaded, error) {
		cfg, err := config.Load(cfgPath, nil)
		if err != nil {
			return nil, err
		}
		f := output.DefaultFormat()
		f.JSON = cfg.JSONOutput
		return &daemon.Loaded{Config: cfg, Engine: eng, Format: f}, nil
	}
	p := &peregrine{stdout: stdout.Name(), done: make(chan error, 1)}
	ready := make(chan *daemon.Daemon, 1)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		p.done <- daemon.Run(ctx, daemon.Options{
			Load: load, Stdout: stdout, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready: func(d *daemon.Daemon) { ready <- d },
		})
	}()
	select {
	case p.d = <-ready:
	case err := <-p.done:
		t.Fatalf("peregrine did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("peregrine did not start in 10 s")
	}
	for _, s := range p.d.Sources() {
		if ws, ok := s.(*webhook.Server); ok {
			p.url = ws.URL()
		}
	}
	if p.url == "" {
		t.Fatal("no webhook source")
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *peregrine) stop(t *testing.T) {
	// The webhook backend's HTTP transport (client-go uses Go's default
	// one for plain HTTP) may have dialled a connection it never used;
	// http.Server.Shutdown waits 5 s before it counts such a connection
	// as idle. Closing the client side first keeps the stop fast.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("peregrine stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("peregrine did not stop in 15 s")
	}
}

// metric sums the samples of name whose labels include every one of
// labels (`key="value"`), read from /metrics as Prometheus would.
func (p *peregrine) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.d.WebAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		if !hasLabels(rest, labels) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

func hasLabels(sample string, labels []string) bool {
	for _, l := range labels {
		if !strings.Contains(sample, l) {
			return false
		}
	}
	return true
}

// waitFor polls until cond holds, for at most 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLines waits until the file at path has at least n lines holding
// want, and returns the file.
func waitLines(t *testing.T, path, want string, n int) string {
	t.Helper()
	var got string
	waitFor(t, strconv.Itoa(n)+" × "+want+" in "+filepath.Base(path), func() bool {
		b, _ := os.ReadFile(path)
		got = string(b)
		return strings.Count(got, want) >= n
	})
	return got
}

// pki is a throwaway public key infrastructure: the CA that signs
// Peregrine's serving certificate, and the one that signs kube-apiserver's
// client certificate.
type pki struct {
	dir                 string
	serverCA            []byte // PEM
	serverPEM           []byte // certificate and key in one PEM, as sslCertificate
	clientCA            []byte
	clientCrt, clientKy []byte
}

// serverName is the name in Peregrine's serving certificate: the
// Service's DNS name, which kube-apiserver checks through the kubeconfig's
// tls-server-name while it connects to an address.
const serverName = "peregrine.peregrine.svc"

func newPKI(t *testing.T) *pki {
	t.Helper()
	serverCA, serverCAKey, serverCAPEM := newCA(t, "peregrine-ca")
	clientCA, clientCAKey, clientCAPEM := newCA(t, "kube-apiserver-audit-ca")
	sc, sk := leaf(t, serverCA, serverCAKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: serverName}, DNSNames: []string{serverName, "peregrine"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	cc, ck := leaf(t, clientCA, clientCAKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver-audit"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	p := &pki{dir: t.TempDir(), serverCA: serverCAPEM, serverPEM: append(sc, sk...),
		clientCA: clientCAPEM, clientCrt: cc, clientKy: ck}
	for name, b := range map[string][]byte{"server.pem": p.serverPEM, "client-ca.pem": clientCAPEM,
		"ca.pem": serverCAPEM, "client.crt": cc, "client.key": ck} {
		if err := os.WriteFile(filepath.Join(p.dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tpl *x509.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tpl.NotBefore, tpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// hostPort is the host:port of a URL like https://127.0.0.1:1234/k8s-audit.
func hostPort(t *testing.T, url string) string {
	t.Helper()
	rest := url[strings.Index(url, "://")+3:]
	hp := rest[:strings.IndexByte(rest, '/')]
	if _, _, err := net.SplitHostPort(hp); err != nil {
		t.Fatal(err)
	}
	return hp
}
