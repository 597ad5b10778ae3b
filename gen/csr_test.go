package gen

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
)

// TestCSRRequests: every generated CSR carries a real request; attacks ask
// for system:masters, kubelets for their own node identity.
func TestCSRRequests(t *testing.T) {
	data := generate(t, opts(func(o *Options) { o.Events = 30000; o.AttackShare = 0.2; o.Mix = Mix{Write: 1} }))
	seen := map[string]int{}
	for _, ev := range decodeAll(t, data) {
		if res, _ := ev.Get("objectRef", "resource").Str(); res != "certificatesigningrequests" {
			continue
		}
		kind, _ := ev.Get("annotations", AttackAnnotation).Str()
		csr := parseCSR(t, ev)
		switch {
		case strings.HasPrefix(kind, "csr-"):
			if !slices.Contains(csr.Subject.Organization, "system:masters") {
				t.Errorf("%s: subject %v lacks system:masters", kind, csr.Subject)
			}
		case kind == "":
			kind = "benign"
			if !strings.HasPrefix(csr.Subject.CommonName, "system:node:") || !slices.Equal(csr.Subject.Organization, []string{"system:nodes"}) {
				t.Errorf("benign CSR for %v, want a node identity", csr.Subject)
			}
		}
		seen[kind]++
	}
	for _, k := range []string{"csr-system-masters", "csr-approve-system-masters", "benign"} {
		if seen[k] == 0 {
			t.Errorf("no %s CSR event generated (seen %v)", k, seen)
		}
	}
}

func parseCSR(t *testing.T, ev *audit.Event) *x509.CertificateRequest {
	t.Helper()
	enc, _ := ev.Get("requestObject", "spec", "request").Str()
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatalf("spec.request: %v", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("spec.request is not a PEM CSR: %q", b)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatal(err)
	}
	return csr
}
