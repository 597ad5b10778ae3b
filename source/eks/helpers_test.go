package eks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/eks/ekstest"
)

// t0 is the test's "now": events are stamped around it.
var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

const group = "/aws/eks/my-cluster/cluster"

// ms is t0 plus d, in CloudWatch's milliseconds.
func ms(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

// auditEvent is an audit Event JSON with the given auditID and time.
func auditEvent(id string, at int64) string {
	ts := time.UnixMilli(at).UTC().Format(time.RFC3339Nano)
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":%q,"stage":"ResponseComplete",`+
		`"verb":"get","user":{"username":"u"},"objectRef":{"resource":"pods"},"stageTimestamp":%q}`, id, ts)
}

// logEvent is a CloudWatch event carrying auditEvent(id, at), visible at
// ingested (0: at once).
func logEvent(id string, at, ingested int64) ekstest.Event {
	return ekstest.Event{Group: group, Stream: "kube-apiserver-audit-0a1b2c", Time: at, Ingested: ingested, Message: auditEvent(id, at)}
}

// pipe is a Pipeline that records the events it is given and releases
// their batches, or holds them (undelivered) while hold is set.
type pipe struct {
	mu       sync.Mutex
	ids      []string
	clusters []string
	held     []*source.Batch
	hold     atomic.Bool
}

func (p *pipe) Submit(_ context.Context, b *source.Batch) error {
	p.mu.Lock()
	for _, e := range b.Events {
		id, _ := e.Top("auditID").Str()
		p.ids = append(p.ids, id)
		p.clusters = append(p.clusters, e.Cluster)
	}
	hold := p.hold.Load()
	if hold {
		p.held = append(p.held, b)
	}
	p.mu.Unlock()
	if !hold {
		b.Release()
	}
	return nil
}

func (p *pipe) evaluated() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ids)
}

// clock is a settable Options.Now.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// harness runs a Source against a fake CloudWatch Logs.
type harness struct {
	t      *testing.T
	srv    *ekstest.Server
	clk    *clock
	m      *metrics.Metrics
	o      Options
	s      *Source
	p      *pipe
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	srv := ekstest.New()
	t.Cleanup(srv.Close)
	srv.CreateGroup(group)
	h := &harness{t: t, srv: srv, clk: newClock(t0), m: metrics.New(), p: &pipe{}}
	h.o = Options{
		Name: "k8saudit-eks",
		// Every poll re-reads the whole overlap: the tests' clock stands still.
		Config: Config{Cluster: "my-cluster", Shift: time.Hour, PollInterval: time.Millisecond, Overlap: 5 * time.Minute,
			OverlapInterval: time.Nanosecond},
		API: srv.Client(), Checkpoint: filepath.Join(t.TempDir(), "eks.checkpoint"),
		Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, SaveEvery: 2 * time.Millisecond,
		Now: h.clk.now, Metrics: h.m, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return h
}

// start runs a new Source (resuming from the checkpoint, if any).
func (h *harness) start() {
	h.t.Helper()
	s, err := New(h.o)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.s, h.cancel, h.done = s, cancel, make(chan error, 1)
	go func() { h.done <- s.Run(ctx, h.p) }()
	h.t.Cleanup(h.stop)
}

// stop ends Run and closes the source (which saves the checkpoint).
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		h.t.Fatal("Run did not return")
	}
	if err := h.s.Close(); err != nil {
		h.t.Errorf("Close: %v", err)
	}
}

// waitEvaluated waits until n events were evaluated, then for a few more
// polls, so that an extra (duplicate) delivery would show.
func (h *harness) waitEvaluated(n int) []string {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(h.p.evaluated()) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("evaluated %d events, want %d: %v", len(h.p.evaluated()), n, h.p.evaluated())
		}
		time.Sleep(time.Millisecond)
	}
	h.waitPolls(3)
	return h.p.evaluated()
}

// waitPolls waits until the server answered k more requests.
func (h *harness) waitPolls(k int) {
	h.t.Helper()
	want := len(h.srv.Requests()) + k
	deadline := time.Now().Add(20 * time.Second)
	for len(h.srv.Requests()) < want {
		if time.Now().After(deadline) {
			h.t.Fatalf("the source stopped polling")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitCheckpoint waits until the state file lists n delivered ids.
func (h *harness) waitCheckpoint(n int) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		cp, _ := LoadCheckpoint(h.o.Checkpoint)
		ids := 0
		if cp != nil {
			for _, s := range cp.Seen {
				ids += len(s.IDs)
			}
		}
		if ids == n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the checkpoint holds %d ids, want %d", ids, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// counter reads a counter or gauge of the source from the registry.
func (h *harness) counter(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.m.Registry.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.Metric {
			if hasLabels(s, labels) {
				sum += s.GetCounter().GetValue() + s.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func hasLabels(s *dto.Metric, want []string) bool {
	for _, w := range want {
		found := false
		for _, l := range s.Label {
			found = found || l.GetValue() == w
		}
		if !found {
			return false
		}
	}
	return true
}

// exactlyOnce fails unless got holds each of want once (any order).
func exactlyOnce(t *testing.T, got []string, want ...string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("evaluated %v, want each of %v once", got, w)
	}
}
