package aks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/internal/syncbuf"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/aks/akstest"
)

// pipe is a source.Pipeline that keeps what it is given. Held batches
// stay unreleased (undelivered alerts) until release.
type pipe struct {
	mu     sync.Mutex
	events []*audit.Event
	hold   bool
	held   []*source.Batch
}

func (p *pipe) Submit(ctx context.Context, b *source.Batch) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, b.Events...)
	if p.hold {
		p.held = append(p.held, b)
		return nil
	}
	b.Release()
	return nil
}

// release delivers the held batches and stops holding.
func (p *pipe) release() {
	p.mu.Lock()
	held := p.held
	p.held, p.hold = nil, false
	p.mu.Unlock()
	for _, b := range held {
		b.Release()
	}
}

// ids returns the auditIDs received, as their last two characters.
func (p *pipe) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, e := range p.events {
		id, _ := e.Get("auditID").Str()
		out = append(out, id[len(id)-2:])
	}
	return out
}

// wait waits until n events arrived and returns their ids.
func (p *pipe) wait(t testing.TB, n int) []string {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d events", n), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.events) >= n
	})
	return p.ids()
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// env is one test's hub and checkpoint container.
type env struct {
	t    testing.TB
	srv  *akstest.Servers
	fake *akstest.Fake
	hub  string
	cont string
	// ehConn is how sources reach the fake; the namespace in the
	// checkpoint blobs' names comes from it.
	ehConn string
}

func newEnv(t testing.TB, partitions int) *env {
	srv := akstest.Need(t)
	return envOn(t, srv, srv.Fake.Hub(t, partitions))
}

func envOn(t testing.TB, srv *akstest.Servers, hub string) *env {
	return &env{t: t, srv: srv, fake: srv.Fake, hub: hub, cont: hub, ehConn: srv.Fake.ConnString()}
}

// config is the seed 003 init_config pointed at the emulators, with
// intervals short enough for tests.
func (e *env) config(kv ...any) map[string]any {
	m := map[string]any{
		"event_hub_namespace_connection_string": e.ehConn,
		"event_hub_name":                        e.hub,
		"blob_storage_connection_string":        e.srv.BlobConn,
		"blob_storage_container_name":           e.cont,
		"start_position":                        "earliest",
		"receive_wait":                          "200ms",
		"checkpoint_interval":                   "200ms",
		"ownership_update_interval":             "300ms",
		"partition_expiration":                  "3s",
		"health_interval":                       "300ms",
	}
	return with(m, kv...)
}

// publish sends a message of kube-audit records with events ids[i] to a
// partition; ids are numbers, the events' auditIDs end with them.
func (e *env) publish(partition int, ids ...int) {
	var recs []string
	for _, i := range ids {
		recs = append(recs, akstest.Record("kube-audit", "aks-prod", akstest.AuditEvent(fmt.Sprintf("a1b2c3d4-0000-4000-8000-0000000000%02d", i), i)))
	}
	e.fake.Publish(e.t, e.hub, partition, akstest.Body(recs...))
}

// running is a Source being run.
type running struct {
	s      *Source
	p      *pipe
	m      *metrics.Metrics
	logs   *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan error
}

// fastRetry keeps the SDK from spending half a minute on a dead server.
var fastRetry = &azeventhubs.RetryOptions{MaxRetries: 1, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: time.Second}

func (e *env) start(cfg map[string]any, p *pipe) *running {
	e.t.Helper()
	c, err := ParseConfig(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &running{p: p, m: metrics.New(), logs: &syncbuf.Buffer{}, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.s = New(Options{Name: "k8saudit-aks", Config: c, OpenParams: "default", Metrics: r.m, Log: log, Retry: fastRetry})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.s.Run(ctx, p) }()
	e.t.Cleanup(func() { r.stop(e.t) })
	return r
}

// crash ends the source as a killed process would: after its network is
// cut (the proxies it used), so that it neither writes another
// checkpoint nor gives its partitions up.
func (r *running) crash(t *testing.T, cut ...*akstest.Proxy) {
	for _, p := range cut {
		p.Cut()
	}
	r.cancel()
	r.cancel = nil
	<-r.done
	r.s.mu.Lock()
	stopProc := r.s.procStop
	r.s.mu.Unlock()
	r.s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.s.cl.consumer.Close(ctx)
	if stopProc != nil {
		// Its attempt to give the partitions up fails, after the storage
		// client's retries: a dead process would not wait for that.
		go stopProc()
	}
}

// stop is a graceful stop: Run ends, then Close checkpoints and gives
// the partitions up.
func (r *running) stop(t testing.TB) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("Run did not return")
	}
	if err := r.s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// owned returns the partitions the source reads now.
func (r *running) owned() []string {
	var ids []string
	for _, p := range r.s.Status().Partitions {
		ids = append(ids, p.ID)
	}
	return ids
}

func (r *running) skipped(reason string) float64 {
	return testutil.ToFloat64(r.m.EventsSkipped.WithLabelValues("k8saudit-aks", reason))
}

func (r *running) counter(name string, labels ...string) float64 {
	var c *sourceMetrics = r.s.sm
	switch name {
	case "records":
		return testutil.ToFloat64(c.records.WithLabelValues(append([]string{"k8saudit-aks"}, labels...)...))
	case "repeats":
		return testutil.ToFloat64(c.repeats.WithLabelValues("k8saudit-aks"))
	case "lost":
		return testutil.ToFloat64(c.lost.WithLabelValues("k8saudit-aks"))
	}
	panic(name)
}

// checkpoints returns the stored sequence number of each partition.
func (e *env) checkpoints() map[string]int64 {
	e.t.Helper()
	cc, err := container.NewClientFromConnectionString(e.srv.BlobConn, e.cont, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	store, _ := checkpoints.NewBlobStore(cc, nil)
	props, _ := azeventhubs.ParseConnectionString(e.ehConn)
	list, err := store.ListCheckpoints(context.Background(), props.FullyQualifiedNamespace, e.hub, azeventhubs.DefaultConsumerGroup, nil)
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		return nil // the source has not created it yet
	}
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range list {
		out[c.PartitionID] = *c.SequenceNumber
	}
	return out
}

func newTextLog(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
