package kafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
)

const topic = "audit"

// newCluster starts an in-process Kafka (one broker on a free loopback
// port) with the topic, whose groups accept the tests' short sessions.
func newCluster(t *testing.T, partitions int32) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic),
		kfake.GroupMinSessionTimeout(100*time.Millisecond)) // listens on 127.0.0.1, free ports
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// auditEvent is a minimal audit event; the id tells deliveries apart.
func auditEvent(id string) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":%q,"stage":"ResponseComplete","verb":"get",`+
		`"objectRef":{"resource":"pods"},"stageTimestamp":"2024-01-01T00:00:00.000000Z"}`, id)
}

// produce writes values to partition part of the topic.
func produce(t *testing.T, c *kfake.Cluster, part int32, values ...string) {
	t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Partition: part, Value: []byte(v)}
	}
	produceRecords(t, c, recs...)
}

func produceRecords(t *testing.T, c *kfake.Cluster, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// initConfig is a fast test configuration: short sessions and commits.
func initConfig(c *kfake.Cluster, extra map[string]any) map[string]any {
	m := map[string]any{
		"brokers": strings.Join(c.ListenAddrs(), ","), "topics": topic, "group_id": "g",
		"start_offset": "earliest", "commit_interval": "20ms", "heartbeat_interval": "50ms",
		"session_timeout": "2s", "rebalance_timeout": "5s",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func newSource(t *testing.T, c *kfake.Cluster, extra map[string]any) *Source {
	t.Helper()
	s, err := New(source.Env{Plugin: "kafka", InitConfig: initConfig(c, extra), Metrics: metrics.New(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pipeline stands for the daemon's: it "evaluates" a batch by noting its
// events' audit IDs, then releases it after delay (outputs taking time),
// or keeps it held while hold is set.
type pipeline struct {
	delay time.Duration

	mu   sync.Mutex
	seen map[string]int // audit ID -> times evaluated
	by   map[string]int // source tag -> events evaluated
	held []*source.Batch
	hold bool
	// unnumbered counts events without evt.num, which rules such as the
	// default pg_always_true (evt.num > 0) depend on.
	unnumbered int
}

func newPipeline(delay time.Duration) *pipeline {
	return &pipeline{delay: delay, seen: map[string]int{}, by: map[string]int{}}
}

// tagged is the pipeline one source submits to, counted under tag.
type tagged struct {
	p   *pipeline
	tag string
}

func (p *pipeline) as(tag string) source.Pipeline { return tagged{p, tag} }

func (tp tagged) Submit(ctx context.Context, b *source.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := tp.p
	p.mu.Lock()
	for _, e := range b.Events {
		if e.Num == 0 {
			p.unnumbered++
		}
		id, _ := e.Top("auditID").Str()
		p.seen[id]++
		p.by[tp.tag]++
	}
	if p.hold {
		p.held = append(p.held, b)
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	time.AfterFunc(p.delay, b.Release)
	return nil
}

// release lets held batches go and stops holding.
func (p *pipeline) release() {
	p.mu.Lock()
	held := p.held
	p.held, p.hold = nil, false
	p.mu.Unlock()
	for _, b := range held {
		b.Release()
	}
}

func (p *pipeline) count() (distinct, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.seen {
		total += n
	}
	return len(p.seen), total
}

func (p *pipeline) duplicates() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var d []string
	for id, n := range p.seen {
		if n > 1 {
			d = append(d, fmt.Sprintf("%s×%d", id, n))
		}
	}
	return d
}

// running is a source running in the background.
type running struct {
	s      *Source
	cancel context.CancelFunc
	done   chan error
}

func start(s *Source, p source.Pipeline) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, p) }()
	return r
}

// stop is the daemon's graceful stop: Run ends, the pipeline drains
// (wait), Close commits and leaves.
func (r *running) stop(t *testing.T, drained func()) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if drained != nil {
		drained()
	}
	if err := r.s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// committed returns the group's committed offsets of the topic.
func committed(c *kfake.Cluster, group string) map[int32]int64 {
	out := map[int32]int64{}
	if g := c.GroupInfo(group); g != nil {
		for p, gc := range g.Commits[topic] {
			out[p] = gc.Offset
		}
	}
	return out
}
