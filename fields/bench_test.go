package fields

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
)

// BenchmarkExtract measures the hot fields on a real pod-creation event,
// reusing dst as the engine does. Single-value string fields must show
// 0 allocs/op.
func BenchmarkExtract(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(traceDir, "create_nginx_pod_privileged.json"))
	if err != nil {
		b.Skip("no upstream traces (../shared absent): ", err)
	}
	ev := audit.New(firstLine(raw), 1)
	cases := []struct{ field, arg string }{
		{"ka.verb", ""},
		{"ka.user.name", ""},
		{"ka.target.resource", ""},
		{"ka.target.namespace", ""},
		{"ka.req.pod.containers.image", ""},
		{"ka.req.pod.containers.privileged", ""},
		{"ka.req.pod.volumes.hostpath", ""},
		{"jevt.value", "/stage"},
	}
	for _, c := range cases {
		f, ok := Builtin().Lookup(c.field)
		if !ok {
			b.Fatalf("no field %s", c.field)
		}
		arg, err := f.ParseArg(c.arg, c.arg != "")
		if err != nil {
			b.Fatal(err)
		}
		name := c.field
		if c.arg != "" {
			name += "[" + c.arg + "]"
		}
		b.Run(name, func(b *testing.B) {
			dst := make([]string, 0, 8)
			b.ReportAllocs()
			for b.Loop() {
				dst = f.Extract(ev, &arg, dst[:0])
			}
		})
	}
}
