package eks

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/eks/cwlogs"
)

// Options configure a Source. Zero values take the defaults.
type Options struct {
	// Name is the source's name (metrics label): the plugin name.
	Name   string
	Config Config
	// API reads CloudWatch Logs; nil builds the SDK's client from Config.
	API API
	// Checkpoint is the state file; "" keeps no state.
	Checkpoint string
	// Margin is how far before the newest event read a poll starts when
	// it does not re-read the whole overlap (default 30 s).
	Margin time.Duration
	// Backoff and MaxBackoff bound the wait between retries (500 ms, 1
	// minute). SaveEvery is how often a new position is written (1 s;
	// and at Close).
	Backoff, MaxBackoff, SaveEvery time.Duration
	// Now is the clock (time.Now).
	Now     func() time.Time
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// DefaultMargin is Options.Margin's default: most late events are late by
// seconds, and the next poll finds them without waiting for a sweep.
const DefaultMargin = 30 * time.Second

func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = "k8saudit-eks"
	}
	c := &o.Config
	c.Shift = cmpOr(c.Shift, DefaultShift)
	c.PollInterval = cmpOr(c.PollInterval, DefaultPollInterval)
	c.Overlap = cmpOr(c.Overlap, DefaultOverlap)
	c.OverlapInterval = cmpOr(c.OverlapInterval, DefaultOverlapInterval)
	c.MaxEventSize = cmpOr(c.MaxEventSize, audit.DefaultMaxEventSize)
	o.Margin = cmpOr(o.Margin, DefaultMargin)
	o.Backoff = cmpOr(o.Backoff, 500*time.Millisecond)
	o.MaxBackoff = cmpOr(o.MaxBackoff, time.Minute)
	o.SaveEvery = cmpOr(o.SaveEvery, time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// cmpOr is cmp.Or for numbers that may be negative: v when positive.
func cmpOr[T time.Duration | int](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Source follows an EKS cluster's audit log in CloudWatch Logs.
type Source struct {
	o      Options
	group  string
	f      *fetcher
	m      *sourceMetrics
	clock  *metrics.SourceClock
	dec    audit.Options
	tr     *source.Tracker[position]
	resume *Checkpoint // loaded by New, used by Run

	win    *window
	seq    uint64 // batches submitted
	late   int    // events over the overlap late in the current poll
	saveMu sync.Mutex
}

// Open builds the source of a k8saudit-eks plugin entry.
func Open(env source.Env) ([]source.Source, error) {
	env.Warn(source.UnknownKeys(env.Plugin, env.InitConfig, Keys))
	cfg, err := ParseConfig(env.InitConfig, env.OpenParams)
	if err != nil {
		return nil, err
	}
	cp := cfg.Checkpoint
	if cp == "" && env.StateDir != "" {
		cp = filepath.Join(env.StateDir, env.Plugin, "cloudwatch.checkpoint")
	}
	s, err := New(Options{Name: env.Plugin, Config: cfg, Checkpoint: cp, Metrics: env.Metrics, Log: env.Log})
	if err != nil {
		return nil, err
	}
	return []source.Source{s}, nil
}

// New returns a source; it reads the checkpoint, and Run starts polling.
func New(o Options) (*Source, error) {
	o.defaults()
	if o.API == nil {
		c, err := NewClient(context.Background(), o.Config)
		if err != nil {
			return nil, err
		}
		o.API = c
	}
	s := &Source{o: o, group: o.Config.LogGroup(), clock: o.Metrics.Source(o.Name)}
	s.m = newSourceMetrics(o.Metrics, o.Name)
	s.f = &fetcher{api: o.API, b: backoff{base: o.Backoff, max: o.MaxBackoff}, m: s.m, log: o.Log, name: o.Name}
	s.dec = audit.Options{MaxEventSize: o.Config.MaxEventSize, Cluster: o.Config.EventCluster()}
	s.tr = source.NewTracker(func(p position) { s.win.commit(p) })
	if o.Checkpoint != "" {
		cp, err := LoadCheckpoint(o.Checkpoint)
		if err != nil {
			return nil, err
		}
		s.resume = cp
	}
	return s, nil
}

// Name implements source.Source.
func (s *Source) Name() string { return s.o.Name }

// Run polls CloudWatch Logs until ctx ends: at once, then polling_interval
// after each poll ends. Failures are retried and never end it.
func (s *Source) Run(ctx context.Context, p source.Pipeline) error {
	s.start()
	saved := make(chan struct{})
	go s.saveLoop(ctx, saved)
	defer func() { <-saved }()
	for {
		if err := s.poll(ctx, p); err != nil || ctx.Err() != nil {
			return nil // only ctx ends a poll early
		}
		s.win.prune()
		s.m.ids.Set(float64(s.win.Len()))
		if !sleep(ctx, s.o.Config.PollInterval) {
			return nil
		}
	}
}

// start makes the window: from the checkpoint, or now minus shift.
func (s *Source) start() {
	c := s.o.Config
	wo := windowOptions{overlap: c.Overlap, sweepEvery: c.OverlapInterval, pollEvery: c.PollInterval, margin: s.o.Margin}
	if cp := s.resume; cp != nil && cp.LogGroup == s.group {
		s.win = resumeWindow(wo, cp)
		s.o.Log.Info("resuming CloudWatch Logs", "source", s.o.Name, "log_group", s.group,
			"from", time.UnixMilli(cp.WindowStart).UTC(), "ids", s.win.Len())
		return
	} else if cp != nil {
		s.o.Log.Warn("the checkpoint is of another log group; starting anew", "source", s.o.Name,
			"checkpoint", s.o.Checkpoint, "its_log_group", cp.LogGroup, "log_group", s.group)
	}
	start := s.o.Now().Add(-s.o.Config.Shift).UnixMilli()
	s.win = newWindow(wo, start)
	s.o.Log.Info("reading CloudWatch Logs", "source", s.o.Name, "log_group", s.group, "from", time.UnixMilli(start).UTC())
}

// poll reads the window's next range to its end, one batch per page.
func (s *Source) poll(ctx context.Context, p source.Pipeline) error {
	now := s.o.Now()
	start, since := s.win.next(now.UnixMilli())
	before := s.win.Newest()
	s.late = 0
	in := s.input(start)
	for {
		out, restart, err := s.f.fetch(ctx, in, false)
		if err != nil {
			return err
		}
		if restart {
			in = s.input(start)
			continue
		}
		if err := s.page(ctx, p, out.Events, since, before); err != nil {
			return err
		}
		if !nextPage(in, out) {
			break
		}
	}
	if s.late > 0 {
		s.o.Log.Warn("CloudWatch Logs ingested events later than the overlap window after their timestamp; events that late can be missed: raise init_config.overlap",
			"source", s.o.Name, "events", s.late, "overlap", s.o.Config.Overlap)
	}
	s.m.readLag.Set(now.Sub(time.UnixMilli(s.win.Newest())).Seconds())
	return nil
}

func (s *Source) input(start int64) *cloudwatchlogs.FilterLogEventsInput {
	return &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(s.group), LogStreamNamePrefix: aws.String(StreamPrefix),
		StartTime: aws.Int64(start),
	}
}

// nextPage moves in to the next page; false when the range is read. A
// token the service hands back unchanged ends the range too (the SDK
// paginator's StopOnDuplicateToken), so a service bug cannot spin us.
func nextPage(in *cloudwatchlogs.FilterLogEventsInput, out *cloudwatchlogs.FilterLogEventsOutput) bool {
	tok := aws.ToString(out.NextToken)
	if tok == "" || tok == aws.ToString(in.NextToken) {
		return false
	}
	in.NextToken = aws.String(tok)
	return true
}

// page submits the new events of one page as a batch. A page of repeats
// only submits nothing; a page whose new events all were skipped submits
// an empty batch, so that their ids are committed in order like the rest.
func (s *Source) page(ctx context.Context, p source.Pipeline, evs []types.FilteredLogEvent, since, before int64) error {
	seq := s.seq + 1
	var events []*audit.Event
	fresh := 0
	for i := range evs {
		e := &evs[i]
		s.m.read.Inc()
		t := aws.ToInt64(e.Timestamp)
		if !s.win.add(eventKey(e), t, seq) {
			s.m.dups.Inc()
			continue
		}
		fresh++
		s.lateness(e, t, before)
		events = s.decode(events, e)
	}
	if fresh == 0 {
		return nil
	}
	s.o.Metrics.EventsReceived.WithLabelValues(s.o.Name).Add(float64(fresh))
	s.clock.Received(time.Now())
	s.seq = seq
	b := source.NewBatch(s.o.Name, events)
	s.tr.Track(b, position{seq: seq, newest: s.win.Newest(), since: since})
	if err := p.Submit(ctx, b); err != nil {
		s.tr.Forget(b) // stopping: the batch's ids stay uncommitted
		return err
	}
	return nil
}

// eventKey is the event's CloudWatch id. The service always sends one;
// without it the stream, times and message stand in.
func eventKey(e *types.FilteredLogEvent) string {
	if id := aws.ToString(e.EventId); id != "" {
		return id
	}
	return fmt.Sprintf("~%s/%d/%d/%s", aws.ToString(e.LogStreamName), aws.ToInt64(e.Timestamp),
		aws.ToInt64(e.IngestionTime), aws.ToString(e.Message))
}

// lateness counts events read after newer ones (the overlap found them)
// and events ingested more than the overlap after their timestamp (such
// events can be missed: the metric says the overlap is too short).
func (s *Source) lateness(e *types.FilteredLogEvent, t, before int64) {
	if t < before {
		s.m.recovered.Inc()
	}
	if ing := aws.ToInt64(e.IngestionTime); ing-t > s.o.Config.Overlap.Milliseconds() {
		s.m.late.Inc()
		s.late++
	}
}

// decode appends the audit events of one log message (one Event as EKS
// writes them; an EventList or array works too).
func (s *Source) decode(events []*audit.Event, e *types.FilteredLogEvent) []*audit.Event {
	msg := []byte(aws.ToString(e.Message))
	where := aws.ToString(e.LogStreamName) + " event " + aws.ToString(e.EventId)
	if cwlogs.Truncated(msg) {
		s.o.Metrics.EventsSkipped.WithLabelValues(s.o.Name, ReasonTruncated).Inc()
		s.o.Log.Warn("truncated log message skipped: it cannot be parsed", "source", s.o.Name,
			"at", where, "auditID", cwlogs.AuditID(msg), "size", len(msg))
		return events
	}
	s.dec.DecodePayload(msg, func(ev *audit.Event) {
		ev.Source = where
		events = append(events, ev)
	}, func(pr audit.Problem) {
		s.o.Metrics.EventsSkipped.WithLabelValues(s.o.Name, pr.Reason).Inc()
		s.o.Log.Warn("log message skipped", "source", s.o.Name, "at", where, "reason", pr.Reason, "problem", pr.Msg)
	})
	return events
}

// ReasonTruncated counts messages CloudWatch truncated (skipped-by-reason
// label).
const ReasonTruncated = cwlogs.ReasonTruncated

func (s *Source) saveLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	if s.o.Checkpoint == "" {
		return
	}
	source.Every(ctx, s.o.SaveEvery, func() {
		if err := s.save(); err != nil {
			s.o.Log.Error("saving the CloudWatch position failed", "source", s.o.Name, "err", err)
		}
	})
}

// save writes the committed position when it changed.
func (s *Source) save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if s.win == nil || s.o.Checkpoint == "" {
		return nil
	}
	cp, ok := s.win.snapshot()
	if !ok {
		return nil
	}
	cp.LogGroup = s.group
	if err := SaveCheckpoint(s.o.Checkpoint, cp); err != nil {
		s.win.redo()
		return err
	}
	return nil
}

// Close saves the last committed position.
func (s *Source) Close() error { return s.save() }
