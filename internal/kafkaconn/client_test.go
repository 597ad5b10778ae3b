package kafkaconn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConnect authenticates to an in-process Kafka with each SASL
// mechanism it speaks, over TLS with a CA file, and fails with a wrong
// password.
func TestConnect(t *testing.T) {
	caFile, serverTLS := selfSigned(t)
	tests := []struct {
		name    string
		cluster []kfake.Opt
		opts    Options
		fail    bool
	}{
		{name: "plaintext"},
		{name: "tls", cluster: []kfake.Opt{kfake.TLS(serverTLS)}, opts: Options{TLS: &TLS{CACert: caFile}}},
		{name: "plain", cluster: []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("PLAIN", "u", "p")},
			opts: Options{SASL: SASL{Mechanism: "PLAIN", Username: "u", Password: "p"}}},
		{name: "scram-sha-256", cluster: []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "u", "p")},
			opts: Options{SASL: SASL{Mechanism: "SCRAM-SHA-256", Username: "u", Password: "p"}}},
		{name: "scram-sha-512 over tls", cluster: []kfake.Opt{kfake.TLS(serverTLS), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "u", "p")},
			opts: Options{TLS: &TLS{CACert: caFile}, SASL: SASL{Mechanism: "SCRAM-SHA-512", Username: "u", Password: "p"}}},
		{name: "wrong password", cluster: []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("PLAIN", "u", "p")},
			opts: Options{SASL: SASL{Mechanism: "PLAIN", Username: "u", Password: "nope"}}, fail: true},
		{name: "untrusted certificate", cluster: []kfake.Opt{kfake.TLS(serverTLS)}, opts: Options{TLS: &TLS{}}, fail: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, tc.cluster...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			o := tc.opts
			o.Brokers, o.ClientID = c.ListenAddrs(), "test"
			kopts, err := o.ClientOpts(nil)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(append(kopts, kgo.RetryTimeout(time.Second))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			err = cl.Ping(ctx)
			if (err != nil) != tc.fail {
				t.Fatalf("Ping: %v (want failure: %v)", err, tc.fail)
			}
		})
	}
}

// selfSigned writes a CA-signed-by-itself certificate for 127.0.0.1 and
// returns the CA file and the server's TLS config.
func selfSigned(t *testing.T) (string, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}
