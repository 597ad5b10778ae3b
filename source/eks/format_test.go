package eks

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/peregrine-sec/peregrine/audit"
)

// filterOutput is `aws logs filter-log-events` output (pretty-printed, as
// the CLI prints it) holding the messages.
func filterOutput(msgs ...string) string {
	type ev struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
		EventID       string `json:"eventId"`
	}
	out := struct {
		Events             []ev  `json:"events"`
		SearchedLogStreams []any `json:"searchedLogStreams"`
	}{SearchedLogStreams: []any{}}
	for i, m := range msgs {
		out.Events = append(out.Events, ev{"kube-apiserver-audit-1", ms(time.Second), m, ms(2 * time.Second), strings.Repeat("3", 50) + string(rune('0'+i%10))})
	}
	b, _ := json.MarshalIndent(out, "", "    ")
	return string(b) + "\n"
}

// exportLine is a line of a CloudWatch S3 export.
func exportLine(msg string) string { return "2024-05-01T10:00:01.000Z " + msg + "\n" }

func TestFormats(t *testing.T) {
	ev := func(id string) string { return auditEvent(id, ms(time.Second)) }
	trunc := `{"kind":"Event","auditID":"big","requestObject":{"a":"[Truncated...]`
	dupOutput := strings.Replace(filterOutput(ev("a"), ev("b")), strings.Repeat("3", 50)+"1", strings.Repeat("3", 50)+"0", 1)
	tests := []struct {
		name     string
		force    *audit.Format
		input    string
		ids      string
		problems string
	}{
		{name: "filter-log-events output", input: filterOutput(ev("a"), trunc, ev("b")), ids: "a b", problems: "truncated"},
		{name: "export lines among audit lines", input: exportLine(ev("a")) + ev("b") + "\n" + exportLine(trunc) + exportLine(ev("c")),
			ids: "a b c", problems: "truncated"},
		{name: "repeated eventId", input: dupOutput, ids: "a", problems: "duplicate"},
		{name: "an export line whose message is not audit", input: exportLine(`{"kind":"Pod"}`) + exportLine("plain text"),
			problems: "not-audit malformed"},
		{name: "forced cloudwatch reads both shapes", force: CloudWatchFormat,
			input: exportLine(ev("a")) + filterOutput(ev("b")) + ev("c") + "\n", ids: "a b c"},
		{name: "forced cloudwatch-json", force: FilterLogEventsFormat, input: filterOutput(ev("a")) + `{"x":1}` + "\n",
			ids: "a", problems: "not-audit"},
		{name: "not an events object", input: `{"events":{}}` + "\n", problems: "not-audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := audit.Options{Formats: Formats, Cluster: "c1"}
			if tt.force != nil {
				opts = audit.Options{Force: tt.force, Cluster: "c1"}
			}
			ids, probs := readAll(t, tt.input, opts)
			if ids != tt.ids || probs != tt.problems {
				t.Fatalf("events %q problems %q, want %q and %q", ids, probs, tt.ids, tt.problems)
			}
		})
	}
}

// TestFormatCluster: a subscription message names its log group, so its
// events are of that cluster unless --cluster says otherwise;
// filter-log-events output names none.
func TestFormatCluster(t *testing.T) {
	ev := auditEvent("a", ms(time.Second))
	tests := []struct {
		input, flag, want string
	}{
		{subscription("DATA_MESSAGE", group, "kube-apiserver-audit-1", ev) + "\n", "", "my-cluster"},
		{subscription("DATA_MESSAGE", group, "kube-apiserver-audit-1", ev) + "\n", "c1", "c1"},
		{filterOutput(ev), "", ""},
	}
	for _, tt := range tests {
		r := audit.NewReader([]string{"-"}, strings.NewReader(tt.input), audit.Options{Formats: Formats, Cluster: tt.flag})
		e, err := r.Next()
		if err != nil {
			t.Fatalf("%.40s: %v", tt.input, err)
		}
		if e.Cluster != tt.want {
			t.Errorf("%.40s --cluster %q: cluster %q, want %q", tt.input, tt.flag, e.Cluster, tt.want)
		}
	}
}

// TestExportFile reads a gzip'd export file, as S3 holds them.
func TestExportFile(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(exportLine(auditEvent("a", ms(time.Second))) + exportLine(auditEvent("b", ms(2*time.Second)))))
	zw.Close()
	path := filepath.Join(t.TempDir(), "000000.gz")
	os.WriteFile(path, buf.Bytes(), 0o644)
	r := audit.NewReader([]string{path}, nil, audit.Options{Formats: Formats})
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		n++
	}
	if n != 2 || len(r.Problems()) != 0 {
		t.Fatalf("%d events, problems %v", n, r.Problems())
	}
}

// readAll reads input and returns the auditIDs and the problem reasons.
func readAll(t testing.TB, input string, opts audit.Options) (string, string) {
	r := audit.NewReader([]string{"-"}, strings.NewReader(input), opts)
	var ids, probs []string
	r.OnProblem = func(p audit.Problem) { probs = append(probs, p.Reason) }
	for {
		e, err := r.Next()
		if err != nil {
			break
		}
		if fastjson.ValidateBytes(e.Raw) != nil || e.Raw[0] != '{' {
			t.Fatalf("event %q is not a JSON object", e.Raw)
		}
		if opts.Cluster != "" && e.Cluster != opts.Cluster { // else the record's (TestFormatCluster)
			t.Fatalf("event cluster %q, want %q", e.Cluster, opts.Cluster)
		}
		id, _ := e.Top("auditID").Str()
		ids = append(ids, id)
	}
	return strings.Join(ids, " "), strings.Join(probs, " ")
}

// FuzzFormats feeds arbitrary documents and lines to the CloudWatch
// formats, directly and through a Reader (sniffed and forced). They must
// not panic; what an export line emits is its message, cut from the line;
// every event a Reader returns is a JSON object. (cwlogs.FuzzDecodeFirehose
// covers Firehose deliveries.)
func FuzzFormats(f *testing.F) {
	ev := auditEvent("a", ms(time.Second))
	for _, s := range []string{
		filterOutput(ev, `{"kind":"Event"[Truncated...]`),
		exportLine(ev) + exportLine("x"),
		`{"events":[1,{"message":5},{"message":"{}","eventId":"1"},{"eventId":"1","message":"x"}]}`,
		"2024-05-01T10:00:01Z", "2024-05-01T10:00:01.000Z ",
		subscription("DATA_MESSAGE", group, "kube-apiserver-audit-1", ev, "x"),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, fm := range Formats {
			fm.Match(in)
			fm.Convert(in, func(p []byte, _ string) {
				if fm == CloudWatchFormat && len(in) > 0 && in[0] != '{' && in[0] != '[' && !bytes.Contains(in, bytes.TrimSpace(p)) {
					t.Fatalf("export line %q emitted %q, which is not in it", in, p)
				}
			}, func(reason, msg string) {
				if reason == "" || msg == "" {
					t.Fatal("a skip without a reason or message")
				}
			})
		}
		for _, opts := range []audit.Options{{Formats: Formats}, {Force: CloudWatchFormat}, {Force: FilterLogEventsFormat}} {
			readAll(t, string(in), opts)
		}
	})
}
