package output

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// HTTPOptions are the http_output keys (RULES-LANGUAGE.md §3.6).
type HTTPOptions struct {
	URL             string
	UserAgent       string // default falcosecurity/falco
	JSON            bool   // Content-Type application/json, else text/plain
	Insecure        bool
	CACert          string // a PEM file of CA certificates
	CABundle        string // another PEM file
	CAPath          string // a directory of PEM files
	MTLS            bool
	ClientCert      string
	ClientKey       string
	CompressUploads bool
	KeepAlive       bool
	Timeout         time.Duration
	// Echo, when set (http_output.echo), receives each response body, as
	// Falco prints the receiver's answers to stdout.
	Echo io.Writer
}

// HTTP is http_output: each alert POSTed on its own, as Falcosidekick
// expects (the JSON alert, or the text line when json_output is off).
// A 2xx accepts it; 408, 429, 5xx and network errors are retried with
// backoff by the runner; any other status refuses it for good.
type HTTP struct {
	opts   HTTPOptions
	shown  string // the URL for messages: no user info, no query (secrets)
	client *http.Client
	gz     bytes.Buffer
}

// NewHTTP builds the client (TLS roots and client certificate are read
// now, so that a bad path fails at startup).
func NewHTTP(o HTTPOptions) (*HTTP, error) {
	if o.URL == "" {
		return nil, fmt.Errorf("http_output: url is required")
	}
	if o.UserAgent == "" {
		o.UserAgent = "falcosecurity/falco"
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	tc, err := o.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("http_output: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.DisableKeepAlives = !o.KeepAlive
	tr.MaxIdleConnsPerHost = 4
	return &HTTP{opts: o, shown: redactURL(o.URL), client: &http.Client{Transport: tr, Timeout: o.Timeout}}, nil
}

func (o HTTPOptions) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{InsecureSkipVerify: o.Insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // the user's choice (insecure: true)
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	files := []string{o.CACert, o.CABundle}
	if o.CAPath != "" && o.CAPath != "/etc/ssl/certs" { // the system pool already has the default
		matches, _ := filepath.Glob(filepath.Join(o.CAPath, "*"))
		files = append(files, matches...)
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		pool.AppendCertsFromPEM(pem)
	}
	tc.RootCAs = pool
	if o.MTLS {
		cert, err := tls.LoadX509KeyPair(o.ClientCert, o.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("mtls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (s *HTTP) Name() string { return "http" }

func (s *HTTP) Write(ctx context.Context, items []*Item) (int, error) {
	for i, it := range items {
		if err := s.post(ctx, it.Body()); err != nil {
			return i, err
		}
	}
	return len(items), nil
}

func (s *HTTP) post(ctx context.Context, body []byte) error {
	if s.opts.CompressUploads {
		s.gz.Reset()
		zw := gzip.NewWriter(&s.gz)
		zw.Write(body)
		zw.Close()
		body = s.gz.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(err)
	}
	req.Header.Set("User-Agent", s.opts.UserAgent)
	if s.opts.JSON {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "text/plain")
	}
	if s.opts.CompressUploads {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// Network trouble: retried. The *url.Error would repeat the URL
		// with its secrets, so only its cause is kept.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("http_output: %s: %w", s.shown, err)
	}
	echo := s.opts.Echo
	if echo == nil {
		echo = io.Discard
	}
	io.Copy(echo, io.LimitReader(resp.Body, 64<<10)) // also lets the connection be reused
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("http_output: %s answered %s", s.shown, resp.Status)
	default:
		return Permanent(fmt.Errorf("http_output: %s answered %s", s.shown, resp.Status))
	}
}

// redactURL drops what may carry credentials from a URL shown in logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable url>"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

func (s *HTTP) Close() error {
	s.client.CloseIdleConnections()
	return nil
}
