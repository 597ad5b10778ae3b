package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peregrine-sec/peregrine/gen"
)

// WebhookRate is the steady load of the webhook's latency run: the
// target's 50,000 events/s.
const WebhookRate = 50000

// webhookAttackShare is the attack share of the webhook's traffic: higher
// than the replays' so that nearly every batch raises an alert to time.
const webhookAttackShare = 0.01

// webhookBatchSizes are cycled through: kube-apiserver's buffered backend
// sends batches of up to 400 events.
var webhookBatchSizes = []int{100, 200, 300, 400}

// tsBase is the stageTimestamp of batch 0's first event; batch i's events
// are at tsBase + i ms + j µs, so an alert's time names its batch (as in
// source/webhook/webhooktest).
var tsBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const tsLayout = "2006-01-02T15:04:05.000000000Z" // 30 bytes, fixed width

// Webhook is sustained ingestion into a running Peregrine over loopback:
// a saturation run (Clients concurrent clients as fast as they can) and a
// steady run at RatePerSec (each POST in its own goroutine, as the
// apiserver's backend sends batches), both from pre-encoded EventList
// batches.
type Webhook struct {
	Measured bool   `json:"measured"`
	Note     string `json:"note,omitempty"`
	// Mode is "peregrine run process" (a child `peregrine run` with a
	// generated configuration) or "in process" (source/webhook/webhooktest).
	Mode       string `json:"mode,omitempty"`
	BatchSizes []int  `json:"batch_sizes,omitempty"`
	// EventsPerSec is the saturation throughput: events over the time from
	// the first POST to the last answer or alert written, whichever is later.
	EventsPerSec float64 `json:"events_per_sec,omitempty"`
	Clients      int     `json:"clients,omitempty"`
	SatEvents    int     `json:"saturated_events,omitempty"`
	SatP50Ms     float64 `json:"saturated_p50_ms,omitempty"`
	SatP99Ms     float64 `json:"saturated_p99_ms,omitempty"`
	// The steady run: RatePerSec offered, RateAchieved measured as
	// EventsPerSec is; P50Ms and P99Ms from a POST's start to the last
	// alert of its batch written, over the batches that raised one.
	RatePerSec   float64 `json:"rate_per_sec,omitempty"`
	RateAchieved float64 `json:"rate_achieved,omitempty"`
	RateEvents   int     `json:"rate_events,omitempty"`
	RateSeconds  float64 `json:"rate_seconds,omitempty"`
	P50Ms        float64 `json:"p50_ms,omitempty"`
	P99Ms        float64 `json:"p99_ms,omitempty"`
	TimedBatches int     `json:"timed_batches,omitempty"` // batches of the steady run with an alert
	Alerts       int     `json:"alerts,omitempty"`        // both runs
	// RSSBytes is the largest resident set sampled every 25 ms during the
	// steady run (VmRSS of the peregrine process, or of the bench process
	// in process); PeakRSSBytes its high-water mark (VmHWM) at the end.
	RSSBytes     int64 `json:"rss_bytes,omitempty"`
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
}

// webhookPlan sizes the two runs.
type webhookPlan struct {
	templates   int           // distinct generated events
	satBatches  int           // saturation run
	clients     int           // its concurrent clients
	rateSeconds time.Duration // steady run
}

func planFor(quick bool) webhookPlan {
	if quick {
		return webhookPlan{templates: 2000, satBatches: 160, clients: 4, rateSeconds: 600 * time.Millisecond}
	}
	return webhookPlan{templates: 20000, satBatches: 2000, clients: 4, rateSeconds: 10 * time.Second}
}

// measureWebhook runs the webhook part: against a `peregrine run` child
// when cfg.Run is set and named pipes work here, else in process.
func measureWebhook(cfg Config, _ runner, rep *Report) error {
	plan := planFor(cfg.Quick)
	events, err := webhookEvents(cfg.Seed, plan.templates)
	if err != nil {
		return err
	}
	var w Webhook
	if len(cfg.Run) > 0 {
		w, err = webhookChild(cfg, plan, events)
	} else {
		w, err = webhookInProcess(plan, events)
	}
	if err != nil {
		return err
	}
	rep.Webhook = w
	return nil
}

// webhookEvents generates n audit events, one JSON object each.
func webhookEvents(seed uint64, n int) ([][]byte, error) {
	o := gen.DefaultOptions()
	o.Seed, o.AttackShare = seed, webhookAttackShare
	g, err := gen.New(o)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, n)
	for i := range out {
		out[i], _ = g.AppendEvent(nil)
	}
	return out, nil
}

// batchBody is a pre-encoded EventList with the offsets of its events'
// stageTimestamp values, which a sender overwrites in its copy.
type batchBody struct {
	body []byte
	ts   []int
}

// encodeBatches pre-encodes count EventList bodies, cycling through the
// batch sizes and the events. Only the distinct bodies of one cycle over
// the events are kept; senders copy them and stamp the timestamps.
func encodeBatches(events [][]byte) ([]batchBody, error) {
	key := []byte(`"stageTimestamp":"`)
	placeholder := []byte(tsLayout)
	var out []batchBody
	k := 0
	for k < len(events) {
		size := webhookBatchSizes[len(out)%len(webhookBatchSizes)]
		b := batchBody{body: []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[`)}
		for j := range size {
			ev := events[(k+j)%len(events)]
			i := bytes.Index(ev, key)
			if i < 0 {
				return nil, fmt.Errorf("generated event without stageTimestamp")
			}
			i += len(key)
			end := bytes.IndexByte(ev[i:], '"')
			if end < 0 {
				return nil, fmt.Errorf("generated event with a bad stageTimestamp")
			}
			if j > 0 {
				b.body = append(b.body, ',')
			}
			b.body = append(b.body, ev[:i]...)
			b.ts = append(b.ts, len(b.body))
			b.body = append(b.body, placeholder...)
			b.body = append(b.body, ev[i+end:]...)
		}
		b.body = append(b.body, "]}"...)
		out = append(out, b)
		k += size
	}
	return out, nil
}

// stamp copies body into buf with the timestamps of batch i.
func (b batchBody) stamp(buf []byte, i int) []byte {
	buf = append(buf[:0], b.body...)
	t := tsBase.Add(time.Duration(i) * time.Millisecond)
	for j, off := range b.ts {
		t.Add(time.Duration(j)*time.Microsecond).AppendFormat(buf[off:off], tsLayout)
	}
	return buf
}

// batchOf names the batch of an alert line's "time" (the last key of
// Peregrine's JSON alert).
func batchOf(line []byte) int {
	key := []byte(`,"time":"`)
	i := bytes.LastIndex(line, key)
	if i < 0 || len(line) < i+len(key)+len(tsLayout) {
		return -1
	}
	i += len(key)
	t, err := time.Parse(time.RFC3339Nano, string(line[i:i+len(tsLayout)]))
	if err != nil {
		return -1
	}
	return int(t.Sub(tsBase) / time.Millisecond)
}

// alertClock records when the last alert of each batch was written.
type alertClock struct {
	mu    sync.Mutex
	last  []time.Time
	n     int
	lastW time.Time
}

func (c *alertClock) reset(batches int) {
	c.mu.Lock()
	c.last, c.n, c.lastW = make([]time.Time, batches), 0, time.Time{}
	c.mu.Unlock()
}

// readAlerts reads JSON alert lines from r until it fails, stamping each
// batch with the time its alert was read.
func (c *alertClock) readAlerts(r io.Reader) {
	buf := make([]byte, 1<<20)
	var pending []byte
	for {
		n, err := r.Read(buf)
		now := time.Now()
		if n > 0 {
			pending = append(pending, buf[:n]...)
			c.mu.Lock()
			for {
				nl := bytes.IndexByte(pending, '\n')
				if nl < 0 {
					break
				}
				if i := batchOf(pending[:nl]); i >= 0 && i < len(c.last) {
					c.last[i] = now
				}
				c.n++
				c.lastW = now
				pending = pending[nl+1:]
			}
			c.mu.Unlock()
			pending = append([]byte(nil), pending...)
		}
		if err != nil {
			return
		}
	}
}

func (c *alertClock) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// waitQuiet waits until no alert came for 50 ms.
func (c *alertClock) waitQuiet() {
	prev := -1
	for {
		time.Sleep(50 * time.Millisecond)
		n := c.count()
		if n == prev {
			return
		}
		prev = n
	}
}

// latencies are, for the batches from..to that raised an alert, the time
// from their POST's start to their last alert.
func (c *alertClock) latencies(sent []time.Time, from int) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for i, t := range sent {
		if w := c.last[from+i]; !w.IsZero() && !t.IsZero() {
			out = append(out, w.Sub(t))
		}
	}
	slices.Sort(out)
	return out
}

// client POSTs stamped batches to a webhook.
type client struct {
	url     string
	http    *http.Client
	batches []batchBody
	bufs    sync.Pool
}

func newClient(url string, batches []batchBody) *client {
	return &client{url: url, batches: batches,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}}
}

// post sends batch i (a global index: it names the timestamps) and
// returns its event count.
func (c *client) post(i int) (int, error) {
	b := c.batches[i%len(c.batches)]
	p, _ := c.bufs.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	*p = b.stamp(*p, i)
	defer c.bufs.Put(p)
	resp, err := c.http.Post(c.url, "application/json", bytes.NewReader(*p))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("webhook answered %s", resp.Status)
	}
	return len(b.ts), nil
}

// waitReady POSTs empty batches until the webhook answers 200.
func (c *client) waitReady(timeout time.Duration, alive func() error) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := alive(); err != nil {
			return err
		}
		resp, err := c.http.Post(c.url, "application/json", bytes.NewReader([]byte(`{"kind":"EventList","items":[]}`)))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("webhook %s not ready after %v", c.url, timeout)
}

// phase is one run's outcome.
type phase struct {
	events   int
	elapsed  time.Duration
	p50, p99 time.Duration
	timed    int
}

func (p phase) perSec() float64 { return float64(p.events) / p.elapsed.Seconds() }

// run sends batches from..from+n: with conc clients as fast as they can
// (rate 0), or each at its time for rate events/s. It then waits until
// the alerts stopped coming.
func (c *client) run(clock *alertClock, from, n, conc int, rate float64) (phase, error) {
	sent := make([]time.Time, n)
	var events atomic.Int64
	var lastAnswer atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	send := func(k int) {
		sent[k] = time.Now()
		m, err := c.post(from + k)
		if err != nil {
			errOnce.Do(func() { firstErr = err })
			return
		}
		events.Add(int64(m))
		lastAnswer.Store(time.Now().UnixNano())
	}
	start := time.Now()
	var schedule time.Duration // the steady run's length as planned
	if rate > 0 {
		at := start
		for k := range n {
			time.Sleep(time.Until(at))
			wg.Add(1)
			go func() { defer wg.Done(); send(k) }()
			at = at.Add(time.Duration(float64(len(c.batches[(from+k)%len(c.batches)].ts)) / rate * float64(time.Second)))
		}
		schedule = at.Sub(start)
	} else {
		var next atomic.Int64
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k := int(next.Add(1) - 1)
					if k >= n {
						return
					}
					send(k)
				}
			}()
		}
	}
	wg.Wait()
	if firstErr != nil {
		return phase{}, firstErr
	}
	clock.waitQuiet()
	end := time.Unix(0, lastAnswer.Load())
	clock.mu.Lock()
	if clock.lastW.After(end) {
		end = clock.lastW
	}
	clock.mu.Unlock()
	p := phase{events: int(events.Load()), elapsed: max(end.Sub(start), schedule)}
	if lat := clock.latencies(sent, from); len(lat) > 0 {
		p.timed = len(lat)
		p.p50, p.p99 = lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return p, nil
}

// rssSampler records the largest VmRSS of a /proc status file.
type rssSampler struct {
	stop chan struct{}
	done chan int64
}

func sampleRSS(status string) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(25 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, procKB(readFile(status), "VmRSS:"))
			select {
			case <-s.stop:
				s.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) end() int64 { close(s.stop); return <-s.done }

// measure runs the saturation run, then the steady run, against c, whose
// alerts arrive in clock, sampling the RSS of status during the steady
// run.
func (plan webhookPlan) measure(c *client, clock *alertClock, status string) (Webhook, error) {
	rateBatches := 0
	for evs := 0; time.Duration(float64(evs)/WebhookRate*float64(time.Second)) < plan.rateSeconds; rateBatches++ {
		evs += len(c.batches[(plan.satBatches+rateBatches)%len(c.batches)].ts)
	}
	clock.reset(plan.satBatches + rateBatches)
	w := Webhook{Measured: true, BatchSizes: webhookBatchSizes, Clients: plan.clients, RatePerSec: WebhookRate}
	sat, err := c.run(clock, 0, plan.satBatches, plan.clients, 0)
	if err != nil {
		return w, fmt.Errorf("saturation run: %w", err)
	}
	w.EventsPerSec, w.SatEvents, w.SatP50Ms, w.SatP99Ms = sat.perSec(), sat.events, ms(sat.p50), ms(sat.p99)
	rss := sampleRSS(status)
	steady, err := c.run(clock, plan.satBatches, rateBatches, 0, WebhookRate)
	w.RSSBytes = rss.end()
	if err != nil {
		return w, fmt.Errorf("steady run: %w", err)
	}
	w.PeakRSSBytes = procKB(readFile(status), "VmHWM:")
	w.RateAchieved, w.RateEvents, w.RateSeconds = steady.perSec(), steady.events, steady.elapsed.Seconds()
	w.P50Ms, w.P99Ms, w.TimedBatches = ms(steady.p50), ms(steady.p99), steady.timed
	w.Alerts = clock.count()
	return w, nil
}
