package webhook

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/internal/logbudget"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/spool"
)

// Handler receives audit POSTs. It is an http.Handler, to mount on any
// server (its own Server, or the webserver for the legacy endpoint), and
// a source.Source, whose Run feeds the pipeline from the spool.
type Handler struct {
	o       Options
	pipe    atomic.Pointer[pipeRef]
	bufs    sync.Pool // *[]byte request bodies
	gzips   sync.Pool // *gzip.Reader
	latency prometheus.Observer
	clock   *metrics.SourceClock
	codes   sync.Map      // status code -> prometheus.Counter
	slots   chan struct{} // one per POST in flight (MaxInFlight)
	fh      *firehoseMetrics
	logs    *logbudget.Budget // refused bodies and dropped events
}

// DefaultMaxInFlight is how many POSTs a webhook handles at once by
// default: far above what kube-apiserver sends (it posts batches one at a
// time per backend), low enough that their bodies fit in memory.
const DefaultMaxInFlight = 64

type pipeRef struct{ p source.Pipeline }

// maxPooled is the largest body buffer kept for reuse; larger ones (rare
// huge batches) are left to the garbage collector.
const maxPooled = 8 << 20

// New returns a handler; it answers 503 until Run gives it a pipeline.
func New(o Options) *Handler {
	if o.MaxEventSize <= 0 {
		o.MaxEventSize = audit.DefaultMaxEventSize
	}
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = audit.DefaultMaxDocSize
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 1
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	h := &Handler{
		o:       o,
		latency: o.Metrics.WebhookLatency.WithLabelValues(o.Name),
		slots:   make(chan struct{}, o.MaxInFlight),
		clock:   o.Metrics.Source(o.Name),
		logs:    &logbudget.Budget{Burst: 3, Window: 10 * time.Second},
	}
	if o.FirehosePath != "" {
		h.fh = newFirehoseMetrics(h)
	}
	return h
}

// Routes mounts the handler on mux: Path, Path/<cluster>, and the
// Firehose path when set.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle(h.o.Path, h)
	if !strings.HasSuffix(h.o.Path, "/") {
		mux.Handle(h.o.Path+"/", h) // /k8s-audit/<cluster>
	}
	if h.o.FirehosePath != "" {
		mux.Handle(h.o.FirehosePath, h.Firehose())
	}
}

// Name implements source.Source.
func (h *Handler) Name() string { return h.o.Name }

// ServeHTTP answers one POST and records its code and latency.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := h.serve(w, r)
	h.counter(code).Inc()
	h.latency.Observe(time.Since(start).Seconds())
}

func (h *Handler) counter(code int) prometheus.Counter {
	if c, ok := h.codes.Load(code); ok {
		return c.(prometheus.Counter)
	}
	c := h.o.Metrics.WebhookRequests.WithLabelValues(h.o.Name, strconv.Itoa(code))
	h.codes.Store(code, c)
	return c
}

func reply(w http.ResponseWriter, code int, msg string) int {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
	return code
}

// answer is the verdict on a POST, which each path writes in its format.
type answer struct {
	code   int
	msg    string
	retry  bool   // Retry-After: the client should come back
	reason string // a body refused for good: its skip reason (refuse)
	size   int64  // and its size, for the log
}

// refuse is the answer to a body refused for good (400, 413, 415): a
// resend of the same bytes gets the same answer, so the sender drops the
// batch after its retries. size is the body's length when it was read
// whole, else its Content-Length (-1: not sent).
func refuse(code int, reason, msg string, size int64) answer {
	return answer{code: code, msg: msg, reason: reason, size: size}
}

var answerOK = answer{code: http.StatusOK, msg: "ok"}

func (h *Handler) replyText(w http.ResponseWriter, a answer) int {
	if a.retry {
		w.Header().Set("Retry-After", strconv.Itoa(h.o.RetryAfter))
	}
	return reply(w, a.code, a.msg)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) int {
	pathCluster, ok := h.o.pathCluster(r.URL.Path)
	if !ok {
		return reply(w, http.StatusNotFound, "not found: the webhook takes "+h.o.Path+" and "+
			strings.TrimSuffix(h.o.Path, "/")+"/<cluster>, one path segment")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return reply(w, http.StatusMethodNotAllowed, r.Method+" method not allowed")
	}
	tokCluster, ok := h.o.authenticate(r)
	if !ok {
		// A request, not events read: counted in skipped, not received.
		h.skip("unauthorized", 1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="peregrine"`)
		return reply(w, http.StatusUnauthorized, "unauthorized")
	}
	a := h.post(r, func(p source.Pipeline, body []byte) answer {
		if len(bytes.TrimSpace(body)) == 0 {
			// kube-apiserver never sends one: a sender that does is
			// misconfigured, and a 200 would hide it.
			return refuse(http.StatusBadRequest, audit.ReasonMalformed, "bad request: empty body: no audit events", int64(len(body)))
		}
		cluster := cmp.Or(h.o.Cluster, tokCluster, pathCluster) // DESIGN: cluster_name first
		events, bad := h.decode(body, cluster, true)
		if bad != nil {
			return refuse(http.StatusBadRequest, bad.Reason, "bad request: "+bad.Error(), int64(len(body)))
		}
		if h.o.Spool != nil {
			return h.appendSpool(cluster, body)
		}
		return h.evaluate(r.Context(), p, events)
	})
	h.refused(r, a)
	return h.replyText(w, a)
}

// refused counts and logs a body refused for good: as one in skipped and
// one in received (its events are unknown), so that received, "decoded or
// skipped", is never below skipped. It does not move the source's
// last-received time: the silence alert is about audit events, and a
// sender of nothing else is as good as silent. The log line names the
// sender and the size, never the body, and is bounded per reason: the
// data is lost, so it must be seen, but a flood of bad POSTs must not
// flood the log.
func (h *Handler) refused(r *http.Request, a answer, args ...any) {
	if a.reason == "" {
		return
	}
	h.skip(a.reason, 1)
	h.received(1)
	args = append([]any{"source", h.o.Name, "code", a.code, "reason", a.reason,
		"bytes", a.size, "remote_addr", r.RemoteAddr, "problem", a.msg}, args...)
	h.logs.Warn(h.o.Log, "refused "+a.reason, "batch refused; the sender drops it after its retries", args...)
}

// post does what every POST shares once authenticated: the in-flight
// bound, waiting for the pipeline, reading the body; handle takes it from
// there (the body's buffer is reused once it returns).
func (h *Handler) post(r *http.Request, handle func(p source.Pipeline, body []byte) answer) answer {
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		return answer{code: http.StatusTooManyRequests, msg: "too many requests in flight", retry: true}
	}
	ref := h.pipe.Load()
	if ref == nil {
		// Retry-After makes the apiserver retry (SuggestsClientDelay).
		return answer{code: http.StatusServiceUnavailable, msg: "not ready", retry: true}
	}
	bp, a := h.readBody(r)
	if a.code != 0 {
		return a
	}
	defer h.putBuf(bp)
	return handle(ref.p, *bp)
}

// readBody reads the (possibly gzip-compressed) body into a pooled
// buffer, refusing bodies over the batch limit and bodies it cannot read
// (answer.code is 0 when it read one).
func (h *Handler) readBody(r *http.Request) (*[]byte, answer) {
	max, size := int64(h.o.MaxBatchSize), r.ContentLength
	if size > max {
		return nil, refuse(http.StatusRequestEntityTooLarge, audit.ReasonTooLarge,
			fmt.Sprintf("body of %d bytes is over the %d-byte limit (webhookMaxBatchSize)", size, max), size)
	}
	var src io.Reader = r.Body
	if enc := r.Header.Get("Content-Encoding"); strings.EqualFold(enc, "gzip") {
		zr, err := h.gzipReader(r.Body)
		if err != nil {
			return nil, refuse(http.StatusBadRequest, audit.ReasonMalformed, "bad request: gzip: "+err.Error(), size)
		}
		defer h.gzips.Put(zr)
		src = zr
	} else if enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, refuse(http.StatusUnsupportedMediaType, audit.ReasonMalformed, "unsupported Content-Encoding "+strconv.Quote(enc), size)
	}
	bp := h.getBuf()
	b := bytes.NewBuffer((*bp)[:0])
	_, err := b.ReadFrom(io.LimitReader(src, max+1))
	*bp = b.Bytes()
	switch {
	case err != nil:
		h.putBuf(bp)
		return nil, refuse(http.StatusBadRequest, audit.ReasonMalformed, "bad request: reading body: "+err.Error(), size)
	case int64(len(*bp)) > max:
		h.putBuf(bp)
		return nil, refuse(http.StatusRequestEntityTooLarge, audit.ReasonTooLarge,
			fmt.Sprintf("body is over the %d-byte limit (webhookMaxBatchSize)", max), size)
	}
	return bp, answer{}
}

func (h *Handler) gzipReader(r io.Reader) (*gzip.Reader, error) {
	if zr, ok := h.gzips.Get().(*gzip.Reader); ok {
		return zr, zr.Reset(r)
	}
	return gzip.NewReader(r)
}

func (h *Handler) getBuf() *[]byte {
	if bp, ok := h.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

func (h *Handler) putBuf(bp *[]byte) {
	if bp != nil && cap(*bp) <= maxPooled {
		*bp = (*bp)[:0]
		h.bufs.Put(bp)
	}
}

// decode turns a body into events. A body that is not audit data (not
// JSON, or JSON of another kind) is refused whole: bad is its first such
// problem, which the caller counts (refuse). Single events that are too
// large or have no stageTimestamp are dropped and, when count is set (the
// first decoding of a body), counted.
func (h *Handler) decode(body []byte, cluster string, count bool) ([]*audit.Event, *audit.Problem) {
	var events []*audit.Event
	var bad *audit.Problem
	skipped := map[string]int{}
	opts := audit.Options{MaxEventSize: h.o.MaxEventSize, MaxDocSize: h.o.MaxBatchSize, Cluster: cluster}
	opts.DecodePayload(body, func(e *audit.Event) { events = append(events, e) }, func(p audit.Problem) {
		switch p.Reason {
		case audit.ReasonMalformed, audit.ReasonNotAudit:
			if bad == nil {
				bad = &p
			}
		default:
			skipped[p.Reason]++
		}
	})
	if bad != nil {
		return nil, bad
	}
	if count {
		h.countBatch(len(events), skipped)
	}
	return events, nil
}

// countBatch counts an accepted batch's events, decoded or dropped.
func (h *Handler) countBatch(decoded int, skipped map[string]int) {
	h.countAccepted(decoded, skipped)
	if k := skipped[audit.ReasonTooLarge]; k > 0 {
		h.logs.Warn(h.o.Log, "events too-large", "events over maxEventSize dropped; the rest of the batch is accepted",
			"source", h.o.Name, "count", k, "max_event_size", h.o.MaxEventSize)
	}
}

// countAccepted counts what an accepted request held: the events decoded
// and those skipped, by reason, all of them received.
func (h *Handler) countAccepted(decoded int, skipped map[string]int) {
	n := decoded
	for reason, k := range skipped {
		h.skip(reason, k)
		n += k
	}
	if n > 0 {
		h.received(n)
		h.clock.Received(time.Now())
	}
}

func (h *Handler) skip(reason string, n int) {
	h.o.Metrics.EventsSkipped.WithLabelValues(h.o.Name, reason).Add(float64(n))
}

// received counts events received, decoded or skipped.
func (h *Handler) received(n int) {
	h.o.Metrics.EventsReceived.WithLabelValues(h.o.Name).Add(float64(n))
}

// evaluate submits the events and answers once they were evaluated and
// their alerts queued (no spool: the alerts still in the queues are lost
// if the process dies now; DAEMON.md states that window).
func (h *Handler) evaluate(ctx context.Context, p source.Pipeline, events []*audit.Event) answer {
	if len(events) == 0 {
		return answerOK
	}
	b := source.NewBatch(h.o.Name, events)
	queued := make(chan struct{})
	b.Queued = func() { close(queued) }
	if err := p.Submit(ctx, b); err != nil {
		return answer{code: http.StatusServiceUnavailable, msg: "shutting down", retry: true}
	}
	<-queued
	return answerOK
}

// appendSpool makes a body durable; the Run loop evaluates it.
func (h *Handler) appendSpool(cluster string, body []byte) answer {
	var head [2]byte
	binary.LittleEndian.PutUint16(head[:], uint16(len(cluster)))
	err := h.o.Spool.Append(head[:], []byte(cluster), body)
	h.o.Metrics.SpoolBytes.WithLabelValues(h.o.Name).Set(float64(h.o.Spool.Pending()))
	switch {
	case errors.Is(err, spool.ErrFull):
		// 429 with Retry-After: the apiserver's webhook backend retries
		// both (IsTooManyRequests, SuggestsClientDelay).
		return answer{code: http.StatusTooManyRequests, msg: "spool full", retry: true}
	case err != nil:
		h.o.Log.Error("spool write failed", "source", h.o.Name, "err", err)
		// 500 is retried by the apiserver (IsInternalError).
		return answer{code: http.StatusInternalServerError, msg: "spool write failed"}
	}
	return answerOK
}

// Run gives the handler its pipeline and, with a spool, feeds the
// pipeline from it until ctx ends.
func (h *Handler) Run(ctx context.Context, p source.Pipeline) error {
	h.pipe.Store(&pipeRef{p})
	if h.o.Spool == nil {
		<-ctx.Done()
		return nil
	}
	return h.drainSpool(ctx, p)
}

// drainSpool reads spooled bodies in order and submits them; each
// record's sequence number is committed (acknowledged in the spool) once
// its alerts were delivered.
func (h *Handler) drainSpool(ctx context.Context, p source.Pipeline) error {
	sp := h.o.Spool
	tr := source.NewTracker(func(seq uint64) {
		sp.Ack(seq)
		h.o.Metrics.SpoolBytes.WithLabelValues(h.o.Name).Set(float64(sp.Pending()))
	})
	for {
		bp := h.getBuf()
		seq, rec, err := sp.Next(ctx, *bp)
		*bp = rec
		if err != nil {
			h.putBuf(bp)
			if ctx.Err() != nil || errors.Is(err, spool.ErrClosed) {
				return nil
			}
			return err
		}
		b := h.spooledBatch(rec, bp)
		tr.Track(b, seq)
		if err := p.Submit(ctx, b); err != nil {
			tr.Forget(b)
			h.putBuf(bp)
			return nil
		}
	}
}

func (h *Handler) spooledBatch(rec []byte, bp *[]byte) *source.Batch {
	n := int(binary.LittleEndian.Uint16(rec))
	cluster, body := string(rec[2:2+n]), rec[2+n:]
	events, _ := h.decode(body, cluster, false)
	b := source.NewBatch(h.o.Name, events)
	b.Queued = func() { h.putBuf(bp) } // events are evaluated: their bytes may go
	return b
}

// Close closes the spool, saving its acknowledged position.
func (h *Handler) Close() error {
	if h.o.Spool != nil {
		return h.o.Spool.Close()
	}
	return nil
}
