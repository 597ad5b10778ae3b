package source

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestTrackerCommitsInOrder releases batches out of order and checks that
// positions are committed only over contiguous released prefixes.
func TestTrackerCommitsInOrder(t *testing.T) {
	tests := []struct {
		name    string
		release []int // batch indexes, in release order
		want    []int // committed positions after all releases
	}{
		{"in order", []int{0, 1, 2}, []int{0, 1, 2}},
		{"reverse", []int{2, 1, 0}, []int{2}},
		{"middle first", []int{1, 0, 2}, []int{1, 2}},
		{"gap stays", []int{0, 2}, []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			tr := NewTracker(func(p int) { got = append(got, p) })
			bs := make([]*Batch, 3)
			for i := range bs {
				bs[i] = NewBatch("s", nil)
				tr.Track(bs[i], i)
			}
			for _, i := range tc.release {
				bs[i].Release()
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("committed %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBatchHolds checks that a batch completes only after every hold the
// outputs took is released, not when evaluation ends.
func TestBatchHolds(t *testing.T) {
	var got []string
	tr := NewTracker(func(p string) { got = append(got, p) })
	b := NewBatch("s", nil)
	tr.Track(b, "after-b")
	b.Hold(2) // two outputs took an alert
	b.Release()
	b.Release()
	if len(got) != 0 {
		t.Fatalf("committed %v before the last output released", got)
	}
	b.Release()
	if !slices.Equal(got, []string{"after-b"}) {
		t.Fatalf("committed %v", got)
	}
}

func TestTrackerWaitIdleAndForget(t *testing.T) {
	tr := NewTracker(func(int) {})
	if err := tr.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, b := NewBatch("s", nil), NewBatch("s", nil)
	tr.Track(a, 1)
	tr.Track(b, 2)
	tr.Forget(b) // never submitted
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if tr.WaitIdle(ctx) == nil {
		t.Fatal("idle with a batch pending")
	}
	a.Release()
	if err := tr.WaitIdle(context.Background()); err != nil || tr.Pending() != 0 {
		t.Fatalf("not idle after the last release: %v, %d pending", err, tr.Pending())
	}
}
