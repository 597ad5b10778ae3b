package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/eks/cwlogs"
)

// Amazon Data Firehose's HTTP endpoint destination, fed by a CloudWatch
// Logs subscription filter on an EKS cluster's log group, POSTs batches
// of gzip'd subscription messages
// (https://docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html).
// Its events take the webhook's way: the same spool, the same delivery
// contract. What Firehose does with answers is documented, not measured:
// only 200 is success; every other code is retried with backoff for the
// stream's retry duration (then the batch goes to the S3 backup), except
// 413, which is final. Every answer is JSON {"requestId","timestamp"}
// (plus "errorMessage"), or Firehose counts it a 500. Firehose cannot
// resend one record, so a record that cannot be read is counted and
// skipped and the rest of the request is accepted; only a body that is no
// delivery request at all gets 400.

// firehoseMetrics count the Firehose path's requests and records.
type firehoseMetrics struct {
	requests, records *prometheus.CounterVec // code, kind
}

func newFirehoseMetrics(h *Handler) *firehoseMetrics {
	r, name := h.o.Metrics.Registry, prometheus.Labels{"source": h.o.Name}
	return &firehoseMetrics{
		requests: metrics.Register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peregrine_firehose_requests_total", Help: "Firehose HTTP endpoint deliveries answered, by status code.",
		}, []string{"source", "code"})).MustCurryWith(name),
		records: metrics.Register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peregrine_firehose_records_total",
			Help: "Firehose records by kind: data (audit log events), control (CloudWatch Logs health checks, dropped), other (other log streams, dropped), malformed (skipped).",
		}, []string{"source", "kind"})).MustCurryWith(name),
	}
}

// Firehose is the handler of Options.FirehosePath.
func (h *Handler) Firehose() http.Handler { return http.HandlerFunc(h.serveFirehose) }

func (h *Handler) serveFirehose(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Amz-Firehose-Request-Id")
	a := h.firehose(w, r, &id)
	if a.retry {
		w.Header().Set("Retry-After", strconv.Itoa(h.o.RetryAfter))
	}
	msg := ""
	if a.code != http.StatusOK {
		msg = a.msg
	}
	// Resending a refused delivery will not help: after its retries
	// Firehose puts the batch in the stream's S3 backup (413: at once).
	h.refused(r, a, "request_id", id)
	body := cwlogs.FirehoseAnswer(id, msg, time.Now())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(a.code)
	w.Write(body)
	h.fh.requests.WithLabelValues(strconv.Itoa(a.code)).Inc()
	h.latency.Observe(time.Since(start).Seconds())
}

func (h *Handler) firehose(w http.ResponseWriter, r *http.Request, id *string) answer {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return answer{code: http.StatusMethodNotAllowed, msg: r.Method + " method not allowed"}
	}
	if !h.firehoseAuthenticated(r) {
		// A request, not events read: counted in skipped, not received.
		h.skip("unauthorized", 1)
		return answer{code: http.StatusUnauthorized, msg: "unauthorized: wrong or missing X-Amz-Firehose-Access-Key"}
	}
	return h.post(r, func(p source.Pipeline, body []byte) answer {
		b, err := h.firehoseBatch(body, id)
		switch {
		case errors.Is(err, cwlogs.ErrTooLarge):
			return refuse(http.StatusRequestEntityTooLarge, audit.ReasonTooLarge, err.Error()+" (webhookMaxBatchSize)", int64(len(body)))
		case err != nil:
			return refuse(http.StatusBadRequest, audit.ReasonMalformed, "bad request: "+err.Error(), int64(len(body)))
		}
		return h.deliverFirehose(r.Context(), p, b)
	})
}

// firehoseAuthenticated compares the access key in constant time (of
// equal-length digests, so that not even its length leaks).
func (h *Handler) firehoseAuthenticated(r *http.Request) bool {
	if h.o.FirehoseAccessKey == "" {
		return true
	}
	got := sha256.Sum256([]byte(r.Header.Get("X-Amz-Firehose-Access-Key")))
	want := sha256.Sum256([]byte(h.o.FirehoseAccessKey))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// clusterEvents are a delivery's events of one cluster: one spool record.
type clusterEvents struct {
	cluster string
	events  []*audit.Event
}

// firehoseBatch decodes a delivery into events by cluster (the log
// group's, else init_config.cluster_name) and counts what it skipped.
func (h *Handler) firehoseBatch(body []byte, id *string) ([]clusterEvents, error) {
	var groups []clusterEvents
	skipped, first := map[string]int{}, ""
	opts := audit.Options{MaxEventSize: h.o.MaxEventSize, MaxDocSize: h.o.MaxBatchSize}
	bodyID, err := cwlogs.DecodeFirehose(body, h.o.MaxBatchSize, cwlogs.FirehoseVisitor{
		Record: func(kind, problem string) {
			h.fh.records.WithLabelValues(kind).Inc()
			if kind == cwlogs.KindMalformed {
				skipped[audit.ReasonMalformed]++
				first = cmp.Or(first, problem)
			}
		},
		Message: func(msg []byte, cluster string) {
			cluster = cmp.Or(h.o.Cluster, cluster) // cluster_name first, else the log group's
			if len(groups) == 0 || groups[len(groups)-1].cluster != cluster {
				groups = append(groups, clusterEvents{cluster: cluster})
			}
			g := &groups[len(groups)-1]
			opts.Cluster = cluster
			opts.DecodePayload(msg, func(e *audit.Event) { g.events = append(g.events, e) },
				func(p audit.Problem) { skipped[p.Reason]++ })
		},
		Skip: func(reason, _ string) { skipped[reason]++ },
	})
	if *id == "" {
		*id = bodyID
	}
	if err != nil {
		return nil, err
	}
	h.countFirehose(groups, skipped, *id, first)
	return groups, nil
}

// countFirehose counts a delivery's events as the webhook counts a
// batch's (a malformed record counts as one, in received too), and logs
// what was skipped (reasons only: never event text).
func (h *Handler) countFirehose(groups []clusterEvents, skipped map[string]int, id, problem string) {
	n := 0
	for _, g := range groups {
		n += len(g.events)
	}
	h.countAccepted(n, skipped)
	if len(skipped) > 0 {
		h.logs.Warn(h.o.Log, "firehose skipped", "Firehose records or log events skipped; the rest of the request is accepted",
			"source", h.o.Name, "request_id", id, "skipped", skipped, "first_malformed_record", problem)
	}
}

// deliverFirehose makes the events durable, one spool record per cluster
// in the webhook's format (a JSON array of the events), or evaluates them.
// A spool failure after a first record makes Firehose resend the request:
// its first records' events come twice (at least once, never lost).
func (h *Handler) deliverFirehose(ctx context.Context, p source.Pipeline, groups []clusterEvents) answer {
	if h.o.Spool == nil {
		var all []*audit.Event
		for _, g := range groups {
			all = append(all, g.events...)
		}
		return h.evaluate(ctx, p, all)
	}
	for _, g := range groups {
		if len(g.events) == 0 {
			continue
		}
		if a := h.appendSpool(g.cluster, eventArray(g.events)); a.code != http.StatusOK {
			return a
		}
	}
	return answerOK
}

// eventArray is events as one JSON array of their bytes, exactly as received.
func eventArray(events []*audit.Event) []byte {
	n := 2
	for _, e := range events {
		n += len(e.Raw) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, n))
	b.WriteByte('[')
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e.Raw)
	}
	b.WriteByte(']')
	return b.Bytes()
}
