package webhook

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
)

// recorder is a pipeline that records what it gets and releases it at
// once, as if every alert had been delivered.
type recorder struct {
	mu       sync.Mutex
	clusters []string
	ids      []string
}

func (r *recorder) Submit(_ context.Context, b *source.Batch) error {
	r.mu.Lock()
	for _, e := range b.Events {
		r.clusters = append(r.clusters, e.Cluster)
		id, _ := e.Top("auditID").Str()
		r.ids = append(r.ids, id)
	}
	r.mu.Unlock()
	if b.Queued != nil {
		b.Queued()
	}
	b.Release()
	return nil
}

func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

func event(id string) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":%q,"verb":"get","stageTimestamp":"2024-01-01T00:00:00.000000Z"}`, id)
}

func eventList(ids ...string) string {
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = event(id)
	}
	return `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + strings.Join(items, ",") + `]}`
}

// start runs a handler with a recorder pipeline behind an httptest server.
func start(t *testing.T, o Options) (*httptest.Server, *recorder, *Handler) {
	t.Helper()
	if o.Name == "" {
		o.Name = "k8saudit"
	}
	if o.Path == "" {
		o.Path = "/k8s-audit"
	}
	o.Metrics = metrics.New()
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := New(o)
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx, rec); close(done) }()
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); cancel(); <-done; h.Close() })
	waitReady(t, srv.URL+o.Path)
	return srv, rec, h
}

// waitReady waits until Run handed the handler its pipeline.
func waitReady(t *testing.T, url string) {
	for range 1000 {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed {
				return
			}
		}
	}
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func post(t *testing.T, url string, body []byte, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestStatusCodes is the answer table of DESIGN.md's delivery contract.
func TestStatusCodes(t *testing.T) {
	big := `{"kind":"Event","stageTimestamp":"2024-01-01T00:00:00Z","pad":"` + strings.Repeat("x", 300) + `"}`
	tests := []struct {
		name   string
		method string
		body   []byte
		hdr    map[string]string
		code   int
		events []string
	}{
		{"event list", "POST", []byte(eventList("a", "b")), nil, 200, []string{"a", "b"}},
		{"single event", "POST", []byte(event("a")), nil, 200, []string{"a"}},
		{"array of events", "POST", []byte("[" + event("a") + "," + event("b") + "]"), nil, 200, []string{"a", "b"}},
		{"empty list", "POST", []byte(`{"kind":"EventList","items":[]}`), nil, 200, nil},
		{"gzip", "POST", gz(eventList("a", "b", "c")), map[string]string{"Content-Encoding": "gzip"}, 200, []string{"a", "b", "c"}},
		{"oversized event dropped, rest kept", "POST",
			[]byte(`{"kind":"EventList","items":[` + event("a") + "," + big + "," + event("c") + `]}`), nil, 200, []string{"a", "c"}},
		{"no stageTimestamp dropped, rest kept", "POST",
			[]byte(`{"kind":"EventList","items":[{"kind":"Event","auditID":"x"},` + event("b") + `]}`), nil, 200, []string{"b"}},
		{"not JSON", "POST", []byte(`{"kind":`), nil, 400, nil},
		{"not audit", "POST", []byte(`{"kind":"Pod"}`), nil, 400, nil},
		{"bad gzip", "POST", []byte("nope"), map[string]string{"Content-Encoding": "gzip"}, 400, nil},
		{"over batch limit", "POST", []byte(eventList(strings.Repeat("a", 2000))), nil, 413, nil},
		{"unknown encoding", "POST", []byte(event("a")), map[string]string{"Content-Encoding": "br"}, 415, nil},
		{"GET", "GET", nil, nil, 405, nil},
		{"PUT", "PUT", []byte(event("a")), nil, 405, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec, _ := start(t, Options{MaxEventSize: 200, MaxBatchSize: 1500})
			req, _ := http.NewRequest(tc.method, srv.URL+"/k8s-audit", bytes.NewReader(tc.body))
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if got := rec.events(); strings.Join(got, ",") != strings.Join(tc.events, ",") {
				t.Errorf("events %v, want %v", got, tc.events)
			}
		})
	}
}

func TestClusterName(t *testing.T) {
	tests := []struct {
		name, path, token, want string
	}{
		{"configured", "/k8s-audit", "", "cfg"},
		{"path suffix", "/k8s-audit/prod-eu", "", "prod-eu"},
		{"token wins", "/k8s-audit/prod-eu", "tok-staging", "staging"},
		{"token without cluster", "/k8s-audit", "tok-plain", "cfg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Cluster: "cfg"}
			if tc.token != "" {
				o.Tokens = map[string]string{"tok-staging": "staging", "tok-plain": ""}
			}
			srv, rec, _ := start(t, o)
			hdr := map[string]string{}
			if tc.token != "" {
				hdr["Authorization"] = "Bearer " + tc.token
			}
			if resp, _ := post(t, srv.URL+tc.path, []byte(event("a")), hdr); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if len(rec.clusters) != 1 || rec.clusters[0] != tc.want {
				t.Errorf("cluster %v, want %q", rec.clusters, tc.want)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name string
		auth string
		code int
	}{
		{"valid", "Bearer s3cret", 200},
		{"wrong", "Bearer guess", 401},
		{"missing", "", 401},
		{"basic", "Basic czNjcmV0", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec, h := start(t, Options{Tokens: map[string]string{"s3cret": ""}})
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			resp, body := post(t, srv.URL+"/k8s-audit", []byte(event("a")), hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if strings.Contains(body, "s3cret") {
				t.Error("the answer quotes the token")
			}
			n := counterValue(t, h.o.Metrics, "peregrine_events_skipped_total", "unauthorized")
			if want := map[bool]float64{true: 1, false: 0}[tc.code == 401]; n != want {
				t.Errorf("unauthorized counted %v, want %v", n, want)
			}
			if tc.code == 401 && len(rec.events()) != 0 {
				t.Error("an unauthenticated body was evaluated")
			}
		})
	}
}

// gate is a pipeline that holds every batch until open is closed.
type gate struct {
	entered chan struct{}
	open    chan struct{}
	once    sync.Once
}

func (g *gate) Submit(_ context.Context, b *source.Batch) error {
	g.once.Do(func() { close(g.entered) })
	<-g.open
	if b.Queued != nil {
		b.Queued()
	}
	b.Release()
	return nil
}

// TestMaxInFlight: beyond webhookMaxInFlight POSTs at once, the answer is
// 429 with Retry-After (the apiserver retries), so a flood of POSTs cannot
// hold unbounded bodies in memory.
func TestMaxInFlight(t *testing.T) {
	h := New(Options{Name: "k8saudit", Path: "/k8s-audit", MaxInFlight: 1, Metrics: metrics.New(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	g := &gate{entered: make(chan struct{}), open: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx, g); close(done) }()
	srv := httptest.NewServer(h)
	defer func() { srv.Close(); cancel(); <-done; h.Close() }()
	waitReady(t, srv.URL)
	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(event("a")))
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-g.entered
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(event("b")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second POST: %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(g.open)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first POST: %d", code)
	}
}
