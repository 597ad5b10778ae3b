package logentry

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
)

const native = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"native-1","stage":"ResponseComplete","verb":"get","stageTimestamp":"2024-05-01T09:00:00Z"}`

// TestFormat: replay reads Cloud Logging exports, JSON lines (a GCS sink)
// or a JSON array (gcloud logging read --format=json), sniffed among
// audit events or forced, and skips what is not a Kubernetes audit log
// with its reason.
func TestFormat(t *testing.T) {
	lines, err := os.ReadFile("testdata/export.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	array, err := os.ReadFile("testdata/gcloud.json")
	if err != nil {
		t.Fatal(err)
	}
	sniff := audit.Options{Formats: []*audit.Format{Format}, Cluster: "flag"}
	tests := []struct {
		name, input string
		opts        audit.Options
		ids         string
		problems    string
	}{
		{"sink lines", string(lines), sniff, "gke-0001 gke-0002 gke-0003 gke-0004", "not-audit-log not-k8s-cluster"},
		{"gcloud array", string(array), sniff, "gke-0101 gke-0102", ""},
		{"mixed with audit events", native + "\n" + string(lines[:strings.IndexByte(string(lines), '\n')+1]), sniff, "native-1 gke-0001", ""},
		{"forced", string(array), audit.Options{Force: Format}, "gke-0101 gke-0102", ""},
		{"not sniffed without the format", string(array), audit.Options{}, "", "not-audit"},
		{"forced on an audit event", native, audit.Options{Force: Format}, "", "not-audit-log"},
		{"broken element", `[{"logName":"projects/p/logs/x"}, 3]`, sniff, "", "malformed not-audit-log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := audit.NewReader([]string{"-"}, strings.NewReader(tt.input), tt.opts)
			var ids, probs []string
			r.OnProblem = func(p audit.Problem) { probs = append(probs, p.Reason) }
			for {
				e, err := r.Next()
				if err != nil {
					break
				}
				id, _ := e.Top("auditID").Str()
				ids = append(ids, id)
				if strings.HasPrefix(id, "gke-") && e.Cluster != tt.opts.Cluster {
					t.Errorf("%s: cluster %q", id, e.Cluster)
				}
			}
			sort.Strings(probs)
			if got := strings.Join(ids, " "); got != tt.ids {
				t.Errorf("events %q, want %q", got, tt.ids)
			}
			if got := strings.Join(probs, " "); got != tt.problems {
				t.Errorf("problems %q, want %q", got, tt.problems)
			}
		})
	}
}
