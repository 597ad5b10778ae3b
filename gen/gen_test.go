package gen

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
)

func generate(t testing.TB, o Options) []byte {
	t.Helper()
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := g.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func opts(mod func(*Options)) Options {
	o := DefaultOptions()
	mod(&o)
	return o
}

func TestDeterministic(t *testing.T) {
	for _, f := range []Format{JSONLines, EventList} {
		t.Run(f.String(), func(t *testing.T) {
			a := generate(t, opts(func(o *Options) { o.Events = 3000; o.Format = f; o.AttackShare = 0.01 }))
			b := generate(t, opts(func(o *Options) { o.Events = 3000; o.Format = f; o.AttackShare = 0.01 }))
			if !bytes.Equal(a, b) {
				t.Fatal("same options gave different bytes")
			}
			c := generate(t, opts(func(o *Options) { o.Events = 3000; o.Format = f; o.AttackShare = 0.01; o.Seed = 2 }))
			if bytes.Equal(a, c) {
				t.Fatal("different seeds gave the same bytes")
			}
		})
	}
}

// TestPrefix checks that a shorter run is a prefix of a longer one and that
// EventList framing carries the same events.
func TestPrefix(t *testing.T) {
	long := generate(t, opts(func(o *Options) { o.Events = 2000 }))
	short := generate(t, opts(func(o *Options) { o.Events = 700 }))
	if !bytes.HasPrefix(long, short) {
		t.Fatal("700 events are not a prefix of 2000")
	}
	list := generate(t, opts(func(o *Options) { o.Events = 2000; o.Format = EventList }))
	if got, want := decodeAll(t, list), decodeAll(t, long); !equalRaw(got, want) {
		t.Fatalf("EventList holds other events than JSON lines (%d vs %d)", len(got), len(want))
	}
}

func equalRaw(a, b []*audit.Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Raw, b[i].Raw) {
			return false
		}
	}
	return true
}

// decodeAll reads data with the replay decoder and fails on any problem.
func decodeAll(t testing.TB, data []byte) []*audit.Event {
	t.Helper()
	r := audit.NewReader([]string{"-"}, bytes.NewReader(data), audit.Options{})
	r.OnProblem = func(p audit.Problem) { t.Fatalf("decoder problem: %v", p.Error()) }
	var out []*audit.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out
		}
		out = append(out, ev)
	}
}

func TestDecodes(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want int
	}{
		{"jsonl", opts(func(o *Options) { o.Events = 5000; o.AttackShare = 0.05 }), 5000},
		{"eventlist", opts(func(o *Options) { o.Events = 5000; o.AttackShare = 0.05; o.Format = EventList }), 5000},
		{"writes", opts(func(o *Options) { o.Events = 2000; o.Mix = Mix{Write: 1} }), 2000},
		{"large", opts(func(o *Options) { o.Events = 20; o.Mix = Mix{Large: 1} }), 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := generate(t, tt.o)
			for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
				if !json.Valid(line) {
					t.Fatalf("line %d is not valid JSON: %.300s", i+1, line)
				}
			}
			if got := len(decodeAll(t, data)); got != tt.want {
				t.Fatalf("decoded %d events, want %d", got, tt.want)
			}
		})
	}
}

// TestAttackAnnotation checks that the annotation is on attacks and only on
// them, naming the right kind, and that every kind is generated.
func TestAttackAnnotation(t *testing.T) {
	g, err := New(opts(func(o *Options) { o.AttackShare = 0.3 }))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var buf []byte
	for i := 0; i < 6000; i++ {
		var info Info
		buf, info = g.AppendEvent(buf[:0])
		var evs []*audit.Event
		audit.DecodePayload(buf, func(e *audit.Event) { evs = append(evs, e) }, func(p audit.Problem) { t.Fatalf("event %d: %v", i, p.Error()) })
		if len(evs) != 1 {
			t.Fatalf("event %d decoded into %d events", i, len(evs))
		}
		got, _ := evs[0].Get("annotations", AttackAnnotation).Str()
		if got != info.Attack || (info.Class == Attack) != (got != "") {
			t.Fatalf("event %d (%s): annotation %q, generated as %q", i, info.Class, got, info.Attack)
		}
		seen[strings.Clone(got)] = true // got aliases buf, which the next event overwrites
	}
	for _, k := range AttackKinds() {
		if !seen[k] {
			t.Errorf("attack kind %s never generated", k)
		}
	}
}

func TestMix(t *testing.T) {
	const n = 40000
	tests := []struct {
		name  string
		o     Options
		share map[Class]float64
	}{
		{"default", opts(func(o *Options) { o.AttackShare = 0.02 }), map[Class]float64{
			Read: 0.735 * 0.98, Coordination: 0.15 * 0.98, Status: 0.065 * 0.98, Write: 0.0498 * 0.98, Attack: 0.02}},
		{"half writes", opts(func(o *Options) { o.AttackShare = 0; o.Mix = Mix{Read: 1, Write: 1} }), map[Class]float64{
			Read: 0.5, Write: 0.5, Attack: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			var buf []byte
			for range n {
				buf, _ = g.AppendEvent(buf[:0])
			}
			st := g.Stats()
			for c, want := range tt.share {
				got := float64(st.ByClass[c.String()]) / n
				// Five standard deviations of a binomial share, plus a floor.
				tol := 5*math.Sqrt(want*(1-want)/n) + 0.001
				if math.Abs(got-want) > tol {
					t.Errorf("%s: share %.4f, want %.4f ± %.4f", c, got, want, tol)
				}
			}
		})
	}
}

func TestLargeSizes(t *testing.T) {
	g, err := New(opts(func(o *Options) { o.Mix = Mix{Large: 1}; o.AttackShare = 0 }))
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for i := 0; i < 300; i++ {
		buf, _ = g.AppendEvent(buf[:0])
		if len(buf) < minLarge || len(buf) > maxLarge {
			t.Fatalf("large event %d is %d bytes, want %d–%d", i, len(buf), minLarge, maxLarge)
		}
	}
}

func TestSizeLimit(t *testing.T) {
	for _, f := range []Format{JSONLines, EventList} {
		data := generate(t, opts(func(o *Options) { o.Size = 3 << 20; o.Format = f }))
		if len(data) < 3<<20 || len(data) > 3<<20+(MaxBatch+1)*maxLarge {
			t.Errorf("%s: %d bytes for a 3 MiB size", f, len(data))
		}
		if f == EventList {
			for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
				if !bytes.HasPrefix(line, []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1"`)) {
					t.Fatalf("not an EventList line: %.80s", line)
				}
			}
		}
	}
}

// TestNoSecretsLeak guards the promise that secret bodies hold placeholders
// only.
func TestNoSecretsLeak(t *testing.T) {
	data := generate(t, opts(func(o *Options) { o.Events = 3000; o.Mix = Mix{Write: 1} }))
	for _, ev := range decodeAll(t, data) {
		if r, _ := ev.Get("objectRef", "resource").Str(); r != "secrets" {
			continue
		}
		ev.Get("requestObject", "data").Members(func(k []byte, v audit.Value) bool {
			if s, _ := v.Str(); s != placeholder {
				t.Fatalf("secret key %s holds %q, not the placeholder", k, s)
			}
			return true
		})
	}
}

func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		err  string
	}{
		{"share", Options{AttackShare: 2}, "attack share"},
		{"mix", Options{Mix: Mix{Read: -1}}, "mix weights"},
		{"nodes", Options{Nodes: -3}, "nodes"},
		{"size", Options{Size: -1}, "negative"},
	}
	for _, tt := range tests {
		if _, err := New(tt.o); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.err)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"jsonl": JSONLines, "": JSONLines, "eventlist": EventList} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat(yaml) did not fail")
	}
}

// BenchmarkWrite is the generator's throughput: the default mix written to
// a discarding writer, as MB/s and ns per event (MB/s alone flatters it:
// large objects are mostly one copy).
func BenchmarkWrite(b *testing.B) {
	for _, f := range []Format{JSONLines, EventList} {
		b.Run(f.String(), func(b *testing.B) {
			g, err := New(opts(func(o *Options) { o.Format = f }))
			if err != nil {
				b.Fatal(err)
			}
			w := &countWriter{}
			b.ReportAllocs()
			for b.Loop() {
				g.opts.Size = 16 << 20
				if _, err := g.WriteTo(w); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(w.n / int64(b.N))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(g.Stats().Events), "ns/event")
		})
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"4096", 4096, false},
		{"1GiB", 1 << 30, false},
		{"1gib", 1 << 30, false},
		{"256MiB", 256 << 20, false},
		{"256M", 256 << 20, false},
		{"500MB", 500e6, false},
		{"1.5G", 3 << 29, false},
		{"10 KB", 10000, false},
		{"64B", 64, false},
		{"", 0, true},
		{"-1G", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}
