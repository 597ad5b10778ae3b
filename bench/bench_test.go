package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/gen"
)

// TestMain lets the test binary act as the bench's child process, as the
// peregrine binary does in `peregrine bench`.
func TestMain(m *testing.M) {
	if IsChild() {
		if err := Child(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestQuick runs the whole bench on a tiny input, in child processes and in
// process. It checks that every part is there, never the numbers.
func TestQuick(t *testing.T) {
	tests := []struct {
		name   string
		self   []string
		format gen.Format
	}{
		{"children", []string{os.Args[0], "-test.run=^$"}, gen.JSONLines},
		{"in process, eventlist", nil, gen.EventList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(Config{Size: 1 << 20, Dir: t.TempDir(), Self: tt.self, Format: tt.format, Seed: 3, AttackShare: 0.02, StartupRuns: 2, Quick: true})
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, rep)
		})
	}
}

func checkReport(t *testing.T, rep *Report) {
	t.Helper()
	if len(rep.Replay) != 4 || len(rep.Validators) != len(validatorPasses) {
		t.Fatalf("%d replays and %d validators, want 4 and %d", len(rep.Replay), len(rep.Validators), len(validatorPasses))
	}
	def := rep.replay("default", true)
	if def == nil || def.Events == 0 || int64(def.Events) != rep.Input.Events {
		t.Fatalf("default rules, 1 core: %+v; input has %d events", def, rep.Input.Events)
	}
	for _, v := range rep.Validators {
		if v.Invalid != 0 || v.Bytes != rep.Input.Bytes {
			t.Errorf("%s: %d invalid lines, %d bytes of %d", v.Name, v.Invalid, v.Bytes, rep.Input.Bytes)
		}
	}
	if w := rep.Webhook; !w.Measured || w.EventsPerSec <= 0 || w.RateAchieved <= 0 || w.RateEvents == 0 || w.Alerts == 0 || w.P99Ms <= 0 || w.RSSBytes <= 0 {
		t.Errorf("webhook: %+v", rep.Webhook)
	}
	if len(rep.Detection) == 0 || rep.Detection[len(rep.Detection)-1].AttackEvents == 0 {
		t.Errorf("no detection tally: %+v", rep.Detection)
	}
	var table, js bytes.Buffer
	if err := rep.WriteTable(&table); err != nil || !strings.Contains(table.String(), "REPLAY") {
		t.Fatalf("table: %v\n%s", err, table.String())
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Replay) != 4 {
		t.Fatalf("report JSON does not read back: %v", err)
	}
}

func TestEachLine(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // longer than the read buffer
	tests := []struct {
		name  string
		data  string
		lines []string
	}{
		{"lines", "a\nbb\n", []string{"a", "bb"}},
		{"crlf and no final newline", "a\r\nb", []string{"a", "b"}},
		{"blank lines", "a\n\n\nb\n", []string{"a", "", "", "b"}},
		{"long line", "a\n" + long + "\nb\n", []string{"a", long, "b"}},
	}
	for _, tt := range tests {
		for _, gz := range []bool{false, true} {
			path := writeInput(t, tt.data, gz)
			var got []string
			var n int
			err := eachLine(path, func(line []byte, size int) { got = append(got, string(line)); n += size })
			if err != nil || !reflect.DeepEqual(got, tt.lines) || n != len(tt.data) {
				t.Errorf("%s (gzip %v): %d lines, %d bytes, %v; want %d lines, %d bytes", tt.name, gz, len(got), n, err, len(tt.lines), len(tt.data))
			}
		}
	}
}

func writeInput(t *testing.T, data string, gz bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in")
	b := []byte(data)
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		b = buf.Bytes()
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCensus checks the ground truth against what the generator says it
// planted.
func TestCensus(t *testing.T) {
	for _, f := range []gen.Format{gen.JSONLines, gen.EventList} {
		o := gen.DefaultOptions()
		o.Events, o.AttackShare, o.Format = 3000, 0.05, f
		path := filepath.Join(t.TempDir(), "in")
		st, _, err := generate(path, o)
		if err != nil {
			t.Fatal(err)
		}
		c, err := takeCensus(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.Events != st.Events || !reflect.DeepEqual(c.Attacks, st.Attacks) {
			t.Errorf("%s: census %d events %v, generated %d %v", f, c.Events, c.Attacks, st.Events, st.Attacks)
		}
	}
}

func TestProcKB(t *testing.T) {
	status := "Name:\tx\nVmPeak:\t  2000 kB\nVmHWM:\t    1024 kB\n"
	tests := []struct {
		key  string
		want int64
	}{
		{"VmHWM:", 1 << 20},
		{"VmPeak:", 2000 << 10},
		{"VmRSS:", 0},
	}
	for _, tt := range tests {
		if got := procKB(status, tt.key); got != tt.want {
			t.Errorf("procKB(%s) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

// TestBusy: a run that starts with half the cores' worth of other work is
// flagged; a quiet one, or an unknown core count, is not.
func TestBusy(t *testing.T) {
	tests := []struct {
		load  float64
		cores int
		want  bool
	}{
		{0.2, 2, false},
		{0.99, 2, false},
		{1.0, 2, true},
		{2.7, 2, true},
		{3, 8, false},
		{5, 0, false},
	}
	for _, tt := range tests {
		if got := (Machine{LoadStart: tt.load, Cores: tt.cores}).busy(); got != tt.want {
			t.Errorf("load %.2f on %d cores: busy %v, want %v", tt.load, tt.cores, got, tt.want)
		}
	}
}

// TestWebhookBatches checks that a stamped batch is an EventList whose
// events name their batch, as the alerts' times are read back.
func TestWebhookBatches(t *testing.T) {
	events, err := webhookEvents(1, 700)
	if err != nil {
		t.Fatal(err)
	}
	batches, err := encodeBatches(events)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 4 || len(batches[0].ts) != 100 || len(batches[3].ts) != 400 {
		t.Fatalf("%d batches", len(batches))
	}
	body := batches[1].stamp(nil, 37)
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil || list.Kind != "EventList" || len(list.Items) != 200 {
		t.Fatalf("%v: %s, %d items", err, list.Kind, len(list.Items))
	}
	for _, ev := range list.Items {
		line := fmt.Sprintf(`{"rule":"x","time":%q}`, ev["stageTimestamp"])
		if got := batchOf([]byte(line)); got != 37 {
			t.Fatalf("batchOf(%s) = %d, want 37", line, got)
		}
	}
}
