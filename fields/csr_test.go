package fields

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
)

// csrPEM builds a real PEM "CERTIFICATE REQUEST" for the subject cn, orgs.
// It cannot fail with a fresh P-256 key, so it panics if it does.
func csrPEM(cn string, orgs ...string) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs}}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// csrEvent is a CSR create whose spec.request is the JSON value request.
func csrEvent(request string) string {
	return ka(`"objectRef":{"resource":"certificatesigningrequests","apiGroup":"certificates.k8s.io"},` +
		`"requestObject":{"spec":{"request":` + request + `,"signerName":"kubernetes.io/kube-apiserver-client"}}`)
}

func quoted(s string) string { return `"` + s + `"` }

func csrCases() []fieldCase {
	masters := b64(csrPEM("mallory", "system:masters", "devs"))
	kubelet := b64(csrPEM("system:node:n1", "system:nodes"))
	noSubject := b64(csrPEM(""))
	certPEM := b64(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}))
	garbage := b64(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte("not DER")}))
	approval := ka(`"objectRef":{"resource":"certificatesigningrequests","subresource":"approval"},` +
		`"requestObject":{"spec":{"request":"` + masters + `"},"status":{"conditions":[{"type":"Approved","status":"True"}]}}`)
	pod := ka(`"objectRef":{"resource":"pods"},"requestObject":{"spec":{"request":"` + masters + `"}}`)

	var cases []fieldCase
	for _, f := range []string{"ka.req.csr.subject.cn", "ka.req.csr.subject.o"} {
		cases = append(cases,
			lacks(f, csrEvent(quoted(noSubject))),
			// An approval sent by kubectl carries the whole object, request included.
			lacks(f, ka(`"objectRef":{"resource":"certificatesigningrequests","subresource":"approval"},"requestObject":{"status":{}}`)),
			lacks(f, ka(`"objectRef":{"resource":"certificatesigningrequests"}`)),
			lacks(f, csrEvent(`""`)),
			lacks(f, pod),
			lacks(f, `{"objectRef":{"resource":"certificatesigningrequests"},"requestObject":{"spec":{"request":"`+masters+`"}}}`),
			bad(f, csrEvent(`"not base64!"`)),
			bad(f, csrEvent(quoted(b64([]byte("no PEM here"))))),
			bad(f, csrEvent(quoted(certPEM))),
			bad(f, csrEvent(quoted(garbage))),
			bad(f, csrEvent(quoted(masters[:len(masters)/2]))),
			bad(f, csrEvent(`["`+masters+`"]`)),
			bad(f, csrEvent(quoted(strings.Repeat("A", maxCSRRequest)+masters))),
		)
	}
	return append(cases,
		has("ka.req.csr.subject.cn", csrEvent(quoted(masters)), "mallory"),
		has("ka.req.csr.subject.cn", csrEvent(quoted(kubelet)), "system:node:n1"),
		has("ka.req.csr.subject.cn", approval, "mallory"),
		// Go puts both organizations in one DER SET, which sorts them.
		has("ka.req.csr.subject.o", csrEvent(quoted(masters)), "devs", "system:masters"),
		has("ka.req.csr.subject.o", csrEvent(quoted(kubelet)), "system:nodes"),
		has("ka.req.csr.subject.o", approval, "devs", "system:masters"),
	)
}

// TestCSRNoPanic feeds the CSR fields truncations of a valid request: every
// one gives a value or none, never a panic.
func TestCSRNoPanic(t *testing.T) {
	der := csrPEM("x", "system:masters")
	cn, _ := Builtin().Lookup("ka.req.csr.subject.cn")
	for i := range der {
		ev := audit.New([]byte(csrEvent(quoted(b64(der[:i])))), t0)
		cn.Extract(ev, &Arg{}, nil)
	}
}
