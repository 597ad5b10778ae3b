// Package webhooktest drives the webhook the way kube-apiserver's webhook
// backend does, in process, for benchmarks and tests: a Harness runs the
// webhook, the daemon's pipeline and engine, and a sink that timestamps
// each alert it writes; Replay POSTs pre-encoded EventList batches over
// loopback and measures events/s and the latency from a POST's start to
// the last alert of its batch written. docs/DAEMON.md shows how to use it.
package webhooktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peregrine-sec/peregrine/daemon"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
	"github.com/peregrine-sec/peregrine/source/spool"
	"github.com/peregrine-sec/peregrine/source/webhook"
)

// base is the stageTimestamp of batch 0's first event; batch i's events
// are at base + i ms + j µs, so an alert's time names its batch.
var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configure a Harness.
type Options struct {
	// Engine evaluates events; nil compiles the embedded default rules.
	Engine *engine.Engine
	// StateDir, when set, puts the webhook's spool there (2xx after fsync).
	StateDir string
	// Workers is the number of engine workers (0: one per CPU).
	Workers int
	// JSON encodes alerts as JSON (else text lines).
	JSON bool
}

// Harness is a running webhook with its pipeline.
type Harness struct {
	// URL is the webhook endpoint (http://127.0.0.1:PORT/k8s-audit).
	URL    string
	Client *http.Client

	srv    *webhook.Server
	pipe   *daemon.Pipeline
	gen    *daemon.Generation
	sink   *stampSink
	cancel context.CancelFunc
	done   chan struct{}
}

// DefaultEngine compiles the embedded default rules.
func DefaultEngine() (*engine.Engine, error) {
	col, rep := rules.Load(defaultrules.Sources(), rules.Options{})
	if err := rep.Err(); err != nil {
		return nil, err
	}
	eng := engine.New(col, engine.DefaultOptions(), rep)
	if eng == nil {
		return nil, rep.Err()
	}
	return eng, nil
}

// Start runs a harness on a free loopback port.
func Start(o Options) (*Harness, error) {
	eng := o.Engine
	if eng == nil {
		var err error
		if eng, err = DefaultEngine(); err != nil {
			return nil, err
		}
	}
	m := metrics.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink := &stampSink{}
	router := output.NewRouter([]output.Sink{sink}, output.RouterOptions{Metrics: m, Log: log})
	f := output.DefaultFormat()
	f.JSON = o.JSON
	gen := &daemon.Generation{Engine: eng, Format: f, Router: router}
	// Benchmark clients may keep more POSTs open than kube-apiserver ever
	// does; the in-flight cap is raised so that they measure latency.
	wo := webhook.Options{Name: "k8saudit", Path: "/k8s-audit", Metrics: m, Log: log, MaxInFlight: 4096}
	if o.StateDir != "" {
		sp, err := spool.Open(filepath.Join(o.StateDir, "spool"), 0)
		if err != nil {
			return nil, err
		}
		wo.Spool = sp
	}
	srv := webhook.NewServer("127.0.0.1:0", webhook.New(wo), nil)
	if err := srv.Listen(); err != nil {
		return nil, err
	}
	h := &Harness{
		URL: "http://" + srv.Addr().String() + "/k8s-audit", srv: srv, gen: gen, sink: sink,
		pipe:   daemon.NewPipeline(gen, o.Workers, m, log),
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		done:   make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { srv.Run(ctx, h.pipe); close(h.done) }()
	return h, h.waitReady()
}

func (h *Harness) waitReady() error {
	for range 500 {
		resp, err := h.Client.Post(h.URL, "application/json", bytes.NewReader([]byte(`{"kind":"EventList","items":[]}`)))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("webhook not ready")
}

// Close stops the webhook, drains the pipeline and closes the outputs.
func (h *Harness) Close() {
	h.cancel()
	<-h.done
	h.pipe.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	daemon.Retire(ctx, h.gen)
	h.srv.Close()
}

// LoadEvents reads audit events, one JSON object per line (the format of
// testdata/sample-audit.jsonl).
func LoadEvents(path string) ([]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Batches pre-encodes count EventList bodies of size events each (size
// below 1000), cycling through the template events. Each event gets a
// unique auditID and a stageTimestamp that identifies its batch.
func Batches(templates []map[string]any, size, count int) ([][]byte, error) {
	out := make([][]byte, count)
	k := 0
	for i := range out {
		items := make([]map[string]any, size)
		for j := range items {
			ev := make(map[string]any, len(templates[k%len(templates)]))
			for key, v := range templates[k%len(templates)] {
				ev[key] = v
			}
			k++
			ts := base.Add(time.Duration(i)*time.Millisecond + time.Duration(j)*time.Microsecond)
			ev["stageTimestamp"] = ts.Format("2006-01-02T15:04:05.000000000Z")
			ev["auditID"] = fmt.Sprintf("bench-%d-%d", i, j)
			items[j] = ev
		}
		b, err := json.Marshal(map[string]any{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items})
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// Result is one replay's measurements.
type Result struct {
	Events, Batches, Alerts int
	Elapsed                 time.Duration
	EventsPerSec            float64
	// P50 and P99 are over batches with alerts: from the POST's start to
	// the last alert of the batch written by the output.
	P50, P99 time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d events in %d batches, %.0f events/s, %d alerts, POST->alert p50 %v p99 %v",
		r.Events, r.Batches, r.EventsPerSec, r.Alerts, r.P50, r.P99)
}

// Replay POSTs the batches (made by Batches) as fast as conc concurrent
// clients can, waits until every alert was written, and measures: the
// throughput at saturation (latencies then include queueing).
func (h *Harness) Replay(batches [][]byte, events, conc int) (Result, error) {
	return h.replay(batches, events, conc, 0)
}

// ReplayAt POSTs the batches at a steady rate of events per second (each
// POST in its own goroutine, as the apiserver's buffered backend sends
// batches concurrently), waits until every alert was written, and
// measures: the latency at that load.
func (h *Harness) ReplayAt(batches [][]byte, events int, rate float64) (Result, error) {
	return h.replay(batches, events, 0, rate)
}

func (h *Harness) replay(batches [][]byte, events, conc int, rate float64) (Result, error) {
	sent := make([]time.Time, len(batches))
	h.sink.reset(len(batches))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(batches))
	start := time.Now()
	if rate > 0 {
		per := time.Duration(float64(events) / float64(len(batches)) / rate * float64(time.Second))
		for i := range batches {
			time.Sleep(time.Until(start.Add(time.Duration(i) * per)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				sent[i] = time.Now()
				if err := h.post(batches[i]); err != nil {
					errs <- err
				}
			}()
		}
	}
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batches) {
					return
				}
				sent[i] = time.Now()
				if err := h.post(batches[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return Result{}, err
	}
	h.sink.waitQuiet()
	elapsed := h.sink.lastWrite().Sub(start)
	if elapsed <= 0 {
		elapsed = time.Since(start)
	}
	lat := h.sink.latencies(sent)
	r := Result{Events: events, Batches: len(batches), Alerts: h.sink.count(), Elapsed: elapsed,
		EventsPerSec: float64(events) / elapsed.Seconds()}
	if len(lat) > 0 {
		r.P50, r.P99 = lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return r, nil
}

func (h *Harness) post(body []byte) error {
	resp, err := h.Client.Post(h.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// stampSink records when the last alert of each batch was written.
type stampSink struct {
	mu    sync.Mutex
	last  []time.Time // per batch
	n     int
	lastW time.Time
}

func (s *stampSink) Name() string { return "bench" }
func (s *stampSink) Close() error { return nil }

func (s *stampSink) Write(_ context.Context, items []*output.Item) (int, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		i := int(time.Duration(it.Alert.Time-base.UnixNano()) / time.Millisecond)
		if i >= 0 && i < len(s.last) {
			s.last[i] = now
		}
		s.n++
	}
	s.lastW = now
	return len(items), nil
}

func (s *stampSink) reset(n int) {
	s.mu.Lock()
	s.last, s.n, s.lastW = make([]time.Time, n), 0, time.Time{}
	s.mu.Unlock()
}

func (s *stampSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *stampSink) lastWrite() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastW
}

// waitQuiet waits until no alert was written for a while: the pipeline
// has delivered everything the POSTs produced.
func (s *stampSink) waitQuiet() {
	prev := -1
	for {
		time.Sleep(20 * time.Millisecond)
		n := s.count()
		if n == prev {
			return
		}
		prev = n
	}
}

func (s *stampSink) latencies(sent []time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for i, t := range s.last {
		if !t.IsZero() {
			out = append(out, t.Sub(sent[i]))
		}
	}
	slices.Sort(out)
	return out
}
