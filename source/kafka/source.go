package kafka

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/internal/logbudget"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
)

// batchRecords bounds the records of one batch, so that one partition's
// poll spreads over several engine workers.
const batchRecords = 500

// closeTimeout bounds the final commit and the group leave at Close.
const closeTimeout = 10 * time.Second

// Source consumes audit events from Kafka topics as a member of a consumer
// group, and commits each partition's offsets through a Tracker.
type Source struct {
	cfg   Config
	name  string
	opts  []kgo.Opt
	log   *slog.Logger
	m     *metrics.Metrics
	km    *kafkaMetrics
	clock *metrics.SourceClock
	dec   *decoder
	warn  *logbudget.Budget // failures and skipped records: one line per kind every 5 s

	// mu guards the fields below and every partition's delivered, dirty,
	// committed and hw.
	mu      sync.Mutex
	cl      *kgo.Client
	owned   map[topicPartition]*partition
	closing bool

	// commitMu makes snapshot-and-commit one step, so that commits reach
	// the broker in the order their snapshots were taken and an older
	// position never overwrites a newer one.
	commitMu sync.Mutex
}

type topicPartition struct {
	topic string
	part  int32
}

// partition is one owned partition: its tracker and its positions.
type partition struct {
	topicPartition
	tr        *source.Tracker[kgo.EpochOffset]
	delivered kgo.EpochOffset // newest position whose batches, and all before, were delivered
	dirty     bool            // delivered is not committed yet
	committed int64           // last committed offset (the first fetched one before that)
	hw        int64           // high watermark at the last fetch
	lag       prometheusGauge
	// seq numbers the partition's events (evt.num, evt.reltime): a
	// partition is the stream. Only Run's goroutine touches it.
	seq audit.Sequence
}

// prometheusGauge is the one method of prometheus.Gauge used here.
type prometheusGauge interface{ Set(float64) }

// Open builds the source of a kafka plugins: entry.
func Open(env source.Env) ([]source.Source, error) {
	env.Warn(source.UnknownKeys(env.Plugin, env.InitConfig, Keys))
	s, err := New(env)
	if err != nil {
		return nil, err
	}
	return []source.Source{s}, nil
}

// New returns the source of a kafka entry; Run joins the group.
func New(env source.Env) (*Source, error) {
	cfg, err := ParseConfig(env.InitConfig, env.OpenParams)
	if err != nil {
		return nil, err
	}
	if env.Log == nil {
		env.Log = slog.Default()
	}
	if env.Metrics == nil {
		env.Metrics = metrics.New()
	}
	conn, err := cfg.Conn.ClientOpts(env.Log.With("source", env.Plugin))
	if err != nil {
		return nil, err
	}
	s := &Source{
		cfg: cfg, name: env.Plugin, log: env.Log, m: env.Metrics, km: newKafkaMetrics(env.Metrics),
		clock: env.Metrics.Source(env.Plugin), dec: newDecoder(cfg), owned: map[topicPartition]*partition{},
		warn: &logbudget.Budget{Burst: 1, Window: 5 * time.Second},
	}
	s.opts = append(conn, s.groupOpts()...)
	return s, nil
}

// groupOpts are the consumer's options. Offsets are committed only by the
// source (never autocommitted), rebalances wait until a poll's records are
// submitted, and a revoke waits until they are delivered and committed:
// with the cooperative-sticky balancer, the new owner of a partition then
// starts exactly where this instance stopped.
func (s *Source) groupOpts() []kgo.Opt {
	c := s.cfg
	return []kgo.Opt{
		kgo.ConsumerGroup(c.Group),
		kgo.ConsumeTopics(c.Topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeStartOffset(c.Start),
		kgo.SessionTimeout(c.SessionTimeout),
		kgo.RebalanceTimeout(c.RebalanceTimeout),
		kgo.HeartbeatInterval(c.HeartbeatInterval),
		// A response must hold one whole record of up to max_event_size.
		kgo.BrokerMaxReadBytes(int32(min(max(100<<20, c.MaxEventSize+1<<20), 1<<30))),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
	}
}

// Name implements source.Source.
func (s *Source) Name() string { return s.name }

// Run joins the group and submits what it is given until ctx ends.
func (s *Source) Run(ctx context.Context, p source.Pipeline) error {
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		cl.Close()
		return nil
	}
	s.cl = cl
	s.mu.Unlock()
	go s.commitLoop(ctx)
	for {
		fs := cl.PollRecords(ctx, s.cfg.MaxPollRecords)
		if ctx.Err() != nil || fs.IsClientClosed() {
			cl.AllowRebalance()
			return nil
		}
		s.fetchErrors(fs)
		stopped := s.submit(ctx, p, fs)
		// Every record of the poll is submitted (or will never be): a
		// revoke may now run, and finds them all tracked.
		cl.AllowRebalance()
		if stopped {
			return nil
		}
	}
}

func (s *Source) fetchErrors(fs kgo.Fetches) {
	fs.EachError(func(topic string, part int32, err error) {
		if errors.Is(err, context.Canceled) {
			return
		}
		s.warn.Warn(s.log, "fetch", "kafka fetch failed; retrying", "source", s.name, "topic", topic, "partition", part, "err", err)
	})
}

// submit hands the poll's records to the pipeline, per partition in
// order; it reports whether the pipeline stopped taking them.
func (s *Source) submit(ctx context.Context, p source.Pipeline, fs kgo.Fetches) bool {
	stopped := false
	now := time.Now()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if stopped || len(fp.Records) == 0 {
			return
		}
		part := s.partition(fp.Topic, fp.Partition, fp.Records[0].Offset, fp.HighWatermark)
		for recs := fp.Records; len(recs) > 0 && !stopped; {
			n := min(len(recs), batchRecords)
			stopped = s.submitBatch(ctx, p, part, recs[:n])
			recs = recs[n:]
		}
		s.clock.Received(now)
	})
	return stopped
}

func (s *Source) submitBatch(ctx context.Context, p source.Pipeline, part *partition, recs []*kgo.Record) bool {
	b := source.NewBatch(s.name, s.decodeRecords(recs, &part.seq))
	last := recs[len(recs)-1]
	part.tr.Track(b, kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1})
	if err := p.Submit(ctx, b); err != nil {
		part.tr.Forget(b) // stopping: the next owner reads these again
		return true
	}
	return false
}

// decodeRecords decodes records into events. A record that is not audit
// data (or only partly) is counted by reason and skipped; its offset is
// committed with the others, so it never blocks its partition.
func (s *Source) decodeRecords(recs []*kgo.Record, seq *audit.Sequence) []*audit.Event {
	events := make([]*audit.Event, 0, len(recs))
	skipped := 0
	var at *kgo.Record
	emit := func(e *audit.Event) {
		seq.Stamp(e)
		events = append(events, e)
	}
	problem := func(pr audit.Problem) {
		skipped++
		s.m.EventsSkipped.WithLabelValues(s.name, pr.Reason).Inc()
		s.warn.Warn(s.log, "skip", "kafka record skipped", "source", s.name, "topic", at.Topic, "partition", at.Partition,
			"offset", at.Offset, "reason", pr.Reason, "problem", pr.Msg)
	}
	for _, r := range recs {
		at = r
		s.dec.decode(r, emit, problem)
	}
	s.m.EventsReceived.WithLabelValues(s.name).Add(float64(len(events) + skipped))
	return events
}

// partition returns the state of an owned partition, creating it when
// its first records arrive.
func (s *Source) partition(topic string, part int32, first, hw int64) *partition {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := topicPartition{topic, part}
	p, ok := s.owned[key]
	if !ok {
		p = &partition{topicPartition: key, committed: first,
			lag: s.km.lag.WithLabelValues(s.name, topic, itoa(part))}
		p.tr = source.NewTracker(func(eo kgo.EpochOffset) {
			s.mu.Lock()
			p.delivered, p.dirty = eo, true
			s.mu.Unlock()
		})
		s.owned[key] = p
	}
	p.hw = hw
	p.lag.Set(float64(max(hw-p.committed, 0)))
	return p
}

// commitLoop commits delivered positions every commit_interval until ctx
// ends; Close commits the rest.
func (s *Source) commitLoop(ctx context.Context) {
	source.Every(ctx, s.cfg.CommitInterval, func() {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.SessionTimeout)
		defer cancel()
		if err := s.commit(cctx, nil); err != nil && ctx.Err() == nil {
			s.warn.Warn(s.log, "commit", "kafka offset commit failed; retrying", "source", s.name, "err", err)
		}
	})
}

// commit commits the delivered positions of the owned partitions (of
// only those in only, when it is not nil).
func (s *Source) commit(ctx context.Context, only map[topicPartition]bool) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.Lock()
	cl := s.cl
	offsets := map[string]map[int32]kgo.EpochOffset{}
	var parts []*partition
	for key, p := range s.owned {
		if !p.dirty || (only != nil && !only[key]) {
			continue
		}
		if offsets[key.topic] == nil {
			offsets[key.topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[key.topic][key.part] = p.delivered
		p.dirty = false
		parts = append(parts, p)
	}
	s.mu.Unlock()
	if len(parts) == 0 || cl == nil {
		return nil
	}
	err := commitSync(ctx, cl, offsets)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range parts {
		if err != nil {
			p.dirty = true // delivered only grows: the next commit covers this one
			continue
		}
		p.committed = offsets[p.topic][p.part].Offset
		p.lag.Set(float64(max(p.hw-p.committed, 0)))
	}
	if err != nil {
		s.km.commits.WithLabelValues(s.name, "failed").Inc()
		return err
	}
	s.km.commits.WithLabelValues(s.name, "ok").Inc()
	return nil
}

// commitSync commits offsets and returns the first error, of the request
// or of any partition.
func commitSync(ctx context.Context, cl *kgo.Client, offsets map[string]map[int32]kgo.EpochOffset) error {
	var rerr error
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			rerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && rerr == nil {
					rerr = err
				}
			}
		}
	})
	return rerr
}

// Close commits what was delivered and leaves the group, so that the
// partitions move to the other members at once and they start where this
// instance stopped. The daemon calls it after draining the pipeline.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closing = true
	cl := s.cl
	s.mu.Unlock()
	if cl == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := s.commit(ctx, nil)
	cl.AllowRebalance()
	// Leaving revokes every partition; the revoke commits anything
	// delivered since the commit above. A broker that does not answer
	// in time leaves the partitions to the session timeout.
	if lerr := cl.LeaveGroupContext(ctx); lerr != nil && err == nil && !errors.Is(lerr, context.DeadlineExceeded) {
		err = lerr
	}
	cl.Close()
	return err
}
