package gke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/gke/internal/gketest"
	"github.com/peregrine-sec/peregrine/source/gke/logentry"
)

const (
	testProject = "test-proj"
	testTopic   = "projects/test-proj/topics/gke-audit"
	testSub     = "gke-audit-sub"
)

// fakePubSub starts an in-process Pub/Sub server with a topic and a
// subscription, and returns the client options that reach it.
func fakePubSub(t *testing.T) (*pstest.Server, []option.ClientOption) {
	t.Helper()
	srv := pstest.NewServer()
	t.Cleanup(func() { srv.Close() })
	opts := []option.ClientOption{
		option.WithEndpoint(srv.Addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, testProject, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: testTopic}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: "projects/" + testProject + "/subscriptions/" + testSub, Topic: testTopic, AckDeadlineSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	return srv, opts
}

// pipe is a Pipeline that records batches and releases them at once, or
// holds them until release, or refuses the first few.
type pipe struct {
	mu     sync.Mutex
	hold   bool
	refuse int
	held   []*source.Batch
	events []*audit.Event
}

func (p *pipe) Submit(_ context.Context, b *source.Batch) error {
	p.mu.Lock()
	if p.refuse > 0 {
		p.refuse--
		p.mu.Unlock()
		return errors.New("refused")
	}
	p.events = append(p.events, b.Events...)
	hold := p.hold
	if hold {
		p.held = append(p.held, b)
	}
	p.mu.Unlock()
	if !hold {
		b.Release()
	}
	return nil
}

// release releases the held batches and stops holding.
func (p *pipe) release() {
	p.mu.Lock()
	held := p.held
	p.held, p.hold = nil, false
	p.mu.Unlock()
	for _, b := range held {
		b.Release()
	}
}

func (p *pipe) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

func testConfig() Config {
	c, err := ParseConfig(map[string]any{"project_id": testProject}, testSub)
	if err != nil {
		panic(err)
	}
	return c
}

type running struct {
	s      *Source
	m      *metrics.Metrics
	cancel context.CancelFunc
	done   chan error
}

// start runs a source on the fake server until the test ends.
func start(t *testing.T, opts []option.ClientOption, cfg Config, p source.Pipeline) *running {
	t.Helper()
	m := metrics.New()
	env := source.Env{Plugin: "k8saudit-gke", Metrics: m, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s, err := New(env, cfg, Options{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, m: m, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, p) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends Run and closes the source: what the daemon does, including
// the Close that gives up on batches never released.
func (r *running) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := r.s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("run did not return")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForUpTo(t, 10*time.Second, what, cond)
}

func waitForUpTo(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func acks(srv *pstest.Server, id string) int { return srv.Message(id).Acks }

// TestAckAfterDelivery: a message is acked only once its batch is
// released; entries that will never convert are acked at once and
// counted by reason; events carry the cluster name.
func TestAckAfterDelivery(t *testing.T) {
	srv, opts := fakePubSub(t)
	pod := srv.Publish(testTopic, gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/namespaces/default/pods/nginx", gketest.Payload("request", gketest.PrivilegedPod)), nil)
	gkeAPI := srv.Publish(testTopic, gketest.Entry("google.container.v1.ClusterManager.SetLabels", "projects/p/locations/l/clusters/c",
		gketest.Set("gke_cluster", "resource", "type")), nil)
	junk := srv.Publish(testTopic, []byte("not json"), nil)
	secret := srv.Publish(testTopic, gketest.Entry("io.k8s.core.v1.secrets.get", "core/v1/namespaces/default/secrets/db"), nil)

	p := &pipe{hold: true}
	r := start(t, opts, testConfig(), p)
	waitFor(t, "two events", func() bool { return p.count() == 2 })
	waitFor(t, "the dropped messages acked", func() bool { return acks(srv, gkeAPI) == 1 && acks(srv, junk) == 1 })
	if acks(srv, pod) != 0 || acks(srv, secret) != 0 {
		t.Fatal("a message was acked before its batch was released")
	}
	for _, ev := range p.events {
		if ev.Cluster != "prod-1" {
			t.Errorf("cluster %q", ev.Cluster)
		}
		if v, _ := ev.Get("annotations", "cluster_name").Str(); v != "prod-1" {
			t.Errorf("annotations.cluster_name %q", v)
		}
	}
	p.release()
	waitFor(t, "the delivered messages acked", func() bool { return acks(srv, pod) == 1 && acks(srv, secret) == 1 })
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"received", testutil.ToFloat64(r.s.m.received), 4},
		{"acked", testutil.ToFloat64(r.s.m.acked), 4},
		{"converted", testutil.ToFloat64(r.s.m.converted), 2},
		{"dropped not-k8s-cluster", testutil.ToFloat64(r.s.m.dropped.WithLabelValues(logentry.ReasonNotK8sCluster)), 1},
		{"skipped malformed", testutil.ToFloat64(r.m.EventsSkipped.WithLabelValues("k8saudit-gke", logentry.ReasonMalformed)), 1},
		{"events received", testutil.ToFloat64(r.m.EventsReceived.WithLabelValues("k8saudit-gke")), 4},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestRedeliveredAfterRestart: a message whose batch was never released
// is nacked when the source stops, and the next source gets it again.
func TestRedeliveredAfterRestart(t *testing.T) {
	srv, opts := fakePubSub(t)
	id := srv.Publish(testTopic, gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/namespaces/default/pods/x"), nil)
	first := &pipe{hold: true}
	a := start(t, opts, testConfig(), first)
	waitFor(t, "the first delivery", func() bool { return first.count() == 1 })
	a.stop(t) // the drain gave up: the batch is never released
	if got := testutil.ToFloat64(a.s.m.nacked); got != 1 {
		t.Errorf("nacked %v, want 1", got)
	}
	// The nack must have reached the server: the message is available again.
	waitFor(t, "the nack at the server", func() bool {
		for _, m := range srv.Message(id).Modacks {
			if m.AckDeadline == 0 {
				return true
			}
		}
		return false
	})
	// pstest may hand the nacked message to the first subscriber's stream
	// in the moment before it notices that stream is gone; the message
	// then waits out that stream's ack deadline, as it would on Pub/Sub.
	// Past a few seconds the test moves pstest's clock beyond any ack
	// deadline (at most 600 s) rather than wait for it.
	var skew atomic.Int64
	srv.SetTimeNowFunc(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	second := &pipe{}
	began := time.Now()
	start(t, opts, testConfig(), second)
	waitForUpTo(t, 20*time.Second, "the redelivery", func() bool {
		if time.Since(began) > 3*time.Second {
			skew.Store(int64(9 * time.Minute))
		}
		return second.count() == 1
	})
	waitFor(t, "the ack", func() bool { return acks(srv, id) == 1 })
	if got := srv.Message(id).Deliveries; got < 2 {
		t.Errorf("%d deliveries, want 2 or more", got)
	}
}

// TestRedeliveriesCounted: a batch the pipeline refuses is nacked and
// redelivered (counted as a message repeat); an entry published twice is
// evaluated twice and counted as an entry repeat.
func TestRedeliveriesCounted(t *testing.T) {
	srv, opts := fakePubSub(t)
	e := gketest.Entry("io.k8s.core.v1.pods.create", "core/v1/namespaces/default/pods/x")
	srv.Publish(testTopic, e, nil)
	p := &pipe{refuse: 1}
	r := start(t, opts, testConfig(), p)
	waitFor(t, "the redelivered event", func() bool { return p.count() == 1 })
	srv.Publish(testTopic, e, nil)
	waitFor(t, "the duplicate entry", func() bool { return p.count() == 2 })
	waitFor(t, "acks", func() bool { return testutil.ToFloat64(r.s.m.acked) == 2 })
	for kind, want := range map[string]float64{"message": 1, "entry": 1} {
		if got := testutil.ToFloat64(r.s.m.redelivered.WithLabelValues(kind)); got != want {
			t.Errorf("redeliveries %s = %v, want %v", kind, got, want)
		}
	}
	if got := testutil.ToFloat64(r.s.m.nacked); got != 1 {
		t.Errorf("nacked %v, want 1", got)
	}
}

// TestFlowControl: with max_outstanding_messages 3, no more than 3
// messages are between Pub/Sub and delivery at any time.
func TestFlowControl(t *testing.T) {
	srv, opts := fakePubSub(t)
	var ids []string
	for i := range 10 {
		ids = append(ids, srv.Publish(testTopic, gketest.Entry("io.k8s.core.v1.pods.get", "core/v1/namespaces/default/pods/p"+string(rune('a'+i))), nil))
	}
	cfg := testConfig()
	cfg.MaxOutstanding, cfg.NumGoroutines = 3, 1
	p := &pipe{hold: true}
	start(t, opts, cfg, p)
	waitFor(t, "three events", func() bool { return p.count() == 3 })
	time.Sleep(200 * time.Millisecond)
	if n := p.count(); n != 3 {
		t.Fatalf("%d events in flight, want 3", n)
	}
	p.release()
	waitFor(t, "every message acked", func() bool {
		for _, id := range ids {
			if acks(srv, id) != 1 {
				return false
			}
		}
		return true
	})
}

// TestLargeEntries: an entry whose event is over max_event_size is
// dropped, counted and acked; the rest go on. Without the limit a large
// request body (2 MiB, upstream's 256 KiB cap would drop it) is delivered.
func TestLargeEntries(t *testing.T) {
	big := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"blob": strings.Repeat("x", 2<<20)}}
	for _, tt := range []struct {
		max       int
		delivered int
	}{{1 << 20, 1}, {0, 2}} {
		srv, opts := fakePubSub(t)
		large := srv.Publish(testTopic, gketest.Entry("io.k8s.core.v1.configmaps.create", "core/v1/namespaces/default/configmaps/big",
			gketest.Payload("request", big)), nil)
		small := srv.Publish(testTopic, gketest.Entry("io.k8s.core.v1.pods.get", "core/v1/namespaces/default/pods/x"), nil)
		cfg := testConfig()
		if tt.max > 0 {
			cfg.MaxEventSize = tt.max
		}
		p := &pipe{}
		r := start(t, opts, cfg, p)
		waitFor(t, "both acked", func() bool { return acks(srv, large) == 1 && acks(srv, small) == 1 })
		if n := p.count(); n != tt.delivered {
			t.Errorf("max %d: %d events delivered, want %d", tt.max, n, tt.delivered)
		}
		if got := testutil.ToFloat64(r.s.m.dropped.WithLabelValues(audit.ReasonTooLarge)); got != float64(2-tt.delivered) {
			t.Errorf("max %d: too-large drops %v", tt.max, got)
		}
		r.stop(t)
	}
}

// TestEntriesThroughPubSub: entries published to Pub/Sub become exactly
// the events Convert makes of them; the others are dropped by reason.
func TestEntriesThroughPubSub(t *testing.T) {
	b, err := os.ReadFile("logentry/testdata/export.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	srv, opts := fakePubSub(t)
	want := map[string]string{} // auditID -> event
	drops := map[string]float64{}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		srv.Publish(testTopic, l, nil)
		out, err := logentry.Convert(l)
		var de *logentry.DropError
		switch {
		case errors.As(err, &de):
			drops[de.Reason]++
		case err != nil:
			t.Fatal(err)
		default:
			var id struct{ AuditID string }
			json.Unmarshal(out, &id)
			want[id.AuditID] = string(out)
		}
	}
	p := &pipe{}
	r := start(t, opts, testConfig(), p)
	waitFor(t, "every event", func() bool { return p.count() == len(want) })
	total := float64(len(want))
	for _, n := range drops {
		total += n
	}
	waitFor(t, "every ack", func() bool { return testutil.ToFloat64(r.s.m.acked) == total })
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range p.events {
		id, _ := ev.Top("auditID").Str()
		if string(ev.Raw) != want[id] {
			t.Errorf("%s: got %s\nwant %s", id, ev.Raw, want[id])
		}
	}
	for reason, n := range drops {
		if got := testutil.ToFloat64(r.s.m.dropped.WithLabelValues(reason)); got != n {
			t.Errorf("dropped %s = %v, want %v", reason, got, n)
		}
	}
}
