package webhook

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/internal/syncbuf"
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
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := New(o)
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx, rec); close(done) }()
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); cancel(); <-done; h.Close() })
	waitReady(t, h)
	return srv, rec, h
}

// waitReady waits until Run handed the handler its pipeline: before, a
// POST gets 503 (and a GET its 405 either way, so it cannot tell).
func waitReady(t *testing.T, h *Handler) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.pipe.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("Run did not attach the pipeline")
		}
		time.Sleep(time.Millisecond)
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

// TestStatusCodes is the answer table of DESIGN.md's delivery contract,
// with what each answer counts: every skipped body or event is received
// too (received is "decoded or skipped"), a refused body as one.
func TestStatusCodes(t *testing.T) {
	big := `{"kind":"Event","stageTimestamp":"2024-01-01T00:00:00Z","pad":"` + strings.Repeat("x", 300) + `"}`
	list := gz(eventList("a", "b", "c"))
	badCRC := bytes.Clone(list)
	badCRC[len(badCRC)-8] ^= 0xff // the gzip trailer's CRC-32: reading fails at the end
	gzipped := map[string]string{"Content-Encoding": "gzip"}
	tests := []struct {
		name     string
		method   string
		body     []byte
		hdr      map[string]string
		code     int
		events   []string
		received float64
		skipped  string // events_skipped by reason
	}{
		{"event list", "POST", []byte(eventList("a", "b")), nil, 200, []string{"a", "b"}, 2, ""},
		{"single event", "POST", []byte(event("a")), nil, 200, []string{"a"}, 1, ""},
		{"array of events", "POST", []byte("[" + event("a") + "," + event("b") + "]"), nil, 200, []string{"a", "b"}, 2, ""},
		{"empty list", "POST", []byte(`{"kind":"EventList","items":[]}`), nil, 200, nil, 0, ""},
		{"gzip", "POST", list, gzipped, 200, []string{"a", "b", "c"}, 3, ""},
		{"oversized event dropped, rest kept", "POST",
			[]byte(`{"kind":"EventList","items":[` + event("a") + "," + big + "," + event("c") + `]}`), nil, 200, []string{"a", "c"}, 3, "too-large=1"},
		{"no stageTimestamp dropped, rest kept", "POST",
			[]byte(`{"kind":"EventList","items":[{"kind":"Event","auditID":"x"},` + event("b") + `]}`), nil, 200, []string{"b"}, 2, "no-timestamp=1"},
		{"not JSON", "POST", []byte(`{"kind":`), nil, 400, nil, 1, "malformed=1"},
		{"not audit", "POST", []byte(`{"kind":"Pod"}`), nil, 400, nil, 1, "not-audit=1"},
		{"not audit after an event: refused whole", "POST", []byte(event("a") + "\n" + `{"kind":"Pod"}`), nil, 400, nil, 1, "not-audit=1"},
		{"empty body", "POST", nil, nil, 400, nil, 1, "malformed=1"},
		{"only whitespace", "POST", []byte(" \r\n\t\n"), nil, 400, nil, 1, "malformed=1"},
		{"empty gzip stream", "POST", gz(""), gzipped, 400, nil, 1, "malformed=1"},
		{"bad gzip", "POST", []byte("nope"), gzipped, 400, nil, 1, "malformed=1"},
		{"gzip that fails to read", "POST", badCRC, gzipped, 400, nil, 1, "malformed=1"},
		{"truncated gzip", "POST", list[:len(list)-4], gzipped, 400, nil, 1, "malformed=1"},
		{"over batch limit", "POST", []byte(eventList(strings.Repeat("a", 2000))), nil, 413, nil, 1, "too-large=1"},
		{"decompressed over batch limit", "POST", gz(eventList(strings.Repeat("a", 2000))), gzipped, 413, nil, 1, "too-large=1"},
		{"unknown encoding", "POST", []byte(event("a")), map[string]string{"Content-Encoding": "br"}, 415, nil, 1, "malformed=1"},
		{"GET", "GET", nil, nil, 405, nil, 0, ""},
		{"PUT", "PUT", []byte(event("a")), nil, 405, nil, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec, h := start(t, Options{MaxEventSize: 200, MaxBatchSize: 1500})
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
			if s := counts(t, h, "peregrine_events_skipped_total", skipReasons...); s != tc.skipped {
				t.Errorf("skipped %q, want %q", s, tc.skipped)
			}
			if n := counterValue(t, h.o.Metrics, "peregrine_events_received_total", "k8saudit"); n != tc.received {
				t.Errorf("received %v, want %v", n, tc.received)
			}
		})
	}
}

// skipReasons are peregrine_events_skipped_total's reasons.
var skipReasons = []string{"malformed", "not-audit", "no-timestamp", "too-large", "read-error", "unauthorized"}

// TestReceivedNotBelowSkipped is the reviewer's case: six refused bodies
// and three accepted events; every refused body is received too.
func TestReceivedNotBelowSkipped(t *testing.T) {
	srv, _, h := start(t, Options{MaxBatchSize: 1500})
	bodies := []string{`{"kind":`, `{"kind":"Pod"}`, "", " ", eventList(strings.Repeat("a", 2000)), "[1]", eventList("a", "b", "c")}
	for _, b := range bodies {
		post(t, srv.URL+"/k8s-audit", []byte(b), nil)
	}
	received := counterValue(t, h.o.Metrics, "peregrine_events_received_total", "k8saudit")
	skipped := counterValue(t, h.o.Metrics, "peregrine_events_skipped_total", "k8saudit")
	if received != 9 || skipped != 6 {
		t.Errorf("received %v, skipped %v, want 9 and 6", received, skipped)
	}
}

// TestClusterName: the path suffix names a cluster in one segment; a
// deeper path is no endpoint of the webhook (404, nothing counted).
func TestClusterName(t *testing.T) {
	tests := []struct {
		name, cfg, method, path, token string
		code                           int
		want                           string
	}{
		{"configured", "cfg", "POST", "/k8s-audit", "", 200, "cfg"},
		{"path suffix", "", "POST", "/k8s-audit/prod-eu", "", 200, "prod-eu"},
		{"path suffix, trailing slash", "", "POST", "/k8s-audit/prod-eu/", "", 200, "prod-eu"},
		{"path with a trailing slash only", "cfg", "POST", "/k8s-audit/", "", 200, "cfg"},
		{"token before path", "", "POST", "/k8s-audit/prod-eu", "tok-staging", 200, "staging"},
		{"token without cluster", "", "POST", "/k8s-audit/prod-eu", "tok-plain", 200, "prod-eu"},
		// DESIGN: init_config.cluster_name, when set, comes first.
		{"configured before path", "cfg", "POST", "/k8s-audit/prod-eu", "", 200, "cfg"},
		{"configured before token", "cfg", "POST", "/k8s-audit", "tok-staging", 200, "cfg"},
		{"two segments", "cfg", "POST", "/k8s-audit/a/b", "", 404, ""},
		{"two segments, trailing slash", "cfg", "POST", "/k8s-audit/a/b/", "", 404, ""},
		{"escaped slash", "cfg", "POST", "/k8s-audit/a%2Fb", "", 404, ""},
		{"two segments, before authentication", "cfg", "POST", "/k8s-audit/a/b", "wrong", 404, ""},
		{"two segments, GET", "cfg", "GET", "/k8s-audit/a/b", "", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Cluster: tc.cfg}
			if tc.token != "" {
				o.Tokens = map[string]string{"tok-staging": "staging", "tok-plain": ""}
			}
			srv, rec, h := start(t, o)
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(event("a")))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if tc.code != 200 {
				if len(rec.clusters) != 0 || counterValue(t, h.o.Metrics, "peregrine_events_skipped_total", "k8saudit") != 0 {
					t.Errorf("events %v, skipped counted: want neither", rec.clusters)
				}
				return
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
	waitReady(t, h)
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

// TestRefusedLogged: a refused body is lost for good (the apiserver drops
// it after its retries), so it is logged at Warn with the source, reason,
// size and sender, never the body; at most a few lines per reason in a
// window, the first of the next window saying how many were suppressed.
func TestRefusedLogged(t *testing.T) {
	const secret = "do-not-log-this-body"
	tests := []struct {
		name   string
		body   []byte
		hdr    map[string]string
		code   int
		reason string
	}{
		{"not JSON", []byte(`{"kind":"Event","x":"` + secret), nil, 400, "malformed"},
		{"not audit", []byte(`{"kind":"Pod","spec":"` + secret + `"}`), nil, 400, "not-audit"},
		{"empty body", nil, nil, 400, "malformed"},
		{"bad gzip", []byte(secret), map[string]string{"Content-Encoding": "gzip"}, 400, "malformed"},
		{"over batch limit", []byte(eventList(secret + strings.Repeat("a", 2000))), nil, 413, "too-large"},
		{"unknown encoding", []byte(event(secret)), map[string]string{"Content-Encoding": "br"}, 415, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out syncbuf.Buffer
			srv, _, h := start(t, Options{MaxBatchSize: 1500, Log: slog.New(slog.NewJSONHandler(&out, nil))})
			now := time.Now()
			h.logs.Now = func() time.Time { return now }
			logBurst := h.logs.Burst
			for range logBurst + 2 {
				if resp, _ := post(t, srv.URL+"/k8s-audit", tc.body, tc.hdr); resp.StatusCode != tc.code {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
				}
			}
			now = now.Add(h.logs.Window) // the next window
			post(t, srv.URL+"/k8s-audit", tc.body, tc.hdr)
			lines := logLines(t, out.String())
			if len(lines) != logBurst+1 {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), logBurst+1, out.String())
			}
			for i, l := range lines {
				want := map[string]any{"level": "WARN", "source": "k8saudit", "code": float64(tc.code), "reason": tc.reason,
					"bytes": float64(len(tc.body)), "suppressed": nil}
				if i == logBurst {
					want["suppressed"] = float64(2)
				}
				for k, v := range want {
					if l[k] != v {
						t.Errorf("line %d: %s=%v, want %v", i, k, l[k], v)
					}
				}
				if a, _ := l["remote_addr"].(string); !strings.HasPrefix(a, "127.0.0.1:") {
					t.Errorf("line %d: remote_addr %q", i, a)
				}
			}
			if strings.Contains(out.String(), secret) {
				t.Errorf("the log quotes the body:\n%s", out.String())
			}
		})
	}
}

// logLines parses slog's JSON lines.
func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		out = append(out, m)
	}
	return out
}
