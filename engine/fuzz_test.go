package engine

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/rules"
	defaultrules "github.com/peregrine-sec/peregrine/rules/default"
)

// FuzzEval runs arbitrary JSON objects through every embedded rule with
// rule_matching: all. Evaluation has no error path: it must never panic,
// and every alert must render.
func FuzzEval(f *testing.F) {
	file, err := os.Open("../testdata/sample-audit.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f.Add(append([]byte(nil), sc.Bytes()...))
	}
	file.Close()
	f.Add([]byte(`{"auditID":1,"verb":["create"],"objectRef":"pods","requestObject":{"spec":{"containers":{"a":1}}}}`))
	col, rep := rules.Load(defaultrules.Sources(), rules.Options{})
	opts := DefaultOptions()
	opts.MatchAll = true
	e := New(col, opts, rep)
	if e == nil {
		f.Fatal(rep.Err())
	}
	w := e.NewWorker()
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
			return
		}
		w.Eval(audit.New(raw, 1), func(a *Alert) {
			if a.Output == "" || a.Rule == "" {
				t.Fatalf("empty alert %+v", a)
			}
		})
	})
}
