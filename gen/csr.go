package gen

import (
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
)

// csrKey signs every generated certificate request. Ed25519 signatures
// depend only on key and message, so a request, like all output, is a
// function of the seed (ECDSA signatures are randomized).
var csrKey = ed25519.NewKeyFromSeed([]byte("peregrine-gen csr key, not real!"))

// csrRequest is spec.request of a CSR for the subject cn, orgs: a real
// PKCS#10 request, PEM-encoded then base64-encoded as the API carries it.
func csrRequest(cn string, orgs ...string) string {
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs}}
	der, err := x509.CreateCertificateRequest(nil, tmpl, csrKey)
	if err != nil {
		panic("gen: CSR: " + err.Error()) // cannot happen with a valid key
	}
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// csr is the request a kubelet sends for its own identity, built once
// per node.
func (n *node) csr() string {
	if n.csrRequest == "" {
		n.csrRequest = csrRequest("system:node:"+n.name, "system:nodes")
	}
	return n.csrRequest
}
