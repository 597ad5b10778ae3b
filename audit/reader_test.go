package audit

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// write creates dir/name with data and the given modification time.
func write(t testing.TB, dir, name string, data []byte, mod time.Time) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mod, mod); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads everything and renders events as "source id" and problems
// with Error().
func readAll(t testing.TB, r *Reader) []string {
	t.Helper()
	var out []string
	r.OnProblem = func(p Problem) { out = append(out, "P "+p.Reason+" "+p.Error()) }
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out
		}
		id, _ := e.Top("auditID").Str()
		out = append(out, e.Where()+" "+id)
	}
}

func TestReaderInputs(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	plain := write(t, dir, "plain.json", []byte(ev("p1", t1)+"\n"+ev("p2", t1)+"\n"), base)
	gzipped := write(t, dir, "logs.gz", gz(t, ev("g1", t1)+"\n"+ev("g2", t1)), base)
	gzNoExt := write(t, dir, "rotated.1", gz(t, ev("r1", t1)), base)
	plainGzName := write(t, dir, "notreally.gz", []byte(ev("n1", t1)), base)
	multi := write(t, dir, "multi.gz", append(gz(t, ev("m1", t1)+"\n"), gz(t, ev("m2", t1)+"\n")...), base)

	r := NewReader([]string{plain, gzipped, gzNoExt, plainGzName, multi, "-", filepath.Join(dir, "missing.json")},
		strings.NewReader(ev("s1", t1)), Options{})
	got := readAll(t, r)
	want := []string{
		plain + ":1 p1", plain + ":2 p2",
		gzipped + ":1 g1", gzipped + ":2 g2",
		gzNoExt + ":1 r1",
		plainGzName + ":1 n1",
		multi + ":1 m1", multi + ":2 m2",
		"<stdin>:1 s1",
		"P read-error " + filepath.Join(dir, "missing.json") + ": no such file or directory",
	}
	if !equal(got, want) {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func TestReaderDirectoryOrder(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// Names disagree with times on purpose; b and a tie and go by name;
	// the subdirectory's file sorts among the others by its time.
	write(t, dir, "1-newest.json", []byte(ev("newest", t1)), base.Add(3*time.Hour))
	write(t, dir, "b.json", []byte(ev("b", t1)), base.Add(time.Hour))
	write(t, dir, "a.json", []byte(ev("a", t1)), base.Add(time.Hour))
	write(t, dir, "z-oldest.json.gz", gz(t, ev("oldest", t1)), base)
	write(t, dir, "sub/deep.json", []byte(ev("deep", t1)), base.Add(2*time.Hour))
	if err := os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "loop")); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range readAll(t, NewReader([]string{dir}, nil, Options{})) {
		ids = append(ids, line[strings.LastIndexByte(line, ' ')+1:])
	}
	want := []string{"oldest", "a", "b", "deep", "newest"}
	if !equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
}

func TestReaderNumStartAcrossInputs(t *testing.T) {
	dir := t.TempDir()
	f1 := write(t, dir, "1.json", []byte(ev("a", t2)+"\n"+ev("b", t1)), time.Now())
	f2 := write(t, dir, "2.json", []byte(ev("c", t3)), time.Now())
	r := NewReader([]string{f1, f2}, nil, Options{Cluster: "c1"})
	var events []*Event
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		events = append(events, e)
	}
	if len(events) != 3 {
		t.Fatalf("%d events", len(events))
	}
	for i, e := range events {
		if e.Num != uint64(i+1) || e.Start != events[0].Time || e.Cluster != "c1" {
			t.Errorf("event %d: Num %d Start %d Cluster %q", i, e.Num, e.Start, e.Cluster)
		}
	}
	if events[0].Time != 1540476553000000000 {
		t.Errorf("first Time %d", events[0].Time)
	}
}

func TestReaderCorruptGzip(t *testing.T) {
	dir := t.TempDir()
	data := gz(t, strings.Repeat(ev("a", t1)+"\n", 100))
	data[len(data)-5] ^= 0xff // break the CRC trailer
	p := write(t, dir, "bad.gz", data, time.Now())
	got := readAll(t, NewReader([]string{p}, nil, Options{}))
	// The error is found on reading past the data, so the last events
	// buffered before it come after it.
	var problems []string
	for _, g := range got {
		if strings.HasPrefix(g, "P ") {
			problems = append(problems, g)
		}
	}
	want := "P read-error " + p + ":101: (offset " + itoa(100*(len(ev("a", t1))+1)) + ") read error: gzip: invalid checksum"
	if len(got) != 101 || !equal(problems, []string{want}) {
		t.Errorf("%d results, problems %q", len(got), problems)
	}
	hdr := write(t, dir, "hdr.gz", []byte{0x1f, 0x8b, 0, 0}, time.Now())
	got = readAll(t, NewReader([]string{hdr}, nil, Options{}))
	if !equal(got, []string{"P read-error " + hdr + ": unexpected EOF"}) {
		t.Errorf("got %q", got)
	}
}

func TestReaderProblemsCollected(t *testing.T) {
	r := NewReader([]string{"-"}, strings.NewReader("x\n{\"kind\":1}\n"+ev("a", t1)), Options{})
	n := 0
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		}
		n++
	}
	ps := r.Problems()
	if n != 1 || len(ps) != 2 || ps[0].Reason != ReasonMalformed || ps[1].Reason != ReasonNotAudit {
		t.Fatalf("%d events, problems %v", n, ps)
	}
	if c := r.Counts(); c[ReasonMalformed] != 1 || c[ReasonNotAudit] != 1 {
		t.Errorf("counts %v", c)
	}
}

func TestReaderPosition(t *testing.T) {
	l := `{"kind":"EventList","items":[` + ev("a", t1) + "," + ev("b", t1) + "]}\n"
	in := ev("x", t1) + "\n" + l + ev("y", t1) + "\n"
	r := NewReader([]string{"-"}, strings.NewReader(in), Options{})
	want := []int64{int64(len(ev("x", t1))), int64(len(ev("x", t1)) + 1), int64(len(ev("x", t1)) + len(l)), int64(len(in) - 1)}
	for i, w := range want {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if name, off := r.Position(); name != StdinName || off != w {
			t.Errorf("after event %d: %s %d, want %d", i+1, name, off, w)
		}
	}
}

// TestReaderRetainedEvents keeps every event while the reader reuses its
// buffer under them; each must still hold its own bytes.
func TestReaderRetainedEvents(t *testing.T) {
	var in strings.Builder
	var want []string
	for i := range 2000 {
		e := ev(strings.Repeat("x", i%300), t1)
		want = append(want, e)
		in.WriteString(e + "\n")
	}
	r := NewReader([]string{"-"}, strings.NewReader(in.String()), Options{})
	r.bufSize = 4096
	var events []*Event
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		events = append(events, e)
	}
	for i, e := range events {
		if string(e.Raw) != want[i] || e.Where() != "<stdin>:"+itoa(i+1) {
			t.Fatalf("event %d changed: %q %s", i, e.Raw, e.Where())
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

const tracesDir = "../../shared/upstream/traces/k8s_audit"

func upstreamFiles() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(tracesDir, "*.json"))
	if err == nil && len(files) == 0 {
		err = os.ErrNotExist
	}
	return files, err
}

// upstreamTraces returns the upstream k8s_audit traces, or skips.
func upstreamTraces(t testing.TB) []string {
	files, err := upstreamFiles()
	if err != nil {
		t.Skipf("upstream traces not found in %s (../shared is absent): skipping", tracesDir)
	}
	return files
}

// TestUpstreamTraces reads every upstream trace (one event per line) and
// checks each event against encoding/json's reading of the same line.
func TestUpstreamTraces(t *testing.T) {
	for _, f := range upstreamTraces(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader([]string{f}, nil, Options{})
		var problems []Problem
		r.OnProblem = func(p Problem) { problems = append(problems, p) }
		var events []*Event
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			events = append(events, e)
		}
		if filepath.Base(f) == "fal_01_003.json" {
			if len(events) != 0 || len(problems) != 1 || !strings.Contains(problems[0].Error(), "data not recognized as a k8s audit event") {
				t.Errorf("%s: events %d, problems %v", f, len(events), problems)
			}
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(problems) != 0 || len(events) != len(lines) {
			t.Fatalf("%s: %d events for %d lines, problems %v", f, len(events), len(lines), problems)
		}
		for i, e := range events {
			var want struct{ StageTimestamp time.Time }
			if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
				t.Fatal(err)
			}
			if string(e.Raw) != strings.TrimSpace(lines[i]) || e.Time != want.StageTimestamp.UnixNano() {
				t.Errorf("%s:%d: Raw or Time (%d, want %d) differ", f, i+1, e.Time, want.StageTimestamp.UnixNano())
			}
		}
	}
}

// TestUpstreamTracesDirectory reads the traces as one directory, as
// replay does, and checks the count and the one problem.
func TestUpstreamTracesDirectory(t *testing.T) {
	files := upstreamTraces(t)
	got := readAll(t, NewReader([]string{filepath.Dir(files[0])}, nil, Options{}))
	var problems []string
	for _, g := range got {
		if strings.HasPrefix(g, "P ") {
			problems = append(problems, g)
		}
	}
	lines := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines += len(strings.Split(strings.TrimSpace(string(data)), "\n"))
	}
	if len(got)-len(problems) != lines-1 || len(problems) != 1 ||
		!strings.HasSuffix(problems[0], "fal_01_003.json:1: (offset 0) data not recognized as a k8s audit event: \"kind\" is a number, not a string") {
		t.Errorf("%d results, problems %q", len(got), problems)
	}
}
