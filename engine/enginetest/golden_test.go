package enginetest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/output"
)

// goldenDivergences are traces whose alerts deliberately differ from Falco
// 0.44.1's, with the reason; docs/COMPATIBILITY.md explains each.
var goldenDivergences = map[string]string{
	"create_nginx_service_nodeport": "ka.req.service.ports is a real list (one compact JSON object per port); Falco gives the whole ports array as one element",
}

// TestFalcoGolden compares Peregrine's alerts with what Falco 0.44.1 printed
// for every upstream trace, byte for byte: JSON, text, and JSON with
// rule_matching: all.
func TestFalcoGolden(t *testing.T) {
	shared := sharedDir(t)
	up := filepath.Join(shared, "upstream")
	golden := filepath.Join(shared, "corpus", "falco-0.44.1")
	srcs := readRules(t, up, []string{"rules/k8saudit/k8s_audit_rules.yaml"})
	local := time.Local
	time.Local = time.UTC // Falco's text time is local; the corpus machine ran in UTC
	defer func() { time.Local = local }()
	traces, _ := filepath.Glob(filepath.Join(up, "traces", "k8s_audit", "*.json"))
	for _, trace := range traces {
		name := strings.TrimSuffix(filepath.Base(trace), ".json")
		if reason, ok := goldenDivergences[name]; ok {
			t.Logf("skip %s: %s", name, reason)
			continue
		}
		for _, mode := range []struct {
			dir, ext string
			json     bool
			all      bool
		}{{"json", ".jsonl", true, false}, {"text", ".txt", false, false}, {"json-all", ".jsonl", true, true}} {
			t.Run(mode.dir+"/"+name, func(t *testing.T) {
				opts := engine.DefaultOptions()
				opts.MatchAll = mode.all
				res, err := Run(srcs, []string{trace}, opts)
				if err != nil || res.Engine == nil {
					t.Fatalf("run: %v %v", err, res.Report.Err())
				}
				f := output.DefaultFormat()
				f.JSON, f.Hostname = mode.json, "vm"
				var got []byte
				for _, a := range res.Alerts {
					got = f.Append(got, a)
				}
				want, err := os.ReadFile(filepath.Join(golden, mode.dir, name+mode.ext))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("alerts differ\n got: %s\nwant: %s", got, want)
				}
			})
		}
	}
}

// TestIndexOnOff: the verb index changes how much work finds the alerts,
// never which alerts come out (STYLE: every shortcut has an off switch).
func TestIndexOnOff(t *testing.T) {
	shared := sharedDir(t)
	up := filepath.Join(shared, "upstream")
	traces, _ := filepath.Glob(filepath.Join(up, "traces", "k8s_audit", "*.json"))
	traces = append(traces, filepath.Join("..", "..", "testdata", "sample-audit.jsonl"))
	for _, rulesFile := range []string{"rules/k8saudit/k8s_audit_rules.yaml", "rules/k8saudit/versions/0.6.0/k8s_audit_rules.yaml"} {
		srcs := readRules(t, up, []string{rulesFile})
		var out [2][]byte
		for i, noIndex := range []bool{false, true} {
			opts := engine.DefaultOptions()
			opts.MatchAll, opts.NoIndex = true, noIndex
			res, err := Run(srcs, traces, opts)
			if err != nil || res.Engine == nil {
				t.Fatalf("run: %v %v", err, res.Report.Err())
			}
			f := output.DefaultFormat()
			f.JSON = true
			for _, a := range res.Alerts {
				out[i] = f.Append(out[i], a)
			}
		}
		if !bytes.Equal(out[0], out[1]) || len(out[0]) == 0 {
			t.Errorf("%s: alerts differ with the index on and off (%d vs %d bytes)", rulesFile, len(out[0]), len(out[1]))
		}
	}
}
