package replay

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/gen"
	"github.com/peregrine-sec/peregrine/output"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
)

var raceEnabled bool // set by race_test.go

// numbering is a rule on every event whose output shows the fields that
// depend on the event's place in the stream.
const numbering = `
- rule: Every event
  desc: numbers each event
  condition: ka.verb != ""
  output: num=%evt.num rel=%evt.reltime verb=%ka.verb user=%ka.user.name
  priority: INFO
  source: k8s_audit
`

func numberingEngine(t testing.TB) *engine.Engine {
	return engineOf(t, append(defaultrules.Sources(), rules.Source{Name: "numbering.yaml", Data: []byte(numbering)}))
}

// blocksInput writes a file that has what a block boundary can fall in:
// the sample log many times, malformed lines, and a pretty-printed
// EventList whose items span many lines.
func blocksInput(t testing.TB) string {
	sample, err := os.ReadFile("../testdata/sample-audit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sample)), "\n")
	var b strings.Builder
	for i := range 30 {
		b.Write(sample)
		fmt.Fprintf(&b, "{\"kind\":\"Event\", broken %d\nnot json at all\n", i)
		b.WriteString("{\n  \"kind\": \"EventList\",\n  \"items\": [\n    " + strings.Join(lines[:5], ",\n    ") + "\n  ]\n}\n")
	}
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// replayed is what a replay printed: alerts as JSON lines, problems, and
// the summary.
type replayed struct{ alerts, problems, summary string }

func viaReader(t testing.TB, e *engine.Engine, path string) replayed {
	rd := audit.NewReader([]string{path}, nil, audit.Options{})
	var probs []string
	sum := NewSummary()
	rd.OnProblem = func(p audit.Problem) { probs = append(probs, p.Error()); sum.Skip(p.Reason) }
	var out []byte
	if err := Run(e, rd, sum, appendJSON(&out)); err != nil {
		t.Fatal(err)
	}
	return finish(out, probs, sum)
}

func viaBlocks(t testing.TB, e *engine.Engine, path string, workers, size int) replayed {
	var probs []string
	sum := NewSummary()
	o := Blocks{Workers: workers, OnProblem: func(p audit.Problem) { probs = append(probs, p.Error()) }}
	var out []byte
	if err := RunBlocks(e, audit.NewSplitter([]string{path}, nil, size), o, sum, appendJSON(&out)); err != nil {
		t.Fatal(err)
	}
	return finish(out, probs, sum)
}

func appendJSON(out *[]byte) func(*engine.Alert) error {
	f := output.DefaultFormat()
	f.JSON = true
	return func(a *engine.Alert) error {
		*out = f.Append(*out, a)
		return nil
	}
}

func finish(out []byte, probs []string, sum *Summary) replayed {
	var s bytes.Buffer
	sum.Write(&s)
	return replayed{string(out), strings.Join(probs, "\n"), s.String()}
}

// TestBlocksSameAsReader: replaying blocks, with any number of workers and
// any block size, prints exactly what replaying through a Reader does:
// the same alerts in the same order (event numbers included), the same
// problems in the same order, the same summary.
func TestBlocksSameAsReader(t *testing.T) {
	e, path := numberingEngine(t), blocksInput(t)
	want := viaReader(t, e, path)
	if want.alerts == "" || want.problems == "" {
		t.Fatal("the input raised no alerts or no problems")
	}
	for _, workers := range []int{1, 2, 3} {
		for _, size := range []int{97, 4096, 1 << 20} {
			got := viaBlocks(t, e, path, workers, size)
			if got != want {
				t.Errorf("%d workers, blocks of %d: differs from the Reader\n%s", workers, size, firstDiff(got, want))
			}
		}
	}
}

func firstDiff(got, want replayed) string {
	for _, p := range [][2]string{{got.alerts, want.alerts}, {got.problems, want.problems}, {got.summary, want.summary}} {
		g, w := strings.Split(p[0], "\n"), strings.Split(p[1], "\n")
		for i := range max(len(g), len(w)) {
			var gl, wl string
			if i < len(g) {
				gl = g[i]
			}
			if i < len(w) {
				wl = w[i]
			}
			if gl != wl {
				return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, gl, wl)
			}
		}
	}
	return ""
}

// TestBlocksEmitError: an output error stops the run and is returned,
// whatever the number of workers.
func TestBlocksEmitError(t *testing.T) {
	e, path := numberingEngine(t), blocksInput(t)
	boom := fmt.Errorf("disk full")
	for _, workers := range []int{1, 2} {
		sp := audit.NewSplitter([]string{path}, nil, 512)
		err := RunBlocks(e, sp, Blocks{Workers: workers}, NewSummary(), func(*engine.Alert) error { return boom })
		if err != boom {
			t.Fatalf("%d workers: err %v, want %v", workers, err, boom)
		}
	}
}

// quietInput writes generated benign traffic, keeping only the events on
// which e raises no alert.
func quietInput(t testing.TB, e *engine.Engine, n int) (string, int) {
	g, err := gen.New(gen.Options{Seed: 3, AttackShare: 0})
	if err != nil {
		t.Fatal(err)
	}
	w := e.NewWorker()
	var seq audit.Sequence // rules may read evt.num
	var b []byte
	kept := 0
	for range n {
		line, _ := g.AppendEvent(nil)
		var ev *audit.Event
		audit.DecodePayload(line, func(x *audit.Event) { ev = x }, nil)
		if ev == nil {
			t.Fatalf("generated event does not decode: %s", line)
		}
		seq.Stamp(ev)
		if w.Eval(ev, func(*engine.Alert) {}) > 0 {
			continue
		}
		b = append(append(b, line...), '\n')
		kept++
	}
	path := filepath.Join(t.TempDir(), "quiet.jsonl")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, kept
}

// TestBlocksAllocations: events that raise no alert cost almost no
// allocations on one worker (issue 5 allows one per event). What remains
// is per run (the decoder, the first blocks) and per field value that has
// to be built: an object given as text, a string with escapes.
func TestBlocksAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	e := defaultEngine(t)
	path, n := quietInput(t, e, 20000)
	var sum *Summary
	allocs := testing.AllocsPerRun(3, func() {
		sum = NewSummary()
		sp := audit.NewSplitter([]string{path}, nil, 256<<10)
		if err := RunBlocks(e, sp, Blocks{Workers: 1}, sum, func(*engine.Alert) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if sum.Events != uint64(n) || sum.Alerts != 0 {
		t.Fatalf("%d events and %d alerts, want %d and 0", sum.Events, sum.Alerts, n)
	}
	if per := allocs / float64(n); per > 0.1 {
		t.Errorf("%.0f allocations for %d events (%.3f per event), want at most 0.1 per event", allocs, n, per)
	}
}
