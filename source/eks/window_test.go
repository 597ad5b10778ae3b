package eks

import (
	"reflect"
	"testing"
	"time"
)

// TestWindowRanges follows the ranges polls read: sweeps of the whole
// overlap every sweep interval, the margin in between, never ahead of now.
func TestWindowRanges(t *testing.T) {
	const s, m = int64(1000), int64(60_000)
	o := windowOptions{overlap: 5 * time.Minute, sweepEvery: time.Minute, pollEvery: 5 * time.Second, margin: 30 * time.Second}
	reach := 6*m + 5*s
	w := newWindow(o, 0)
	steps := []struct {
		name         string
		read         int64 // an event read before the poll (-1: none)
		now          int64
		start, since int64
	}{
		{"first poll sweeps from the start", -1, 1 * s, 0, 0},
		{"a sweep trails the newest event by the reach", 10 * m, 10*m + 1*s, 10*m - reach, 10*m - reach},
		{"between sweeps, the margin", -1, 10*m + 6*s, 10*m - 30*s, 10*m - reach},
		{"the next sweep, a minute later", -1, 11*m + 2*s, 10*m - reach, 10*m - reach},
		{"a timestamp in the future does not move ranges past now", 60 * m, 11*m + 10*s, 11*m + 10*s - 30*s, 10*m - reach},
		{"nor sweeps", -1, 12*m + 3*s, 12*m + 3*s - reach, 12*m + 3*s - reach},
	}
	for i, st := range steps {
		if st.read >= 0 {
			w.add(string(rune('a'+i)), st.read, 1)
		}
		start, since := w.next(st.now)
		if start != st.start || since != st.since {
			t.Fatalf("%s: range (%d, %d), want (%d, %d)", st.name, start, since, st.start, st.since)
		}
	}
}

// TestWindowCheckpoint: snapshots hold the delivered ids from the
// committed range start on; a resumed window reads from there first.
func TestWindowCheckpoint(t *testing.T) {
	o := windowOptions{overlap: time.Minute, sweepEvery: time.Minute, margin: time.Second}
	w := newWindow(o, 100)
	if _, ok := w.snapshot(); !ok {
		t.Fatal("a fresh window has no position to save")
	}
	for _, e := range []struct {
		id  string
		t   int64
		seq uint64
	}{{"old", 150, 1}, {"x", 200, 1}, {"y", 200, 1}, {"z", 300, 1}, {"pending", 400, 2}} {
		if !w.add(e.id, e.t, e.seq) {
			t.Fatalf("%s: reported as read before", e.id)
		}
	}
	if w.add("x", 200, 3) {
		t.Fatal("a repeated id was reported new")
	}
	w.commit(position{seq: 1, newest: 300, since: 200})
	cp, ok := w.snapshot()
	want := Checkpoint{Version: 1, Timestamp: 300, WindowStart: 200,
		Seen: []SeenAt{{200, []string{"x", "y"}}, {300, []string{"z"}}}}
	if !ok || !reflect.DeepEqual(cp, want) {
		t.Fatalf("snapshot %+v, want %+v", cp, want)
	}
	if _, ok := w.snapshot(); ok {
		t.Fatal("an unchanged position was saved again")
	}
	w.prune()
	if w.Len() != 4 {
		t.Fatalf("after prune %d ids, want 4 (old is before the range)", w.Len())
	}

	r := resumeWindow(o, &cp)
	if start, since := r.next(10_000); start != 200 || since != 200 {
		t.Fatalf("resumed range (%d, %d), want (200, 200)", start, since)
	}
	if r.add("y", 200, 1) || !r.add("pending", 400, 1) {
		t.Fatal("a resumed window must know the delivered ids, and only those")
	}
}
