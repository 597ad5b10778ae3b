package daemon

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/spool"
	"github.com/peregrine-sec/peregrine/source/webhook"
)

// webServer is the webserver: block: /healthz, /metrics and, with the
// legacy k8s_audit_endpoint key, an audit webhook.
type webServer struct {
	srv *http.Server
	ln  net.Listener
	tls bool
}

// legacyName is the source name of the webserver's audit endpoint.
const legacyName = "webserver"

// legacyHandler is the audit endpoint of Falco <= 0.31's webserver
// (seed 004): the webhook with upstream's defaults, on the webserver.
func (d *Daemon) legacyHandler(cfg *config.Config) (*webhook.Handler, error) {
	o := webhook.Options{Name: legacyName, Path: cfg.Daemon.Webserver.K8sAuditEndpoint, Metrics: d.m, Log: d.log}
	if dir := cfg.Daemon.Peregrine.StateDir; dir != "" {
		sp, err := spool.Open(filepath.Join(dir, legacyName, "spool"), cfg.Daemon.Peregrine.SpoolMaxBytes)
		if err != nil {
			return nil, fmt.Errorf("webserver spool: %w", err)
		}
		o.Spool = sp
	}
	return webhook.New(o), nil
}

func (d *Daemon) newWebServer(cfg *config.Config) (*webServer, error) {
	ws := cfg.Daemon.Webserver
	mux := http.NewServeMux()
	mux.HandleFunc(ws.HealthzEndpoint, d.healthz)
	if ws.MetricsEnabled {
		mux.Handle("/metrics", d.m.Handler())
	}
	for _, s := range d.sources {
		if h, ok := s.(*webhook.Handler); ok && h.Name() == legacyName {
			mux.Handle(ws.K8sAuditEndpoint, h)
			if !strings.HasSuffix(ws.K8sAuditEndpoint, "/") {
				mux.Handle(ws.K8sAuditEndpoint+"/", h)
			}
		}
	}
	w := &webServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}}
	if ws.SSLEnabled {
		tc, err := webhook.TLSConfig(ws.SSLCertificate, "")
		if err != nil {
			return nil, fmt.Errorf("webserver: %w", err)
		}
		w.srv.TLSConfig, w.tls = tc, true
	}
	ln, err := net.Listen("tcp", ws.Addr())
	if err != nil {
		return nil, fmt.Errorf("webserver: %w", err)
	}
	w.ln = ln
	if w.tls {
		w.ln = tls.NewListener(ln, w.srv.TLSConfig)
	}
	return w, nil
}

func (w *webServer) serve() {
	if err := w.srv.Serve(w.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		// The daemon goes on: sources and outputs do not depend on it.
		fmt.Println("peregrine: webserver:", err)
	}
}

func (w *webServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.srv.Shutdown(ctx)
}

// healthz answers 200 {"status":"ok"} while every source runs (and says it
// is healthy, when it can tell), some rule is loaded and every output's
// last delivery worked, else 503 with the reasons.
func (d *Daemon) healthz(w http.ResponseWriter, _ *http.Request) {
	var problems []string
	d.state.Lock()
	for name, err := range d.failed {
		problems = append(problems, "source "+name+": "+err.Error())
	}
	d.state.Unlock()
	for _, s := range d.sources {
		if hc, ok := s.(source.HealthChecker); ok {
			if err := hc.Health(); err != nil {
				problems = append(problems, "source "+s.Name()+": "+err.Error())
			}
		}
	}
	g := d.pipe.Current()
	if len(g.Engine.Rules()) == 0 {
		problems = append(problems, "rules: none loaded, so nothing can alert")
	}
	if ok, bad := g.Router.Healthy(); !ok {
		for _, b := range bad {
			problems = append(problems, "output "+b)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]any{"status": "unhealthy", "problems": problems})
		return
	}
	w.Write([]byte(`{"status":"ok"}` + "\n"))
}
