package audit

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/valyala/fastjson"
)

// benchInput is about 4 MB of JSON lines: the upstream traces repeated, or
// a synthetic event when ../shared is absent.
func benchInput(b *testing.B) []byte {
	var unit []byte
	if files, err := upstreamFiles(); err == nil {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			if bytes.Contains(data, []byte(`"kind": 0`)) {
				continue // not an event: keep the benchmark about events
			}
			unit = append(append(unit, bytes.TrimSpace(data)...), '\n')
		}
	} else {
		unit = []byte(syntheticEvent + "\n")
	}
	return bytes.Repeat(unit, 4<<20/len(unit)+1)
}

const syntheticEvent = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"14933b4e-7b09-4964-af09-b7987367e1ba","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{"username":"minikube-user","groups":["system:masters","system:authenticated"]},"sourceIPs":["192.168.99.1"],"userAgent":"kubectl/v1.12.1","objectRef":{"resource":"pods","namespace":"default","name":"nginx","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"nginx","namespace":"default"},"spec":{"containers":[{"name":"nginx","image":"nginx:1.25","securityContext":{"privileged":true}}]}},"requestReceivedTimestamp":"2018-10-25T14:09:12.574920Z","stageTimestamp":"2018-10-25T14:09:12.581541Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}`

// BenchmarkReader is the replay hot path: bytes in, validated, indexed,
// owned events out.
func BenchmarkReader(b *testing.B) {
	in := benchInput(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader([]string{"-"}, bytes.NewReader(in), Options{})
		r.OnProblem = func(p Problem) { b.Fatal(p) }
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			}
		}
	}
}

// BenchmarkDecodePayload is the webhook path: events alias the payload.
func BenchmarkDecodePayload(b *testing.B) {
	in := benchInput(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		DecodePayload(in, func(*Event) {}, func(p Problem) { b.Fatal(p) })
	}
}

// BenchmarkScan is the validating scanner alone over the same lines.
func BenchmarkScan(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(benchInput(b)), []byte{'\n'})
	b.SetBytes(int64(len(benchInput(b))))
	b.ReportAllocs()
	var s scanner
	for b.Loop() {
		for _, l := range lines {
			s.reset()
			if s.scan(l, true) != scanDone {
				b.Fatal(s.errMsg)
			}
		}
	}
}

// BenchmarkFastjsonValidate is the yardstick: fastjson.Validate over the
// same bytes, line by line (the lines split beforehand, for free).
func BenchmarkFastjsonValidate(b *testing.B) {
	in := benchInput(b)
	lines := bytes.Split(bytes.TrimSpace(in), []byte{'\n'})
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if err := fastjson.ValidateBytes(l); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkBlocks is replay's hot path: blocks cut, validated and indexed
// in place (events borrowed), as replay.RunBlocks reads.
func BenchmarkBlocks(b *testing.B) {
	in := benchInput(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	d := NewBlockDecoder(Options{})
	for b.Loop() {
		sp := NewSplitter([]string{"-"}, bytes.NewReader(in), 0)
		var tail *Tail
		for blk, err := sp.Next(); err == nil; blk, err = sp.Next() {
			r := d.Decode(blk, tail)
			if len(r.Problems) > 0 {
				b.Fatal(r.Problems[0])
			}
			tail = r.Tail
			sp.Release(blk)
		}
	}
}
