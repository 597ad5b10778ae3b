package webhook

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/internal/syncbuf"
	"github.com/peregrine-sec/peregrine/source"
	cw "github.com/peregrine-sec/peregrine/source/eks/cwlogs/cwlogstest"
	"github.com/peregrine-sec/peregrine/source/spool"
)

const (
	prodGroup = "/aws/eks/prod/cluster"
	devGroup  = "/aws/eks/dev/cluster"
	accessKey = "k3y-from-the-firehose-stream"
)

// firehoseOptions: a webhook with the Firehose path, an access key and a
// configured cluster name for records whose log group names none.
func firehoseOptions() Options {
	return Options{FirehosePath: "/firehose", FirehoseAccessKey: accessKey, MaxBatchSize: 64 << 10}
}

// dataRecord is a gzip'd subscription message of group's audit stream
// carrying one event per id, as CloudWatch Logs puts it into Firehose.
func dataRecord(group string, ids ...string) []byte {
	msgs := make([]string, len(ids))
	for i, id := range ids {
		msgs[i] = event(id)
	}
	return cw.Gzip(cw.Subscription("DATA_MESSAGE", group, cw.Stream(1), msgs...))
}

// firehoseReply is Firehose's view of an answer.
type firehoseReply struct {
	code                    int
	contentType, requestID  string
	timestamp               int64
	errorMessage, retryWait string
}

func postFirehose(t *testing.T, req *http.Request) firehoseReply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct {
		RequestID    string `json:"requestId"`
		Timestamp    int64  `json:"timestamp"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, b)
	}
	if resp.Header.Get("Content-Encoding") != "" || resp.ContentLength != int64(len(b)) {
		t.Errorf("Content-Encoding %q, Content-Length %d for %d bytes: Firehose wants neither compression nor chunking",
			resp.Header.Get("Content-Encoding"), resp.ContentLength, len(b))
	}
	return firehoseReply{resp.StatusCode, resp.Header.Get("Content-Type"), body.RequestID, body.Timestamp, body.ErrorMessage, resp.Header.Get("Retry-After")}
}

// TestFirehoseAnswers is the Firehose path's answer table: what each
// delivery gets back, which events go on and with which cluster.
func TestFirehoseAnswers(t *testing.T) {
	incompressible := make([]byte, 60<<10)
	rand.Read(incompressible)
	bomb := cw.Gzip([]byte(strings.Repeat(" ", 100<<10)))
	tests := []struct {
		name    string
		body    []byte
		gzip    bool              // Content-Encoding: gzip (the stream's GZIP content encoding)
		hdr     map[string]string // replaces Request's headers ("" deletes)
		method  string
		code    int
		events  string // auditID@cluster
		records string // records by kind, as counted
		skipped string // events_skipped by reason
		// events_received: decoded or skipped, as on the webhook's path
		// (a malformed record and a refused delivery count one each)
		received float64
	}{
		{name: "gzip'd subscription message, as CloudWatch sends it", body: cw.Body("req-1", dataRecord(prodGroup, "a", "b")),
			code: 200, events: "a@prod b@prod", records: "data=1", received: 2},
		{name: "request body gzip'd too", body: cw.Body("req-1", dataRecord(prodGroup, "a")), gzip: true,
			code: 200, events: "a@prod", records: "data=1", received: 1},
		{name: "records of two clusters", body: cw.Body("req-1", dataRecord(prodGroup, "a"), dataRecord(devGroup, "b")),
			code: 200, events: "a@prod b@dev", records: "data=2", received: 2},
		{name: "log group of no EKS cluster: none", body: cw.Body("req-1", dataRecord("/custom/audit", "a")),
			code: 200, events: "a@", records: "data=1", received: 1},
		{name: "control message acknowledged and dropped", body: cw.Body("req-1", cw.Gzip(cw.Control(prodGroup))),
			code: 200, records: "control=1"},
		{name: "other streams of the log group dropped", body: cw.Body("req-1", cw.Gzip(cw.Subscription("DATA_MESSAGE", prodGroup, "authenticator-1", "level=info")), dataRecord(prodGroup, "a")),
			code: 200, events: "a@prod", records: "data=1 other=1", received: 1},
		{name: "malformed record skipped, the rest accepted", body: cw.Body("req-1", []byte("not gzip, not JSON"), dataRecord(prodGroup, "a")),
			code: 200, events: "a@prod", records: "data=1 malformed=1", skipped: "malformed=1", received: 2},
		{name: "log event that is not an audit event skipped", body: cw.Body("req-1", cw.Gzip(cw.Subscription("DATA_MESSAGE", prodGroup, cw.Stream(1), `{"kind":"Pod"}`, event("a")))),
			code: 200, events: "a@prod", records: "data=1", skipped: "not-audit=1", received: 2},
		{name: "request id from the body when the header is missing", body: cw.Body("req-1", dataRecord(prodGroup, "a")),
			hdr: map[string]string{"X-Amz-Firehose-Request-Id": ""}, code: 200, events: "a@prod", records: "data=1", received: 1},
		{name: "a webhook body is no Firehose delivery", body: []byte(eventList("a")), code: 400, skipped: "malformed=1", received: 1},
		{name: "not JSON", body: []byte("{"), code: 400, skipped: "malformed=1", received: 1},
		{name: "wrong access key", body: cw.Body("req-1", dataRecord(prodGroup, "a")),
			hdr: map[string]string{"X-Amz-Firehose-Access-Key": "guess"}, code: 401, skipped: "unauthorized=1"},
		{name: "no access key", body: cw.Body("req-1", dataRecord(prodGroup, "a")),
			hdr: map[string]string{"X-Amz-Firehose-Access-Key": ""}, code: 401, skipped: "unauthorized=1"},
		{name: "a bearer token is not the access key", body: cw.Body("req-1", dataRecord(prodGroup, "a")),
			hdr: map[string]string{"X-Amz-Firehose-Access-Key": "", "Authorization": "Bearer " + accessKey}, code: 401, skipped: "unauthorized=1"},
		{name: "body over webhookMaxBatchSize", body: cw.Body("req-1", incompressible), code: 413, skipped: "too-large=1", received: 1},
		{name: "records decompress over webhookMaxBatchSize", body: cw.Body("req-1", bomb), code: 413, skipped: "too-large=1", received: 1},
		{name: "empty body", body: nil, code: 400, skipped: "malformed=1", received: 1},
		{name: "request body not gzip as it says", body: []byte("nope"), hdr: map[string]string{"Content-Encoding": "gzip"},
			code: 400, skipped: "malformed=1", received: 1},
		{name: "unknown encoding", body: cw.Body("req-1", dataRecord(prodGroup, "a")), hdr: map[string]string{"Content-Encoding": "br"},
			code: 415, skipped: "malformed=1", received: 1},
		{name: "GET", method: "GET", code: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec, h := start(t, firehoseOptions())
			req := cw.Request(srv.URL+"/firehose", "req-1", accessKey, tc.body, tc.gzip)
			for k, v := range tc.hdr {
				req.Header.Del(k)
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			if tc.method != "" {
				req.Method = tc.method
			}
			got := postFirehose(t, req)
			if got.code != tc.code || got.contentType != "application/json" || got.requestID != "req-1" || got.timestamp < time.Now().Add(-time.Minute).UnixMilli() {
				t.Errorf("answer %+v, want %d with requestId req-1 and a timestamp", got, tc.code)
			}
			if (got.errorMessage == "") != (tc.code == 200) {
				t.Errorf("errorMessage %q with %d", got.errorMessage, got.code)
			}
			if strings.Contains(got.errorMessage, accessKey) {
				t.Error("the answer quotes the access key")
			}
			if ev := clusterIDs(rec); ev != tc.events {
				t.Errorf("events %q, want %q", ev, tc.events)
			}
			if r := counts(t, h, "peregrine_firehose_records_total", "data", "control", "other", "malformed"); r != tc.records {
				t.Errorf("records %q, want %q", r, tc.records)
			}
			if s := counts(t, h, "peregrine_events_skipped_total", skipReasons...); s != tc.skipped {
				t.Errorf("skipped %q, want %q", s, tc.skipped)
			}
			if n := counterValue(t, h.o.Metrics, "peregrine_events_received_total", "k8saudit"); n != tc.received {
				t.Errorf("received %v, want %v", n, tc.received)
			}
			if n := counterValue(t, h.o.Metrics, "peregrine_firehose_requests_total", fmt.Sprint(tc.code)); n != 1 {
				t.Errorf("requests{code=%d} = %v", tc.code, n)
			}
		})
	}
}

// TestFirehoseRefusedLogged: a refused delivery goes to the S3 backup,
// so it is logged as the webhook's are (bounded per reason, never the
// body), with Firehose's request id.
func TestFirehoseRefusedLogged(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		code   int
		reason string
	}{
		{"not a delivery", []byte(`{"kind":"Pod","spec":"do-not-log-this-body"}`), 400, "malformed"},
		{"records decompress over webhookMaxBatchSize", cw.Body("req-1", cw.Gzip([]byte(strings.Repeat(" ", 100<<10)))), 413, "too-large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out syncbuf.Buffer
			o := firehoseOptions()
			o.Log = slog.New(slog.NewJSONHandler(&out, nil))
			srv, _, h := start(t, o)
			logBurst := h.logs.Burst
			for range logBurst + 2 {
				if got := postFirehose(t, cw.Request(srv.URL+"/firehose", "req-1", accessKey, tc.body, false)); got.code != tc.code {
					t.Fatalf("answer %+v, want %d", got, tc.code)
				}
			}
			lines := logLines(t, out.String())
			if len(lines) != logBurst {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), logBurst, out.String())
			}
			for i, l := range lines {
				if l["request_id"] != "req-1" || l["reason"] != tc.reason || l["code"] != float64(tc.code) || l["bytes"] != float64(len(tc.body)) {
					t.Errorf("line %d: %v", i, l)
				}
			}
			if strings.Contains(out.String(), "do-not-log-this-body") {
				t.Errorf("the log quotes the body:\n%s", out.String())
			}
		})
	}
}

// clusterIDs is what the pipeline got, as "auditID@cluster ...".
func clusterIDs(r *recorder) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for i, id := range r.ids {
		out = append(out, id+"@"+r.clusters[i])
	}
	return strings.Join(out, " ")
}

// counts is "label=value ..." for a counter's non-zero label values.
func counts(t *testing.T, h *Handler, name string, labels ...string) string {
	var out []string
	for _, l := range labels {
		if n := counterValue(t, h.o.Metrics, name, l); n != 0 {
			out = append(out, fmt.Sprintf("%s=%v", l, n))
		}
	}
	return strings.Join(out, " ")
}

// TestFirehoseOpen: without an access key, Firehose deliveries are taken
// as they come (the k8saudit config refuses that when the webhook itself
// requires authentication).
func TestFirehoseOpen(t *testing.T) {
	o := firehoseOptions()
	o.FirehoseAccessKey = ""
	srv, rec, _ := start(t, o)
	if got := postFirehose(t, cw.Request(srv.URL+"/firehose", "r", "", cw.Body("r", dataRecord(prodGroup, "a")), false)); got.code != 200 {
		t.Fatalf("answer %+v", got)
	}
	if ev := clusterIDs(rec); ev != "a@prod" {
		t.Fatalf("events %q", ev)
	}
}

// TestFirehoseClusterName: init_config.cluster_name, when set, names the
// events whatever log group they come from (DESIGN's order).
func TestFirehoseClusterName(t *testing.T) {
	o := firehoseOptions()
	o.Cluster = "cfg"
	srv, rec, _ := start(t, o)
	if got := postFirehose(t, cw.Request(srv.URL+"/firehose", "r", accessKey, cw.Body("r", dataRecord(prodGroup, "a")), false)); got.code != 200 {
		t.Fatalf("answer %+v", got)
	}
	if ev := clusterIDs(rec); ev != "a@cfg" {
		t.Fatalf("events %q", ev)
	}
}

// TestFirehoseSpool is the delivery contract on the Firehose path: 200
// only once the events are in the spool, so that a process that dies
// before delivering gets them again from the spool, with their cluster;
// a full spool is a 429 that Firehose retries, and nothing is taken.
func TestFirehoseSpool(t *testing.T) {
	dir := t.TempDir()
	sp, _ := spool.Open(dir, 1500) // room for the first delivery, not the second
	hold := &holder{got: make(chan *source.Batch, 4)}
	h, url, stop := startHeld(t, sp, hold)
	body := cw.Body("req-1", dataRecord(prodGroup, "a"), dataRecord(devGroup, "b"), cw.Gzip(cw.Control(prodGroup)))
	if got := postFirehose(t, cw.Request(url, "req-1", accessKey, body, true)); got.code != 200 {
		t.Fatalf("answer %+v", got)
	}
	<-hold.got // taken from the spool, never delivered
	many := make([]string, 20)
	for i := range many {
		many[i] = fmt.Sprint("c", i)
	}
	full := postFirehose(t, cw.Request(url, "req-2", accessKey, cw.Body("req-2", dataRecord(prodGroup, many...)), false))
	if full.code != http.StatusTooManyRequests || full.errorMessage != "spool full" || full.retryWait == "" || full.requestID != "req-2" {
		t.Errorf("spool full: %+v, want 429 with errorMessage and Retry-After", full)
	}
	stop()
	h.Close() // the "crash": nothing delivered, nothing acknowledged

	sp2, err := spool.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	hold2 := &holder{got: make(chan *source.Batch, 4)}
	h2, _, stop2 := startHeld(t, sp2, hold2)
	defer func() { stop2(); h2.Close() }()
	var got []string
	for len(got) < 2 {
		select {
		case b := <-hold2.got:
			for _, e := range b.Events {
				id, _ := e.Top("auditID").Str()
				got = append(got, id+"@"+e.Cluster)
			}
			b.Release()
		case <-time.After(5 * time.Second):
			t.Fatalf("after restart: %v", got)
		}
	}
	if s := strings.Join(got, " "); s != "a@prod b@dev" {
		t.Fatalf("after restart: %s, want a@prod b@dev (req-2 was refused)", s)
	}
}

// startHeld runs a Firehose webhook with spool sp feeding p, on the
// server's own routes.
func startHeld(t *testing.T, sp *spool.Spool, p source.Pipeline) (*Handler, string, func()) {
	o := firehoseOptions()
	o.Name, o.Path, o.Spool = "k8saudit", "/k8s-audit", sp
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx, p); close(done) }()
	s := NewServer("127.0.0.1:0", h, nil)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go s.srv.Serve(s.ln)
	waitReady(t, h)
	return h, s.FirehoseURL(), func() { s.srv.Close(); cancel(); <-done }
}

// FuzzFirehoseSpoolRoundTrip: whatever a delivery holds, decoding it must
// not panic, and the spool record of each cluster's events decodes back
// to the same events, as the spool's reader will decode it.
func FuzzFirehoseSpoolRoundTrip(f *testing.F) {
	f.Add(cw.Body("r", dataRecord(prodGroup, "a", "b"), dataRecord(devGroup, "c")))
	f.Add(cw.Body("r", cw.Gzip(cw.Subscription("DATA_MESSAGE", prodGroup, cw.Stream(1), event("a"), `{"kind":"EventList","items":[`+event("b")+`]}`, "[]"))))
	f.Add(cw.Body("r", []byte(`[`+event("a")+`,`+event("b")+`]`), cw.Gzip(cw.Control(prodGroup))))
	o := firehoseOptions()
	o.Name, o.Path = "k8saudit", "/k8s-audit"
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := New(o)
	f.Fuzz(func(t *testing.T, body []byte) {
		id := ""
		groups, err := h.firehoseBatch(body, &id)
		if err != nil {
			return
		}
		for _, g := range groups {
			if len(g.events) == 0 {
				continue
			}
			back, bad := h.decode(eventArray(g.events), g.cluster, false)
			if bad != nil || len(back) != len(g.events) {
				t.Fatalf("spool record of %d events decodes to %d (%v)", len(g.events), len(back), bad)
			}
			for i, e := range back {
				if string(e.Raw) != string(g.events[i].Raw) || e.Cluster != g.cluster {
					t.Fatalf("event %d: %q@%s, spooled %q@%s", i, e.Raw, e.Cluster, g.events[i].Raw, g.cluster)
				}
			}
		}
	})
}
