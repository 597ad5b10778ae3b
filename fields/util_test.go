package fields

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// traceDir holds upstream's audit-event traces, one event per line. It
// lives outside the repository (../shared); tests that need it skip
// without it.
const traceDir = "../../shared/upstream/traces/k8s_audit"

// traceEvents returns every JSON object line of every trace, skipping the
// test when the traces are absent.
func traceEvents(tb testing.TB) [][]byte {
	tb.Helper()
	events, err := loadTraces()
	if err != nil {
		tb.Fatal(err)
	}
	if len(events) == 0 {
		tb.Skipf("no upstream traces in %s (../shared absent); skipping", traceDir)
	}
	return events
}

// loadTraces reads the traces; none at all when the directory is absent.
func loadTraces() ([][]byte, error) {
	files, _ := filepath.Glob(filepath.Join(traceDir, "*.json"))
	var events [][]byte
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) > 0 && line[0] == '{' && json.Valid(line) {
				events = append(events, bytes.Clone(line))
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
	}
	return events, nil
}

// sampleArgs are the arguments every field is tried with: none, and one of
// its kind.
func sampleArgs(f *Field) []Arg {
	var out []Arg
	if !f.ArgRequired {
		out = append(out, Arg{})
	}
	switch f.Arg {
	case ArgIndex:
		out = append(out, Arg{Text: "0", Has: true, HasIndex: true}, Arg{Text: "1", Index: 1, Has: true, HasIndex: true})
	case ArgKey:
		for _, k := range []string{"", "/", "/requestObject/spec/containers/0/image", "/etc*", "watch", "~0~1/x/0"} {
			out = append(out, Arg{Text: k, Has: true})
		}
	}
	return out
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}
