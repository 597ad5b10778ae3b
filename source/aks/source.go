package aks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/internal/logbudget"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
)

// Options configure a Source.
type Options struct {
	Name       string // the plugin name (metrics label)
	Config     Config
	OpenParams string
	Metrics    *metrics.Metrics
	Log        *slog.Logger
	// InstanceID overrides Config.InstanceID.
	InstanceID string
	// Retry overrides the SDK's Event Hubs retry policy (tests shorten it).
	Retry *azeventhubs.RetryOptions
}

// Source consumes one Event Hub with the SDK's Processor.
type Source struct {
	name  string
	cfg   Config
	id    string
	retry *azeventhubs.RetryOptions
	log   *slog.Logger
	m     *metrics.Metrics
	sm    *sourceMetrics
	clock *metrics.SourceClock
	limit *limiter // nil: no rate limit
	dec   decoder
	logs  *logbudget.Budget // skipped records: 20 lines per reason a minute

	cl    *clients
	store *checkpoints.BlobStore
	wg    sync.WaitGroup // partition consumers
	loops sync.WaitGroup // the checkpoint writer and the probe
	bg    context.Context
	stop  context.CancelFunc // ends the checkpoint writer and the probe

	mu       sync.Mutex
	sessions map[*session]bool
	marks    map[string]*mark // by partition, for the life of the process
	procStop func()           // stops the processor, relinquishing ownership
	faults   map[string]error // by operation, while it fails
	closed   bool
}

// Open builds the source of a k8saudit-aks plugin entry.
func Open(env source.Env) ([]source.Source, error) {
	env.Warn(source.UnknownKeys(env.Plugin, env.InitConfig, Keys))
	cfg, err := ParseConfig(env.InitConfig)
	if err != nil {
		return nil, err
	}
	return []source.Source{New(Options{Name: env.Plugin, Config: cfg, OpenParams: env.OpenParams, Metrics: env.Metrics, Log: env.Log})}, nil
}

// New returns a source; Run connects.
func New(o Options) *Source {
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.InstanceID == "" {
		o.InstanceID = o.Config.InstanceID
	}
	if o.InstanceID == "" {
		o.InstanceID = instanceID()
	}
	s := &Source{
		name: o.Name, cfg: o.Config, id: o.InstanceID, retry: o.Retry, log: o.Log.With("source", o.Name),
		m: o.Metrics, sm: newSourceMetrics(o.Metrics), clock: o.Metrics.Source(o.Name),
		sessions: map[*session]bool{}, marks: map[string]*mark{}, faults: map[string]error{},
		logs: &logbudget.Budget{Burst: 20, Window: time.Minute},
	}
	s.dec = decoder{opts: audit.Options{MaxEventSize: o.Config.MaxEventSize}, cfg: o.Config, openParams: o.OpenParams, skip: s.skipped}
	s.dec.category = func(c string) { s.sm.records.WithLabelValues(s.name, s.sm.category(c)).Inc() }
	if o.Config.RateLimit > 0 {
		s.limit = newLimiter(o.Config.RateLimit, o.Config.RateBurst)
		s.log.Warn("rate limit set: this source reads at most rate_limit_events_per_second records per second and falls behind a busier cluster; remove rate_limit_events_per_second and rate_limit_burst for no limit",
			"rate_limit_events_per_second", o.Config.RateLimit, "rate_limit_burst", o.Config.RateBurst)
	}
	s.sm.registry.add(s)
	return s
}

// instanceID is the host name: unique among running instances (pods),
// and the same after a restart, so the restarted process reclaims the
// partitions it owned at once. Two processes on one host reading the same
// hub must set instance_id apart.
func instanceID() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	var b [8]byte
	rand.Read(b[:])
	return "peregrine-" + hex.EncodeToString(b[:])
}

// Name implements source.Source.
func (s *Source) Name() string { return s.name }

// skipped counts a record or message that gave no event, and logs it
// unless it is the routine skip of another diagnostic category.
func (s *Source) skipped(reason, msg string) {
	s.m.EventsSkipped.WithLabelValues(s.name, reason).Inc()
	if reason == ReasonCategory {
		return
	}
	s.logs.Warn(s.log, reason, "record skipped", "reason", reason, "problem", msg)
}

// Run consumes the partitions this instance owns until ctx ends. A
// processor that fails (the hub or the storage account unreachable) is
// rebuilt with backoff, and the source reports itself unhealthy meanwhile.
func (s *Source) Run(ctx context.Context, p source.Pipeline) error {
	cl, err := newClients(s.cfg, s.id, s.retry)
	if err != nil {
		return err
	}
	store, err := checkpoints.NewBlobStore(cl.checkpoint, nil)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cl, s.store = cl, store
	s.bg, s.stop = context.WithCancel(context.Background())
	s.mu.Unlock()
	s.loops.Add(2)
	go s.writeLoop(s.bg)
	go s.probeLoop(s.bg)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		started := time.Now()
		err := s.runProcessor(ctx, p)
		if ctx.Err() != nil {
			break
		}
		if time.Since(started) > time.Minute {
			attempt = 0 // it ran well for a while: start the backoff afresh
		}
		s.fault("processor", err)
		d := backoff(attempt)
		s.log.Error("event processor stopped; retrying", "err", err, "retry_in", d)
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	s.wg.Wait()
	return nil
}

// fault records that an operation failed (err != nil) or works again.
func (s *Source) fault(op string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.faults, op)
		return
	}
	s.faults[op] = err
	s.sm.errors.WithLabelValues(s.name, op).Inc()
}

// Health returns why the source is unhealthy, or nil. The daemon's
// /healthz can ask it; peregrine_aks_healthy exports the same.
func (s *Source) Health() error { return s.Status().Err }

// PartitionStatus is one owned partition as Status reports it.
type PartitionStatus struct {
	ID string
	// Lag is the last enqueued sequence number minus the last delivered
	// one; -1 while unknown.
	Lag          int64
	CheckpointAt time.Time // last checkpoint written (or when taken)
}

// Status is a snapshot of the source for health and metrics.
type Status struct {
	Partitions []PartitionStatus // sorted by ID
	Err        error             // the failing operations, or nil
}

// Status returns the source's state now.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st Status
	for ss := range s.sessions {
		if ps, ok := ss.status(); ok {
			st.Partitions = append(st.Partitions, ps)
		}
	}
	sort.Slice(st.Partitions, func(i, j int) bool { return st.Partitions[i].ID < st.Partitions[j].ID })
	var errs []string
	for op, err := range s.faults {
		errs = append(errs, op+": "+err.Error())
	}
	sort.Strings(errs)
	if len(errs) > 0 {
		st.Err = errors.New(strings.Join(errs, "; "))
	}
	return st
}

// Close writes the final checkpoint of every partition still owned (the
// daemon drained the pipeline before calling it, so they are current),
// then stops the processor, which gives the partitions up.
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed || s.cl == nil {
		s.closed = true
		s.mu.Unlock()
		s.sm.registry.remove(s)
		return nil
	}
	s.closed = true
	stopProc := s.procStop
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.flushAll(ctx)
	if stopProc != nil {
		stopProc()
	}
	s.stop()
	s.loops.Wait()
	s.sm.registry.remove(s)
	if cerr := s.cl.consumer.Close(ctx); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	return nil
}
