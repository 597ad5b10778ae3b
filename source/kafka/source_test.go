package kafka

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = auditEvent(fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

// TestCommitsOnlyAfterDelivery evaluates events while their batches stay
// held (an output has not taken their alerts): nothing is committed until
// they are released, then each partition's end is.
func TestCommitsOnlyAfterDelivery(t *testing.T) {
	c := newCluster(t, 3)
	for p := range int32(3) {
		produce(t, c, p, ids(fmt.Sprint("p", p), 5)...)
	}
	pl := newPipeline(0)
	pl.hold = true
	s := newSource(t, c, nil)
	r := start(s, pl.as("a"))
	defer r.stop(t, nil)
	eventually(t, "15 events evaluated", 10*time.Second, func() bool { n, _ := pl.count(); return n == 15 })
	time.Sleep(100 * time.Millisecond) // several commit intervals
	if got := committed(c, "g"); len(got) != 0 {
		t.Fatalf("committed %v before the outputs released the batches", got)
	}
	lag := func(p string) float64 { return testutil.ToFloat64(s.km.lag.WithLabelValues("kafka", topic, p)) }
	if l := lag("1"); l != 5 {
		t.Errorf("consumer lag %v while held, want 5", l)
	}
	pl.release()
	want := map[int32]int64{0: 5, 1: 5, 2: 5}
	eventually(t, "commits of every partition's end", 5*time.Second, func() bool { return maps.Equal(committed(c, "g"), want) })
	eventually(t, "lag 0", 5*time.Second, func() bool { return lag("1") == 0 })
}

// TestRestartResumesFromCommit stops a source gracefully and starts a new
// one in the same group: it reads only what came after, nothing twice.
func TestRestartResumesFromCommit(t *testing.T) {
	c := newCluster(t, 2)
	produce(t, c, 0, ids("first0", 5)...)
	produce(t, c, 1, ids("first1", 5)...)
	pl := newPipeline(time.Millisecond)
	r := start(newSource(t, c, nil), pl.as("a"))
	eventually(t, "first 10", 10*time.Second, func() bool { n, _ := pl.count(); return n == 10 })
	r.stop(t, drained(t, r.s))

	// Both partitions have a commit now: start_offset no longer applies.
	produce(t, c, 0, ids("second0", 5)...)
	produce(t, c, 1, ids("second1", 5)...)
	r = start(newSource(t, c, map[string]any{"start_offset": "latest"}), pl.as("b"))
	defer r.stop(t, nil)
	eventually(t, "second 10", 10*time.Second, func() bool { n, _ := pl.count(); return n == 20 })
	time.Sleep(50 * time.Millisecond)
	if d := pl.duplicates(); len(d) > 0 {
		t.Fatalf("evaluated twice after a graceful restart: %v", d)
	}
}

// TestMalformedSkipped puts records that are not audit events between good
// ones: they are counted by reason, the good ones evaluated, and the
// partition's offset moves past all of them.
func TestMalformedSkipped(t *testing.T) {
	c := newCluster(t, 1)
	produce(t, c, 0, auditEvent("a"), "not json {", `{"kind":"Pod"}`, `{"kind":"Event"}`, auditEvent("b"))
	pl := newPipeline(0)
	s := newSource(t, c, nil)
	r := start(s, pl.as("a"))
	defer r.stop(t, nil)
	eventually(t, "offset 5 committed", 10*time.Second, func() bool { return committed(c, "g")[0] == 5 })
	pl.mu.Lock()
	n, unnumbered := len(pl.seen), pl.unnumbered
	pl.mu.Unlock()
	if n != 2 || unnumbered != 0 {
		t.Errorf("evaluated %d events (%d without evt.num), want 2, all numbered", n, unnumbered)
	}
	for reason, want := range map[string]float64{"malformed": 1, "not-audit": 1, "no-timestamp": 1} {
		if got := testutil.ToFloat64(s.m.EventsSkipped.WithLabelValues("kafka", reason)); got != want {
			t.Errorf("skipped %s = %v, want %v", reason, got, want)
		}
	}
	if got := testutil.ToFloat64(s.m.EventsReceived.WithLabelValues("kafka")); got != 5 {
		t.Errorf("received = %v, want 5", got)
	}
}

// TestCloseWithoutBroker: a stop while the brokers are gone must not hang
// the daemon's shutdown; the final commit fails and Close says so.
func TestCloseWithoutBroker(t *testing.T) {
	c := newCluster(t, 1)
	produce(t, c, 0, ids("x", 3)...)
	pl := newPipeline(0)
	s := newSource(t, c, nil)
	r := start(s, pl.as("a"))
	eventually(t, "3 events", 5*time.Second, func() bool { n, _ := pl.count(); return n == 3 })
	c.Close()
	r.cancel()
	<-r.done
	t0 := time.Now()
	s.Close() // the error (no broker) is expected
	if d := time.Since(t0); d > closeTimeout+2*time.Second {
		t.Fatalf("Close took %v", d)
	}
}
