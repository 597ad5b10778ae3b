package gke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/file"
	"github.com/peregrine-sec/peregrine/source/gke/logentry"
)

// maxBatch is the most messages one pipeline batch carries.
const maxBatch = 500

// closeWait bounds how long Close waits for Run to return after it nacked
// the messages still pending.
const closeWait = 10 * time.Second

// Options are what tests (or embedders) change beyond the configuration.
type Options struct {
	// ClientOptions are added to the Pub/Sub client's, e.g. an endpoint
	// and insecure gRPC connection to a pstest server.
	ClientOptions []option.ClientOption
	// Metadata replaces the GKE API for fetch_cluster_metadata.
	Metadata ClusterMetadata
}

// Source receives GKE's Kubernetes audit LogEntries from a Pub/Sub
// subscription and submits them, converted, to the pipeline. Each message
// is acked once its event was evaluated and its alerts accepted by every
// output, nacked when it cannot be (a stop before delivery), and acked at
// once when it is not a convertible entry (it never will be).
type Source struct {
	name   string
	cfg    Config
	client *pubsub.Client
	conv   logentry.Converter
	opts   audit.Options
	log    *slog.Logger
	shared *metrics.Metrics
	m      *sourceMetrics
	clock  *metrics.SourceClock

	msgs, entries *seenWindow
	dropLogged    sync.Map // reason -> true once logged at Warn

	items     chan *pending // from the Receive callbacks to the batcher
	seq       audit.Sequence
	closing   chan struct{}
	closeOnce sync.Once
	started   atomic.Bool
	runDone   chan struct{}
}

// pending is a received message whose event is on its way.
type pending struct {
	msg  *pubsub.Message
	ev   *audit.Event
	at   time.Time
	done chan struct{} // closed once the message is acked or nacked
	once sync.Once
}

// Open builds the source of a k8saudit-gke plugin entry: a Pub/Sub
// subscriber, or a read-once file for a file:// open_params.
func Open(env source.Env) ([]source.Source, error) {
	env.Warn(source.UnknownKeys(env.Plugin, env.InitConfig, Keys))
	cfg, err := ParseConfig(env.InitConfig, env.OpenParams)
	if err != nil {
		return nil, err
	}
	if cfg.File != "" {
		o := audit.Options{MaxEventSize: cfg.MaxEventSize, Cluster: cfg.Cluster, Formats: []*audit.Format{logentry.Format}}
		return []source.Source{file.NewOnce(env.Plugin, cfg.File, o, env.Metrics, env.Log)}, nil
	}
	s, err := New(env, cfg, Options{})
	if err != nil {
		return nil, err
	}
	return []source.Source{s}, nil
}

// New returns a subscriber source. It creates the Pub/Sub client, so
// missing credentials fail here, at start-up.
func New(env source.Env, cfg Config, o Options) (*Source, error) {
	if env.Metrics == nil {
		env.Metrics = metrics.New()
	}
	if env.Log == nil {
		env.Log = slog.Default()
	}
	creds, err := credentials(cfg.CredentialsFile)
	if err != nil {
		return nil, err
	}
	client, err := pubsub.NewClient(context.Background(), projectID(cfg), slices.Concat(creds, o.ClientOptions)...)
	if err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	s := &Source{
		name: env.Plugin, cfg: cfg, client: client, log: env.Log, shared: env.Metrics,
		m: newSourceMetrics(env.Metrics, env.Plugin), clock: env.Metrics.Source(env.Plugin),
		opts: audit.Options{MaxEventSize: cfg.MaxEventSize},
		msgs: newSeenWindow(cfg.RedeliveryWindow), entries: newSeenWindow(cfg.RedeliveryWindow),
		items: make(chan *pending), closing: make(chan struct{}), runDone: make(chan struct{}),
	}
	if cfg.FetchMetadata {
		s.conv.ExtraLabels = s.metadata(o.Metadata, creds)
	}
	return s, nil
}

// projectID is project_id; else the project of a fully qualified
// subscription; else detected from the credentials.
func projectID(cfg Config) string {
	if cfg.ProjectID != "" {
		return cfg.ProjectID
	}
	if p := strings.Split(cfg.Subscription, "/"); len(p) == 4 && p[0] == "projects" {
		return p[1]
	}
	return pubsub.DetectProjectID
}

// credentials reads credentials_file with the option for its own type
// (service account, user, external account, ...), so a file of an
// unexpected kind is refused rather than trusted.
func credentials(path string) ([]option.ClientOption, error) {
	if path == "" {
		return nil, nil // Application Default Credentials
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("init_config.credentials_file: %w", err)
	}
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("init_config.credentials_file %s: not a credentials JSON file", path)
	}
	switch t := option.CredentialsType(f.Type); t {
	case option.ServiceAccount, option.AuthorizedUser, option.ImpersonatedServiceAccount,
		option.ExternalAccount, option.CredentialsType("external_account_authorized_user"):
		return []option.ClientOption{option.WithAuthCredentialsFile(t, path)}, nil
	}
	return nil, fmt.Errorf("init_config.credentials_file %s: unsupported credentials type %q", path, f.Type)
}

// metadata returns the labels hook of fetch_cluster_metadata. Without an
// injected ClusterMetadata it calls the GKE API, when the credentials can
// make an authenticated client at all; otherwise it warns and goes on
// without cluster labels.
func (s *Source) metadata(md ClusterMetadata, creds []option.ClientOption) func(logentry.Resource) map[string]string {
	if md == nil {
		opts := slices.Concat([]option.ClientOption{option.WithScopes("https://www.googleapis.com/auth/cloud-platform")}, creds)
		hc, _, err := htransport.NewClient(context.Background(), opts...)
		if err != nil {
			s.log.Warn("fetch_cluster_metadata: no credentials for the GKE API; events go on without cluster labels", "source", s.name, "err", err)
			return nil
		}
		md = &ContainerAPI{Client: hc}
	}
	return newMetadataCache(md, s.cfg.CacheExpiration, s.log, s.m).labels
}

// Name implements source.Source.
func (s *Source) Name() string { return s.name }

// Run receives until ctx ends, then waits until every message received
// was acked or nacked.
func (s *Source) Run(ctx context.Context, p source.Pipeline) error {
	s.started.Store(true)
	defer close(s.runDone)
	bctx, stop := context.WithCancel(ctx)
	batched := make(chan struct{})
	go func() {
		defer close(batched)
		s.batch(bctx, p)
	}()
	err := s.receive(ctx)
	stop()
	<-batched
	return err
}

// receive runs the subscriber, retrying errors Pub/Sub calls transient
// with a backoff; others (no such subscription, permission denied) end
// the source.
func (s *Source) receive(ctx context.Context) error {
	sub := s.client.Subscriber(s.cfg.Subscription)
	sub.ReceiveSettings.NumGoroutines = s.cfg.NumGoroutines
	sub.ReceiveSettings.MaxOutstandingMessages = s.cfg.MaxOutstanding
	backoff := time.Second
	for {
		err := sub.Receive(ctx, s.handle)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !retryable(err) {
			return fmt.Errorf("subscription %s: %w", sub, err)
		}
		s.log.Warn("pubsub receive stopped; retrying", "source", s.name, "subscription", sub.String(), "in", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func retryable(err error) bool {
	switch grpcstatus.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Internal, codes.Unknown, codes.Aborted:
		return true
	}
	return false
}

// handle is the Receive callback. It returns only once the message is
// acked or nacked: the client counts a message against
// max_outstanding_messages until its callback returns, so flow control
// covers evaluation and delivery, not just receipt.
func (s *Source) handle(ctx context.Context, msg *pubsub.Message) {
	now := time.Now()
	s.m.received.Inc()
	s.shared.EventsReceived.WithLabelValues(s.name).Inc()
	s.clock.Received(now)
	repeat := s.msgs.repeat(msg.ID, now) || (msg.DeliveryAttempt != nil && *msg.DeliveryAttempt > 1)
	if repeat {
		s.m.redelivered.WithLabelValues("message").Inc()
	}
	ev, err := s.event(msg.Data, repeat, now)
	if err != nil {
		s.dropped(err, msg.ID)
		s.settle(msg, now, true) // it will never convert: redelivering it would loop
		return
	}
	it := &pending{msg: msg, ev: ev, at: now, done: make(chan struct{})}
	select {
	case s.items <- it:
	case <-ctx.Done():
		s.finish(it, false)
		return
	case <-s.closing:
		s.finish(it, false)
		return
	}
	select {
	case <-it.done:
	case <-s.closing:
		s.finish(it, false) // the drain gave up: Pub/Sub redelivers it
	}
}

// event converts a message's LogEntry into an audit event and counts an
// entry seen before in another message.
func (s *Source) event(data []byte, msgRepeat bool, now time.Time) (*audit.Event, error) {
	out, info, err := s.conv.Convert(data)
	if info.InsertID != "" && s.entries.repeat(info.LogName+"\x00"+info.InsertID, now) && !msgRepeat {
		s.m.redelivered.WithLabelValues("entry").Inc()
	}
	if err != nil {
		return nil, err
	}
	var ev *audit.Event
	var problem error
	s.opts.DecodePayload(out, func(e *audit.Event) { ev = e }, func(p audit.Problem) {
		problem = &logentry.DropError{Reason: p.Reason, Msg: p.Msg}
	})
	if ev == nil {
		if problem == nil {
			problem = &logentry.DropError{Reason: logentry.ReasonMalformed, Msg: "conversion gave no event"}
		}
		return nil, problem
	}
	s.m.converted.Inc()
	ev.Cluster = s.cfg.Cluster
	if ev.Cluster == "" {
		ev.Cluster = info.Resource.Labels["cluster_name"]
	}
	return ev, nil
}

// dropped counts an unconverted entry; the first of each reason is logged
// as a warning, later ones at debug level, so a misrouted sink cannot
// flood the log.
func (s *Source) dropped(err error, msgID string) {
	reason := logentry.ReasonMalformed
	var de *logentry.DropError
	if errors.As(err, &de) {
		reason = de.Reason
	}
	s.m.dropped.WithLabelValues(reason).Inc()
	s.shared.EventsSkipped.WithLabelValues(s.name, reason).Inc()
	level := slog.LevelDebug
	if _, logged := s.dropLogged.LoadOrStore(reason, true); !logged {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "log entry dropped (acked); later drops of this reason are logged at debug level",
		"source", s.name, "reason", reason, "message_id", msgID, "err", err)
}

func (s *Source) finish(it *pending, ack bool) {
	it.once.Do(func() {
		s.settle(it.msg, it.at, ack)
		close(it.done)
	})
}

func (s *Source) settle(msg *pubsub.Message, at time.Time, ack bool) {
	if !ack {
		msg.Nack()
		s.m.nacked.Inc()
		return
	}
	msg.Ack()
	s.m.acked.Inc()
	s.m.ackLatency.Observe(time.Since(at).Seconds())
}

// batch gathers the messages waiting to be submitted into batches, without
// waiting for more: a lone message goes at once, a burst goes together.
func (s *Source) batch(ctx context.Context, p source.Pipeline) {
	for {
		var items []*pending
		select {
		case it := <-s.items:
			items = append(items, it)
		case <-ctx.Done():
			return
		}
	more:
		for len(items) < maxBatch {
			select {
			case it := <-s.items:
				items = append(items, it)
			default:
				break more
			}
		}
		s.submit(ctx, p, items)
	}
}

// submit hands the events of items to the pipeline as one batch; its
// messages are acked when the batch is released, nacked if the pipeline
// does not take it.
func (s *Source) submit(ctx context.Context, p source.Pipeline, items []*pending) {
	events := make([]*audit.Event, len(items))
	for i, it := range items {
		s.seq.Stamp(it.ev)
		events[i] = it.ev
	}
	b := source.NewBatch(s.name, events)
	t := onRelease(b, func() {
		for _, it := range items {
			s.finish(it, true)
		}
	})
	if err := p.Submit(ctx, b); err != nil {
		t.Forget(b)
		for _, it := range items {
			s.finish(it, false)
		}
	}
}

// onRelease makes fn run when b is released (evaluated, and every alert
// accepted by every output). Pub/Sub acks messages one by one, not
// positions in order, so each batch gets a Tracker of its own, whose one
// registration commits exactly then; one Tracker for the source would
// hold each ack until every earlier batch was released.
func onRelease(b *source.Batch, fn func()) *source.Tracker[struct{}] {
	t := source.NewTracker(func(struct{}) { fn() })
	t.Track(b, struct{}{})
	return t
}

// Close nacks the messages still pending (Pub/Sub redelivers them), waits
// for Run to return and closes the client.
func (s *Source) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closing)
		if s.started.Load() {
			select {
			case <-s.runDone:
			case <-time.After(closeWait):
				s.log.Warn("pubsub receive did not stop in time", "source", s.name)
			}
		}
		err = s.client.Close()
	})
	return err
}
