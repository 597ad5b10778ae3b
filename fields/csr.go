package fields

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"

	"github.com/peregrine-sec/peregrine/audit"
)

// maxCSRRequest bounds the base64 text of spec.request that is decoded. Real
// requests are a few KiB; the bound keeps a hostile object from costing
// more than a parse of a plausible one.
const maxCSRRequest = 64 << 10

// csrRequest parses the PKCS#10 request of a CertificateSigningRequest in
// the request object: base64, then one PEM "CERTIFICATE REQUEST" block, as
// the API server itself accepts it. Anything else gives nil.
func csrRequest(ev *audit.Event) *x509.CertificateRequest {
	if !isAudit(ev) {
		return nil
	}
	if res, _ := ev.Get("objectRef", "resource").Str(); res != "certificatesigningrequests" {
		return nil
	}
	enc, ok := ev.Get("requestObject", "spec", "request").Str()
	if !ok || enc == "" || len(enc) > maxCSRRequest {
		return nil
	}
	der, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil
	}
	block, _ := pem.Decode(der)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil
	}
	return csr
}

// csrSubjectCN is ka.req.csr.subject.cn: the user name the certificate
// would authenticate as. An empty common name is no value.
func csrSubjectCN(ev *audit.Event, _ *Arg, dst []string) []string {
	if csr := csrRequest(ev); csr != nil && csr.Subject.CommonName != "" {
		dst = append(dst, csr.Subject.CommonName)
	}
	return dst
}

// csrSubjectO is ka.req.csr.subject.o: the groups the certificate would
// authenticate with.
func csrSubjectO(ev *audit.Event, _ *Arg, dst []string) []string {
	if csr := csrRequest(ev); csr != nil {
		dst = append(dst, csr.Subject.Organization...)
	}
	return dst
}
