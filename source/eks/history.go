package eks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/eks/cwlogs"
)

// OpenHistory is the k8saudit-eks source.HistoryOpener: `peregrine replay
// -c CONFIG --source k8saudit-eks --since T [--until T]` reads the plugin
// entry's log group over [since, until) once, with the same client,
// retries and message handling as the daemon.
func OpenHistory(env source.Env, since, until time.Time) (source.Iterator, error) {
	cfg, err := ParseConfig(env.InitConfig, env.OpenParams)
	if err != nil {
		return nil, err
	}
	api, err := NewClient(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	return NewHistory(HistoryOptions{Config: cfg, API: api, Metrics: env.Metrics, Log: env.Log}, since, until), nil
}

// HistoryOptions configure a History.
type HistoryOptions struct {
	Config Config
	API    API
	// Backoff and MaxBackoff bound the wait between retries (500 ms, 20 s).
	Backoff, MaxBackoff time.Duration
	Metrics             *metrics.Metrics
	Log                 *slog.Logger
}

// History iterates over the audit events of a past time range.
type History struct {
	ctx    context.Context
	cancel context.CancelFunc
	f      *fetcher
	in     *cloudwatchlogs.FilterLogEventsInput
	dec    audit.Options
	done   bool
	queue  []*audit.Event
	skips  source.Skips

	// seen holds the ids of the last overlap of timestamps read: pages
	// come in timestamp order, so repeats can only be recent.
	seen    map[string]int64
	newest  int64
	overlap int64
}

// NewHistory reads [since, until); a zero until is now.
func NewHistory(o HistoryOptions, since, until time.Time) *History {
	c := o.Config
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if until.IsZero() {
		until = time.Now()
	}
	const name = "k8saudit-eks"
	ctx, cancel := context.WithCancel(context.Background())
	h := &History{
		ctx: ctx, cancel: cancel,
		f: &fetcher{api: o.API, b: backoff{base: cmpOr(o.Backoff, 500*time.Millisecond), max: cmpOr(o.MaxBackoff, 20*time.Second)},
			m: newSourceMetrics(o.Metrics, name), log: o.Log, name: name},
		dec:  audit.Options{MaxEventSize: cmpOr(c.MaxEventSize, audit.DefaultMaxEventSize), Cluster: c.EventCluster()},
		seen: map[string]int64{}, overlap: cmpOr(c.Overlap, DefaultOverlap).Milliseconds(), skips: source.Skips{Log: o.Log},
		in: &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String(c.LogGroup()), LogStreamNamePrefix: aws.String(StreamPrefix),
			// CloudWatch's range is in whole ms and includes endTime.
			StartTime: aws.Int64((since.UnixNano() + 999_999) / 1e6),
			EndTime:   aws.Int64((until.UnixNano()+999_999)/1e6 - 1),
		},
	}
	return h
}

// Next returns the next event, in CloudWatch's timestamp order; io.EOF at
// the end of the range.
func (h *History) Next() (*audit.Event, error) {
	for len(h.queue) == 0 {
		if h.done {
			return nil, io.EOF
		}
		if err := h.fill(); err != nil {
			h.done = true
			return nil, err
		}
	}
	e := h.queue[0]
	h.queue[0] = nil
	h.queue = h.queue[1:]
	return e, nil
}

// fill reads one page.
func (h *History) fill() error {
	out, _, err := h.f.fetch(h.ctx, h.in, true)
	if err != nil {
		return err
	}
	for i := range out.Events {
		e := &out.Events[i]
		t := aws.ToInt64(e.Timestamp)
		if _, dup := h.seen[eventKey(e)]; dup {
			continue
		}
		h.seen[eventKey(e)] = t
		h.newest = max(h.newest, t)
		h.decode(e)
	}
	for id, t := range h.seen {
		if t < h.newest-h.overlap {
			delete(h.seen, id)
		}
	}
	h.done = !nextPage(h.in, out)
	return nil
}

func (h *History) decode(e *types.FilteredLogEvent) {
	msg := []byte(aws.ToString(e.Message))
	where := aws.ToString(e.LogStreamName) + " event " + aws.ToString(e.EventId)
	if cwlogs.Truncated(msg) {
		h.skips.Report(audit.Problem{File: where, Reason: ReasonTruncated,
			Msg: fmt.Sprintf("message truncated by CloudWatch (ends in [Truncated...]), auditID %q", cwlogs.AuditID(msg))})
		return
	}
	h.dec.DecodePayload(msg, func(ev *audit.Event) {
		ev.Source = where
		h.queue = append(h.queue, ev)
	}, func(p audit.Problem) {
		// A message is one event: its name says more than a position in it.
		h.skips.Report(audit.Problem{File: where, Reason: p.Reason, Msg: p.Msg})
	})
}

// OnProblem implements source.Iterator.
func (h *History) OnProblem(fn func(audit.Problem)) { h.skips.OnProblem(fn) }

// Close ends the reading.
func (h *History) Close() error {
	h.cancel()
	return nil
}
