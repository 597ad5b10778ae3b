package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/peregrine-sec/peregrine/source"
)

// Server is a Handler on a listener of its own: the k8saudit open_params
// http://[host]:port/path or https://... .
type Server struct {
	h    *Handler
	addr string
	tls  *tls.Config
	ln   net.Listener
	srv  *http.Server
}

// NewServer serves h at addr (host:port), over TLS when tc is set.
func NewServer(addr string, h *Handler, tc *tls.Config) *Server {
	mux := http.NewServeMux()
	h.Routes(mux)
	return &Server{h: h, addr: addr, tls: tc, srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         tc,
		// Handshake failures (a client with a certificate of another CA,
		// a scanner) are routine on an exposed port: debug, not stderr.
		ErrorLog: slog.NewLogLogger(h.o.Log.Handler(), slog.LevelDebug),
	}}
}

// Listen binds the address now, so that a port in use fails at startup
// and Addr is known (port 0 picks a free one).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", s.h.o.Name, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the endpoint's URL (after Listen), for logs and tests.
func (s *Server) URL() string {
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
	}
	return scheme + "://" + s.Addr().String() + s.h.o.Path
}

// FirehoseURL is the Firehose path's URL (after Listen), "" without one.
func (s *Server) FirehoseURL() string {
	if s.h.o.FirehosePath == "" {
		return ""
	}
	return strings.TrimSuffix(s.URL(), s.h.o.Path) + s.h.o.FirehosePath
}

// Name implements source.Source.
func (s *Server) Name() string { return s.h.Name() }

// Handler returns the server's handler.
func (s *Server) Handler() *Handler { return s.h }

// Run serves until ctx ends, then stops accepting connections and waits
// (up to 10 s) for the requests in progress to be answered.
func (s *Server) Run(ctx context.Context, p source.Pipeline) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	loop := make(chan error, 1)
	go func() { loop <- s.h.Run(ctx, p) }()
	served := make(chan error, 1)
	go func() {
		if s.tls != nil {
			served <- s.srv.ServeTLS(s.ln, "", "")
		} else {
			served <- s.srv.Serve(s.ln)
		}
	}()
	select {
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if lerr := <-loop; err == nil {
		err = lerr
	}
	return err
}

// Close implements source.Source.
func (s *Server) Close() error { return s.h.Close() }

// TLSConfig builds the server's TLS from sslCertificate (one PEM file
// holding the certificate chain and the private key, as the k8saudit
// plugin reads it) and, for mTLS, a PEM file of client CAs. Client
// certificates are requested and verified when offered; the handler
// answers 401 to requests without one (RequireClientCert), so that a
// refused client is counted rather than lost in a handshake error.
func TLSConfig(certFile, clientCAFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("sslCertificate: %w", err)
	}
	cert, err := tls.X509KeyPair(pem, pem)
	if err != nil {
		return nil, fmt.Errorf("sslCertificate %s: %w", certFile, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		ca, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("client_ca %s: no PEM certificates", clientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

var _ source.Source = (*Server)(nil)
var _ source.Source = (*Handler)(nil)
