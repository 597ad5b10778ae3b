package eks

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/source/eks/ekstest"
)

// TestSourceReadsOnce runs the source over events already in CloudWatch
// and checks each is evaluated exactly once, across pages and polls.
func TestSourceReadsOnce(t *testing.T) {
	tests := []struct {
		name   string
		events []ekstest.Event
		setup  func(h *harness)
		want   []string
		check  func(t *testing.T, h *harness)
	}{
		{name: "pages", events: spread("a", 10, time.Second), want: names("a", 10)},
		{name: "one millisecond across pages", events: spread("m", 7, 0), want: names("m", 7)},
		{
			name:   "throttled and failing requests are retried",
			events: spread("r", 4, time.Second), want: names("r", 4),
			setup: func(h *harness) {
				h.srv.Fail("ThrottlingException", "LimitExceededException", "503", "drop", "ResourceNotFoundException")
			},
			check: func(t *testing.T, h *harness) {
				if n := h.counter("peregrine_cloudwatch_throttles_total"); n != 2 {
					t.Errorf("throttles = %v, want 2", n)
				}
				if n := h.counter("peregrine_cloudwatch_api_errors_total", "transient"); n != 2 {
					t.Errorf("transient errors = %v, want 2 (503, dropped connection)", n)
				}
				if n := h.counter("peregrine_cloudwatch_api_errors_total", "other"); n != 1 {
					t.Errorf("other errors = %v, want 1", n)
				}
			},
		},
		{
			name: "truncated messages are skipped once",
			events: append(spread("t", 2, time.Second), ekstest.Event{Group: group, Stream: "kube-apiserver-audit-1",
				Time: ms(3 * time.Second), Message: `{"kind":"Event","auditID":"big","requestObject":{"x":"[Truncated...]`}),
			want: names("t", 2),
			check: func(t *testing.T, h *harness) {
				if n := h.counter("peregrine_events_skipped_total", "truncated"); n != 1 {
					t.Errorf("skipped truncated = %v, want 1", n)
				}
				if n := h.counter("peregrine_events_received_total"); n != 3 {
					t.Errorf("received = %v, want 3", n)
				}
			},
		},
		{name: "events before now minus shift are not read", events: append(spread("s", 2, time.Second), logEvent("old", ms(-2*time.Hour), 0)), want: names("s", 2)},
		{
			name: "other streams are not read", want: names("k", 1),
			events: append(spread("k", 1, time.Second), ekstest.Event{Group: group, Stream: "authenticator-abc", Time: ms(time.Second), Message: auditEvent("auth", ms(time.Second))}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.srv.Add(tt.events...)
			if tt.setup != nil {
				tt.setup(h)
			}
			h.start()
			exactlyOnce(t, h.waitEvaluated(len(tt.want)), tt.want...)
			for _, c := range h.p.clusters {
				if c != "my-cluster" {
					t.Fatalf("event cluster %q, want open_params my-cluster", c)
				}
			}
			checkRequests(t, h.srv.Requests())
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
}

// spread makes n events prefix0.. prefix(n-1), step apart from t0+1s.
func spread(prefix string, n int, step time.Duration) []ekstest.Event {
	var evs []ekstest.Event
	for i := range n {
		at := ms(time.Second + time.Duration(i)*step)
		evs = append(evs, logEvent(fmt.Sprintf("%s%d", prefix, i), at, 0))
	}
	return evs
}

func names(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// checkRequests checks every request reads the cluster's audit streams.
func checkRequests(t *testing.T, reqs []ekstest.Request) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatal("no requests")
	}
	for _, r := range reqs {
		if r.LogGroupName != group || r.LogStreamNamePrefix != "kube-apiserver-audit" || r.StartTime == nil {
			t.Fatalf("request %+v: want group %s, prefix kube-apiserver-audit and a startTime", r, group)
		}
		if *r.StartTime < ms(-time.Hour) {
			t.Fatalf("request starts at %v, before now minus shift", time.UnixMilli(*r.StartTime).UTC())
		}
	}
}

// TestLateArrivals: events CloudWatch shows after newer ones (also in the
// newest one's millisecond, and later than the overlap) are read once.
func TestLateArrivals(t *testing.T) {
	h := newHarness(t)
	h.srv.SetNow(ms(10 * time.Second))
	h.srv.Add(
		logEvent("a", ms(1*time.Second), 0),
		logEvent("b", ms(2*time.Second), 0),
		logEvent("late", ms(1500*time.Millisecond), ms(20*time.Second)),
		logEvent("same-ms", ms(2*time.Second), ms(20*time.Second)),
		logEvent("very-late", ms(1700*time.Millisecond), ms(1700*time.Millisecond+6*time.Minute)),
	)
	h.start()
	exactlyOnce(t, h.waitEvaluated(2), "a", "b")
	h.srv.SetNow(ms(10 * time.Minute))
	exactlyOnce(t, h.waitEvaluated(5), "a", "b", "late", "same-ms", "very-late")
	if n := h.counter("peregrine_cloudwatch_recovered_events_total"); n != 2 {
		t.Errorf("recovered = %v, want 2 (late, very-late)", n)
	}
	if n := h.counter("peregrine_cloudwatch_late_events_total"); n != 1 {
		t.Errorf("late beyond the overlap = %v, want 1", n)
	}
	if n := h.counter("peregrine_cloudwatch_duplicates_total"); n == 0 {
		t.Error("no re-read was counted as a duplicate")
	}
}

// TestDuplicateAcrossPages: an event turning visible behind the cursor
// during a pagination shifts the pages, so the next page repeats one.
func TestDuplicateAcrossPages(t *testing.T) {
	h := newHarness(t)
	h.srv.SetNow(ms(10 * time.Second))
	h.srv.Add(spread("p", 6, time.Second)...)
	h.srv.Add(logEvent("behind", ms(1500*time.Millisecond), ms(15*time.Second)))
	shown := false
	h.srv.BeforeAnswer = func(r ekstest.Request) {
		if r.NextToken != "" && !shown {
			shown = true
			h.srv.SetNow(ms(20 * time.Second))
		}
	}
	h.start()
	exactlyOnce(t, h.waitEvaluated(7), append(names("p", 6), "behind")...)
}

// TestRestart: a graceful stop saves the position; the next start reads
// on from it, finds late events behind it and repeats nothing.
func TestRestart(t *testing.T) {
	h := newHarness(t)
	h.srv.SetNow(ms(10 * time.Second))
	h.srv.Add(spread("a", 4, time.Second)...) // a0..a3 at 1s..4s
	h.srv.Add(logEvent("same-ms", ms(4*time.Second), ms(30*time.Second)), logEvent("late", ms(2500*time.Millisecond), ms(30*time.Second)))
	h.start()
	h.waitEvaluated(4)
	h.stop()

	cp, err := LoadCheckpoint(h.o.Checkpoint)
	if err != nil || cp == nil {
		t.Fatalf("checkpoint: %v, %v", cp, err)
	}
	if cp.LogGroup != group || cp.Timestamp != ms(4*time.Second) || len(cp.Seen) != 4 {
		t.Fatalf("checkpoint %+v: want timestamp %d and the ids of 4 timestamps", cp, ms(4*time.Second))
	}
	if last := cp.Seen[len(cp.Seen)-1]; last.Timestamp != cp.Timestamp || len(last.IDs) != 1 {
		t.Fatalf("checkpoint's ids at its timestamp: %+v", last)
	}

	h.srv.SetNow(ms(time.Minute))
	h.srv.Add(logEvent("new", ms(50*time.Second), 0))
	h.clk.advance(time.Minute)
	h.start()
	exactlyOnce(t, h.waitEvaluated(7), append(names("a", 4), "same-ms", "late", "new")...)
}

// TestCrash: batches not delivered when the process dies are read again
// after the restart (at least once); delivered ones are not, even when a
// later batch was read before an earlier one was delivered.
func TestCrash(t *testing.T) {
	h := newHarness(t)
	h.p.hold.Store(true) // outputs hold every batch until released
	h.srv.Add(spread("a", 3, time.Second)...)
	h.start()
	h.waitEvaluated(3)
	h.srv.Add(logEvent("b0", ms(10*time.Second), 0), logEvent("b1", ms(11*time.Second), 0))
	h.waitEvaluated(5)
	h.p.held[0].Release() // the a batch is delivered, the b batch is not
	h.waitCheckpoint(3)   // the saver wrote it
	// A kill: Run ends, Close never runs.
	h.cancel()
	<-h.done
	h.cancel = nil

	h.p = &pipe{}
	h.start()
	exactlyOnce(t, h.waitEvaluated(2), "b0", "b1")
}

// TestClusterName: init_config.cluster_name names the events' cluster.
func TestClusterName(t *testing.T) {
	h := newHarness(t)
	h.o.Config.ClusterName = "prod"
	h.srv.Add(spread("c", 1, 0)...)
	h.start()
	h.waitEvaluated(1)
	if got := strings.Join(h.p.clusters, ","); got != "prod" {
		t.Fatalf("clusters %q, want prod", got)
	}
}

// TestNewCheckpointWithoutEvents: a start saves its position even when
// nothing was read, so a restart after a quiet spell starts there.
func TestNewCheckpointWithoutEvents(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.waitPolls(2)
	h.stop()
	h.srv.Add(logEvent("while-down", ms(30*time.Minute), 0))
	h.clk.advance(2 * time.Hour) // now minus shift is past the event
	h.start()
	exactlyOnce(t, h.waitEvaluated(1), "while-down")
	if reqs := h.srv.Requests(); !slices.ContainsFunc(reqs, func(r ekstest.Request) bool { return *r.StartTime == ms(-time.Hour) }) {
		t.Fatalf("no request resumed at the first start's now minus shift")
	}
}
