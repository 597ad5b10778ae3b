package replay

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
)

// repeatSource yields the sample log's events n times over.
type repeatSource struct {
	events []*audit.Event
	i, n   int
}

func (s *repeatSource) Next() (*audit.Event, error) {
	if s.i >= len(s.events)*s.n {
		return nil, io.EOF
	}
	ev := s.events[s.i%len(s.events)]
	s.i++
	return ev, nil
}

func sample(t testing.TB) []*audit.Event {
	rd := audit.NewReader([]string{"../testdata/sample-audit.jsonl"}, nil, audit.Options{})
	var evs []*audit.Event
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return evs
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
}

func defaultEngine(t testing.TB) *engine.Engine { return engineOf(t, defaultrules.Sources()) }

// engineOf compiles srcs with every matching rule reported.
func engineOf(t testing.TB, srcs []rules.Source) *engine.Engine {
	col, rep := rules.Load(srcs, rules.Options{})
	opts := engine.DefaultOptions()
	opts.MatchAll = true
	e := engine.New(col, opts, rep)
	if e == nil {
		t.Fatal(rep.Err())
	}
	return e
}

// TestParallelSameAsSequential: any number of workers gives the same alerts
// in the same order, and the same summary, as one.
func TestParallelSameAsSequential(t *testing.T) {
	e, evs := defaultEngine(t), sample(t)
	f := output.DefaultFormat()
	f.JSON = true
	run := func(workers int) (string, string) {
		var out []byte
		sum := NewSummary()
		err := RunParallel(e, &repeatSource{events: evs, n: 40}, workers, sum, func(a *engine.Alert) error {
			out = f.Append(out, a)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var s bytes.Buffer
		sum.Write(&s)
		return string(out), s.String()
	}
	want, wantSum := run(1)
	if want == "" {
		t.Fatal("no alerts on the sample")
	}
	for _, w := range []int{2, 3, 8} {
		got, gotSum := run(w)
		if got != want || gotSum != wantSum {
			t.Errorf("%d workers: output or summary differs from one worker", w)
		}
	}
}

// TestParallelEmitError: an output error stops the run and is returned.
func TestParallelEmitError(t *testing.T) {
	e, evs := defaultEngine(t), sample(t)
	boom := fmt.Errorf("disk full")
	err := RunParallel(e, &repeatSource{events: evs, n: 40}, 2, NewSummary(), func(*engine.Alert) error { return boom })
	if err != boom {
		t.Fatalf("err %v, want %v", err, boom)
	}
}
