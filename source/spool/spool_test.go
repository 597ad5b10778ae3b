package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func next(t *testing.T, s *Spool) (uint64, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	seq, b, err := s.Next(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return seq, string(b)
}

func TestAppendNextAck(t *testing.T) {
	s, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		if err := s.Append([]byte("rec"), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		seq, b := next(t, s)
		if seq != uint64(i+1) || b != fmt.Sprint("rec", i) {
			t.Fatalf("record %d: seq %d %q", i, seq, b)
		}
	}
	s.Ack(3)
	if s.Pending() != 0 {
		t.Fatalf("%d bytes pending after acking everything", s.Pending())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := s.Next(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next on an empty spool: %v", err)
	}
}

// TestDurableAcrossRestart checks that what was not acknowledged comes
// back after a restart, and what was does not.
func TestDurableAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 0)
	for i := range 5 {
		s.Append([]byte(fmt.Sprint(i)))
	}
	next(t, s)
	next(t, s)
	s.Ack(2)
	s.Close()

	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for want := 2; want < 5; want++ {
		seq, b := next(t, s)
		if b != fmt.Sprint(want) || seq != uint64(want+1) {
			t.Fatalf("after restart: seq %d %q, want %d", seq, b, want)
		}
	}
	s.Append([]byte("new"))
	if seq, b := next(t, s); seq != 6 || b != "new" {
		t.Fatalf("appended after restart: seq %d %q", seq, b)
	}
}

// TestTornTail cuts a record in half, as a crash mid-write does: the
// records before it survive and appending goes on after them.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 0)
	s.Append([]byte("one"))
	s.Append([]byte("two"))
	s.Close()
	segs, _ := listSegments(dir)
	st, _ := os.Stat(segs[0].path)
	os.Truncate(segs[0].path, st.Size()-2)

	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, b := next(t, s); b != "one" {
		t.Fatalf("first record %q", b)
	}
	s.Append([]byte("three"))
	if seq, b := next(t, s); b != "three" || seq != 2 {
		t.Fatalf("after the torn record: seq %d %q", seq, b)
	}
}

func TestFull(t *testing.T) {
	s, _ := Open(t.TempDir(), 100)
	defer s.Close()
	if err := s.Append(make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(make([]byte, 60)); !errors.Is(err, ErrFull) {
		t.Fatalf("second append: %v, want ErrFull", err)
	}
	seq, _ := next(t, s)
	s.Ack(seq)
	if err := s.Append(make([]byte, 60)); err != nil {
		t.Fatalf("after ack: %v", err)
	}
}

// TestSegmentsRollAndTrim writes past a segment and checks that reading
// crosses segments and acknowledged segments are deleted.
func TestSegmentsRollAndTrim(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1<<30)
	big := make([]byte, SegmentSize/3)
	for range 5 {
		if err := s.Append(big); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if seq, b := next(t, s); seq != uint64(i+1) || len(b) != len(big) {
			t.Fatalf("record %d: seq %d, %d bytes", i, seq, len(b))
		}
	}
	s.Ack(5)
	s.Close()
	segs, _ := listSegments(dir)
	if len(segs) != 1 {
		t.Fatalf("%d segments left after acking everything", len(segs))
	}
	if _, err := os.Stat(filepath.Join(dir, "acked")); err != nil {
		t.Fatal(err)
	}
}
