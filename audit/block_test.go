package audit

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// blockSizes are the block sizes every decoding test is also run with:
// tiny ones put block ends inside every token, string, escape and line.
var blockSizes = []int{1, 2, 3, 7, 16, 61, 1 << 20}

// readBlocks reads in from stdin through a Splitter of the given block size
// and a BlockDecoder, as replay does, and returns copies of the events
// (numbered by a Sequence) and the problems in order. Each block is first
// decoded on its own, then again with the Tail of the one before when
// there is one, as the parallel replay does.
func readBlocks(t testing.TB, in string, opts Options, size int) ([]*Event, []Problem) {
	t.Helper()
	p := NewSplitter([]string{"-"}, strings.NewReader(in), size)
	d := NewBlockDecoder(opts)
	var seq Sequence
	var events []*Event
	var problems []Problem
	var tail *Tail
	for {
		b, err := p.Next()
		if err == io.EOF {
			return events, problems
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		r := d.Decode(b, nil)
		if tail != nil {
			r = d.Decode(b, tail)
		}
		tail = r.Tail
		problems = append(append(problems, b.Problems...), r.Problems...)
		for _, e := range r.Events {
			seq.Stamp(e)
			events = append(events, keep(t, e))
		}
		p.Release(b)
	}
}

// keep checks a borrowed event's index and returns a copy of the event
// that outlives its block.
func keep(t testing.TB, e *Event) *Event {
	t.Helper()
	lazy := New(e.Raw, 0)
	lazy.index()
	if !sameIndex(lazy.top, e.top) || !e.indexed {
		t.Fatalf("block event index %v, lazily built %v", e.top, lazy.top)
	}
	c := New(bytes.Clone(e.Raw), e.Time)
	c.index()
	c.Num, c.Start, c.Cluster, c.Source, c.Line = e.Num, e.Start, e.Cluster, e.Source, e.Line
	return c
}

// checkBlocks holds the block path to the Reader's result for in: the same
// events (bytes, times, lines, numbers) and problems, whatever the block
// size.
func checkBlocks(t *testing.T, in string, opts Options, events []*Event, problems []Problem) {
	t.Helper()
	want := describe(events, problems)
	for _, size := range blockSizes {
		if len(in)/size > 4000 {
			continue // tiny blocks are for small inputs: each costs a Tail
		}
		bevents, bproblems := readBlocks(t, in, opts, size)
		if got := describe(bevents, bproblems); !equal(got, want) {
			t.Fatalf("blocks of %d got\n\t%s\nReader got\n\t%s", size, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
		checkSame(t, events, bevents)
		for i := range events {
			if events[i].Num != bevents[i].Num || events[i].Start != bevents[i].Start || events[i].Where() != bevents[i].Where() {
				t.Fatalf("blocks of %d: event %d is %s #%d (start %d), Reader's %s #%d (start %d)", size, i,
					bevents[i].Where(), bevents[i].Num, bevents[i].Start, events[i].Where(), events[i].Num, events[i].Start)
			}
		}
	}
}

func TestSplitterBlocks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		size int
		want []string // each block as offset/line: data, "last" marked
	}{
		{"cut at the last line end", "ab\ncd\nef", 7, []string{"0/1: ab\ncd\n", "6/3: ef last"}},
		{"a line longer than a block", "abcdef\ng\n", 4, []string{"0/1: abcd", "4/1: ef\n", "7/2: g\n", "9/3:  last"}},
		// Standard input stops filling a block at a short read that
		// brought a line end, so that a slow pipe's events are not held.
		{"empty input", "", 8, []string{"0/1:  last"}},
		{"exact fit", "ab\n", 3, []string{"0/1: ab\n", "3/2:  last"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewSplitter([]string{"-"}, strings.NewReader(tt.in), tt.size)
			var got []string
			for {
				b, err := p.Next()
				if err == io.EOF {
					break
				}
				s := itoa(int(b.Offset)) + "/" + itoa(b.Line) + ": " + string(b.Data)
				if b.Last {
					s += " last"
				}
				got = append(got, s)
			}
			if !equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestBlockEventsLiveUntilNextDecode: events borrow the block; releasing
// it after the next Decode reuses its memory for later blocks, and the
// decoder's own storage stops growing once it fits a block.
func TestBlockDecodeAllocations(t *testing.T) {
	var sb strings.Builder
	for i := range 2000 {
		sb.WriteString(ev("id"+itoa(i), t1) + "\n")
	}
	in := sb.String()
	p := NewSplitter([]string{"-"}, strings.NewReader(in), 64<<10)
	d := NewBlockDecoder(Options{})
	var blocks []*Block
	for {
		b, err := p.Next()
		if err == io.EOF {
			break
		}
		blocks = append(blocks, b)
	}
	d.Decode(blocks[0], nil) // warm up the decoder's storage
	n := 0
	allocs := testing.AllocsPerRun(5, func() {
		for _, b := range blocks[1 : len(blocks)-1] {
			n += len(d.Decode(b, nil).Events)
		}
	})
	if allocs != 0 {
		t.Errorf("%.0f allocations per pass over %d blocks, want 0", allocs, len(blocks)-2)
	}
	if n == 0 {
		t.Fatal("no events decoded")
	}
}
