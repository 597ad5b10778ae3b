package defaultrules

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/engine/enginetest"
	"github.com/peregrine-sec/peregrine/rules"
)

// BenchmarkReplay replays audit events through the default rules and, for
// comparison, upstream's k8s_audit_rules.yaml. The events are
// $PEREGRINE_BENCH_EVENTS when set (a `peregrine gen` file, say), else the
// sample log and upstream's traces.
func BenchmarkReplay(b *testing.B) {
	inputs := []string{filepath.Join("..", "..", "testdata", "sample-audit.jsonl")}
	if f := os.Getenv("PEREGRINE_BENCH_EVENTS"); f != "" {
		inputs = []string{f}
	}
	var size int64
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			b.Fatal(err)
		}
		size += st.Size()
	}
	sets := map[string][]rules.Source{"default": Sources()}
	shared, _ := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	if d := os.Getenv("PEREGRINE_SHARED"); d != "" {
		shared = d
	}
	if up, _, err := rules.ReadPaths([]string{filepath.Join(shared, "upstream", "rules", "k8saudit", "k8s_audit_rules.yaml")}, false); err == nil {
		sets["upstream"] = up
	}
	for _, name := range []string{"default", "upstream"} {
		srcs, ok := sets[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			c := enginetest.Compile(srcs, engine.DefaultOptions())
			if c.Engine == nil {
				b.Fatal(c.Report.Err())
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Replay(inputs, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
