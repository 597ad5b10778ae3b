package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// drained waits, as the daemon's drain does before Close, until every
// batch s submitted is delivered.
func drained(t *testing.T, s *Source) func() {
	return func() {
		eventually(t, "drain", 5*time.Second, func() bool {
			for _, p := range s.ownedOf(s.ownedMap()) {
				if p.tr.Pending() > 0 {
					return false
				}
			}
			return true
		})
	}
}

func (s *Source) ownedMap() map[string][]int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string][]int32{}
	for k := range s.owned {
		m[k.topic] = append(m[k.topic], k.part)
	}
	return m
}

// TestRebalanceHandsOverWithoutLossOrRepeat produces while a second member
// joins the group and the first then leaves gracefully: the partitions
// move between them (cooperative-sticky), each event is evaluated exactly
// once, and both members did part of the work. Batches take a few
// milliseconds to deliver, so handovers happen with batches in flight.
func TestRebalanceHandsOverWithoutLossOrRepeat(t *testing.T) {
	const parts, rounds = 4, 40
	c := newCluster(t, parts)
	pl := newPipeline(5 * time.Millisecond)
	a := newSource(t, c, nil)
	ra := start(a, pl.as("a"))

	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := range rounds {
			for p := range int32(parts) {
				produce(t, c, p, auditEvent(fmt.Sprintf("r%d-p%d-0", i, p)), auditEvent(fmt.Sprintf("r%d-p%d-1", i, p)))
			}
			time.Sleep(15 * time.Millisecond)
		}
	}()

	time.Sleep(150 * time.Millisecond)
	b := newSource(t, c, nil)
	rb := start(b, pl.as("b"))
	defer rb.stop(t, nil)
	eventually(t, "b owns partitions", 10*time.Second, func() bool { return len(b.ownedMap()) > 0 })
	time.Sleep(150 * time.Millisecond)
	ra.stop(t, drained(t, a)) // a leaves: b takes every partition

	<-produced
	const total = rounds * parts * 2
	eventually(t, "every event evaluated", 15*time.Second, func() bool { n, _ := pl.count(); return n == total })
	time.Sleep(100 * time.Millisecond) // a repeat would show up now
	if d := pl.duplicates(); len(d) > 0 {
		t.Fatalf("%d events evaluated twice across graceful handovers: %v", len(d), d)
	}
	pl.mu.Lock()
	byA, byB := pl.by["a"], pl.by["b"]
	pl.mu.Unlock()
	if byA == 0 || byB == 0 {
		t.Errorf("work not shared: a evaluated %d, b %d", byA, byB)
	}
	if n := testutil.ToFloat64(a.km.partitions.WithLabelValues("kafka", "revoked")); n == 0 {
		t.Error("a never handed a partition over")
	}
	t.Logf("a evaluated %d, b %d of %d", byA, byB, total)
}
