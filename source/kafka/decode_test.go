package kafka

import (
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/peregrine-sec/peregrine/audit"
)

// TestDecodeRecords covers what a record's value may be and where the
// events' cluster name comes from.
func TestDecodeRecords(t *testing.T) {
	ev := auditEvent("x")
	quoted := strconv.Quote(ev)
	tests := []struct {
		name    string
		cfg     map[string]any
		value   string
		headers map[string]string
		want    int    // events
		cluster string // of every event
		skipped string // reason of the one problem expected, if any
	}{
		{name: "event", value: ev, want: 1},
		{name: "event list", value: `{"kind":"EventList","items":[` + ev + `,` + ev + `]}`, want: 2},
		{name: "array", value: `[` + ev + `,` + ev + `,` + ev + `]`, want: 3},
		{name: "json lines", value: ev + "\n" + ev + "\n", want: 2},
		{name: "configured cluster", cfg: map[string]any{"cluster_name": "prod"}, value: ev, want: 1, cluster: "prod"},
		{name: "header wins over config", cfg: map[string]any{"cluster_name": "prod", "cluster_header": "k8s-cluster"},
			value: ev, headers: map[string]string{"k8s-cluster": "eu-1"}, want: 1, cluster: "eu-1"},
		{name: "missing header falls back", cfg: map[string]any{"cluster_name": "prod", "cluster_header": "k8s-cluster"},
			value: ev, want: 1, cluster: "prod"},
		{name: "field of an envelope", cfg: map[string]any{"event_field": "log", "cluster_field": "kubernetes.cluster"},
			value: `{"kubernetes":{"cluster":"us-2"},"log":` + quoted + `}`, want: 1, cluster: "us-2"},
		{name: "envelope with an object", cfg: map[string]any{"event_field": "message"},
			value: `{"@timestamp":"x","message":` + ev + `}`, want: 1},
		{name: "envelope not configured", value: `{"log":` + quoted + `}`, skipped: audit.ReasonNotAudit},
		{name: "azure records", value: `{"records":[{"category":"kube-audit","properties":{"log":` + quoted + `}},` +
			`{"category":"kube-audit-admin","properties":{"log":` + quoted + `}}]}`, want: 2},
		{name: "azure records of another category", value: `{"records":[{"category":"kube-apiserver","properties":{"log":"I0101 started"}}]}`,
			skipped: audit.ReasonNotAudit},
		{name: "not json", value: `{"kind":`, skipped: audit.ReasonMalformed},
		{name: "too large", cfg: map[string]any{"max_event_size": 100}, value: ev, skipped: audit.ReasonTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ic := map[string]any{"brokers": "localhost:9092", "topics": "t"}
			for k, v := range tc.cfg {
				ic[k] = v
			}
			cfg, err := ParseConfig(ic, "")
			if err != nil {
				t.Fatal(err)
			}
			r := &kgo.Record{Value: []byte(tc.value)}
			for k, v := range tc.headers {
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
			}
			var events []*audit.Event
			var problems []audit.Problem
			newDecoder(cfg).decode(r, func(e *audit.Event) { events = append(events, e) }, func(p audit.Problem) { problems = append(problems, p) })
			if len(events) != tc.want {
				t.Errorf("%d events, want %d (problems %v)", len(events), tc.want, problems)
			}
			for _, e := range events {
				if e.Cluster != tc.cluster {
					t.Errorf("cluster %q, want %q", e.Cluster, tc.cluster)
				}
			}
			switch {
			case tc.skipped == "" && len(problems) > 0:
				t.Errorf("unexpected problems %v", problems)
			case tc.skipped != "" && (len(problems) != 1 || problems[0].Reason != tc.skipped):
				t.Errorf("problems %v, want one %s", problems, tc.skipped)
			}
		})
	}
}
