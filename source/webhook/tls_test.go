package webhook

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
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
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/metrics"
)

// pki is a throwaway CA with a server and a client certificate.
type pki struct {
	caPEM      []byte
	serverPEM  []byte // certificate and key in one file, as sslCertificate
	client     tls.Certificate
	pool       *x509.CertPool
	strangerTC tls.Certificate // signed by another CA
}

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func newPKI(t *testing.T) *pki {
	ca, caKey, caPEM := newCA(t, "test-ca")
	sc, sk := leaf(t, ca, caKey, "peregrine", x509.ExtKeyUsageServerAuth)
	cc, ck := leaf(t, ca, caKey, "kube-apiserver", x509.ExtKeyUsageClientAuth)
	client, err := tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	other, otherKey, _ := newCA(t, "other-ca")
	oc, ok := leaf(t, other, otherKey, "mallory", x509.ExtKeyUsageClientAuth)
	stranger, _ := tls.X509KeyPair(oc, ok)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &pki{caPEM: caPEM, serverPEM: append(sc, sk...), client: client, pool: pool, strangerTC: stranger}
}

// serveTLS runs a Server with TLS from files, as open_params https:// does.
func serveTLS(t *testing.T, p *pki, mtls bool) (*Server, *recorder) {
	dir := t.TempDir()
	certFile := filepath.Join(dir, "falco.pem")
	os.WriteFile(certFile, p.serverPEM, 0o600)
	caFile := ""
	if mtls {
		caFile = filepath.Join(dir, "ca.pem")
		os.WriteFile(caFile, p.caPEM, 0o600)
	}
	tc, err := TLSConfig(certFile, caFile)
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Name: "k8saudit", Path: "/k8s-audit", RequireClientCert: mtls,
		Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s := NewServer("127.0.0.1:0", h, tc)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, rec); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, rec
}

func tlsPost(t *testing.T, url string, p *pki, cert *tls.Certificate) (int, error) {
	tc := &tls.Config{RootCAs: p.pool}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 5 * time.Second}
	for range 100 { // until Run gave the handler its pipeline
		resp, err := c.Post(url, "application/json", bytes.NewReader([]byte(event("a"))))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			return resp.StatusCode, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 503, nil
}

func TestTLSAndMTLS(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name string
		mtls bool
		cert *tls.Certificate
		code int
	}{
		{"tls", false, nil, 200},
		{"mtls with client cert", true, &p.client, 200},
		{"mtls without client cert", true, nil, 401},
		{"mtls with a stranger's cert", true, &p.strangerTC, -1}, // refused in the handshake
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, rec := serveTLS(t, p, tc.mtls)
			code, err := tlsPost(t, s.URL(), p, tc.cert)
			if tc.code == -1 {
				if err == nil && code == 200 {
					t.Fatal("a certificate of another CA was accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("status %d, want %d", code, tc.code)
			}
			if got := len(rec.events()); (got == 1) != (tc.code == 200) {
				t.Errorf("%d events evaluated", got)
			}
		})
	}
}
