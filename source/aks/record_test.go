package aks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source/aks/akstest"
)

var (
	ev1      = akstest.AuditEvent("a1b2c3d4-0000-4000-8000-000000000001", 1)
	ev2      = akstest.AuditEvent("a1b2c3d4-0000-4000-8000-000000000002", 2)
	rec1     = akstest.Record("kube-audit", "aks-prod", ev1)
	rec2     = akstest.Record("kube-audit-admin", "aks-prod", ev2)
	apiLog   = akstest.Record("kube-apiserver", "aks-prod", akstest.APIServerLog)
	cut      = akstest.Record("kube-audit", "aks-prod", akstest.Truncated(ev1, 300))
	eventTwo = `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + ev1 + `,` + ev2 + `]}`
)

// cutAtBrace cuts an event right after a nested object's closing brace,
// which the cheap last-byte test cannot tell from a whole event.
func cutAtBrace(ev string) string {
	i := strings.Index(ev, `"user":{`)
	j := strings.IndexByte(ev[i:], '}')
	return ev[:i+j+1]
}

// decodeAll runs the live decoder over a body and describes what came out:
// "event AUDITID CLUSTER" and "skip REASON" in order.
func decodeAll(cfg Config, openParams string, body []byte) []string {
	var out []string
	d := decoder{opts: audit.Options{MaxEventSize: cfg.MaxEventSize}, cfg: cfg, openParams: openParams,
		skip: func(reason, _ string) { out = append(out, "skip "+reason) }}
	d.body(body, func(e *audit.Event) {
		id, _ := e.Get("auditID").Str()
		out = append(out, "event "+id[len(id)-1:]+" "+e.Cluster)
	})
	return out
}

func TestDecode(t *testing.T) {
	big := akstest.AuditEvent("a1b2c3d4-0000-4000-8000-000000000003", 3)
	tests := []struct {
		name       string
		cfg        Config
		openParams string
		body       string
		want       []string
	}{
		{name: "records body", body: string(akstest.Body(rec1, rec2)),
			want: []string{"event 1 AKS-PROD", "event 2 AKS-PROD"}},
		{name: "archive line (one record)", body: rec1, want: []string{"event 1 AKS-PROD"}},
		{name: "other categories counted and skipped", body: string(akstest.Body(apiLog, rec1, akstest.Record("guard", "aks-prod", "{}"))),
			want: []string{"skip other-category", "event 1 AKS-PROD", "skip other-category"}},
		{name: "truncated event", body: string(akstest.Body(cut, rec2)),
			want: []string{"skip truncated", "event 2 AKS-PROD"}},
		{name: "truncated right after a brace", body: string(akstest.Body(akstest.Record("kube-audit", "x", cutAtBrace(ev1)))),
			want: []string{"skip truncated"}},
		{name: "EventList in one log", body: string(akstest.Body(akstest.Record("kube-audit", "c", eventTwo))),
			want: []string{"event 1 C", "event 2 C"}},
		{name: "log that is not JSON", body: string(akstest.Body(akstest.Record("kube-audit", "c", "oops}"))),
			want: []string{"skip malformed"}},
		{name: "record without a log", body: `{"records":[{"category":"kube-audit","properties":{"stream":"stdout"}}]}`,
			want: []string{"skip not-audit"}},
		{name: "category-less record decoded as upstream does", body: `{"records":[{"properties":{"log":` + quote(ev1) + `}}]}`,
			want: []string{"event 1 "}},
		{name: "event without stageTimestamp", body: string(akstest.Body(akstest.Record("kube-audit", "c", `{"kind":"Event","auditID":"x9"}`))),
			want: []string{"skip no-timestamp"}},
		{name: "event over maxEventSize", cfg: Config{MaxEventSize: 100}, body: string(akstest.Body(akstest.Record("kube-audit", "c", big))),
			want: []string{"skip too-large"}},
		{name: "body not JSON", body: `{"records":[{"category":`, want: []string{"skip malformed"}},
		{name: "JSON, not records", body: `{"hello":"world"}`, want: []string{"skip not-audit"}},
		{name: "records element not an object", body: `{"records":["x"]}`, want: []string{"skip malformed"}},
		{name: "empty records", body: `{"records":[]}`},
		{name: "cluster_name wins", cfg: Config{Cluster: "named"}, openParams: "op", body: rec1, want: []string{"event 1 named"}},
		{name: "open_params next", openParams: "my-cluster", body: rec1, want: []string{"event 1 my-cluster"}},
		{name: "open_params default means resourceId", openParams: "default", body: rec1, want: []string{"event 1 AKS-PROD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAll(tt.cfg, tt.openParams, []byte(tt.body))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestBrokenMessage(t *testing.T) {
	idAt := strings.Index(ev1, "a1b2c3d4")
	tests := []struct {
		log, reason, msg string
	}{
		{akstest.Truncated(ev1, 300), ReasonTruncated, `audit event cut off at 300 bytes (auditID "a1b2c3d4-0000-4000-8000-000000000001")`},
		{ev1[:idAt+16], ReasonTruncated, fmt.Sprintf(`audit event cut off at %d bytes (auditID "a1b2c3d4-0000-40")`, idAt+16)},
		{`{"kind":"Event"`, ReasonTruncated, `audit event cut off at 15 bytes (auditID "")`},
		{`not json`, audit.ReasonMalformed, `properties.log of 8 bytes is not JSON (auditID "")`},
		{`{"auditID":"x",,}`, audit.ReasonMalformed, `properties.log of 17 bytes is not JSON (auditID "x")`},
	}
	for _, tt := range tests {
		reason, msg := Broken([]byte(tt.log))
		if reason != tt.reason || msg != tt.msg {
			t.Errorf("Broken(%.30q) = %s, %s; want %s, %s", tt.log, reason, msg, tt.reason, tt.msg)
		}
	}
}

func TestClusterOfResource(t *testing.T) {
	tests := map[string]string{
		akstest.ResourceID("prod-1"): "PROD-1",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/dev":       "dev",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/dev/extra": "dev",
		"/subscriptions/s/resourceGroups/rg": "",
		"":                                   "",
		"\xfc/MANAGEDCLUSTERS/x":             "x", // not UTF-8: found by FuzzDecode
	}
	for id, want := range tests {
		if got := ClusterOfResource(id); got != want {
			t.Errorf("ClusterOfResource(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestFormat reads a PT1H.json-like archive and a saved message body
// through audit.Reader, as `peregrine replay` does: records' events are
// of the cluster their resourceId names, a plain event of none.
func TestFormat(t *testing.T) {
	in := rec1 + "\n" + apiLog + "\n" + cut + "\n" + string(akstest.Body(rec2)) + "\n" + ev1 + "\n"
	rd := audit.NewReader([]string{"-"}, strings.NewReader(in), audit.Options{Formats: []*audit.Format{Format}})
	var probs []string
	rd.OnProblem = func(p audit.Problem) { probs = append(probs, p.Reason) }
	var ids []string
	for {
		e, err := rd.Next()
		if err != nil {
			break
		}
		id, _ := e.Get("auditID").Str()
		ids = append(ids, id[len(id)-1:]+"@"+e.Cluster)
	}
	if got, want := strings.Join(ids, ","), "1@AKS-PROD,2@AKS-PROD,1@"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}
	if got, want := strings.Join(probs, ","), "other-category,truncated"; got != want {
		t.Errorf("problems %s, want %s", got, want)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{string(akstest.Body(rec1, apiLog, cut)), rec2, `{"records":[{"properties":{"log":"{\"kind\":\"Event\"}"}}]}`,
		`{"records":[1,{"category":"kube-audit","properties":{"log":"[` + strings.Repeat("[", 70) + `"}}]}`} {
		f.Add([]byte(s))
	}
	reasons := map[string]bool{ReasonTruncated: true, ReasonCategory: true, audit.ReasonMalformed: true,
		audit.ReasonNotAudit: true, audit.ReasonNoTimestamp: true, audit.ReasonTooLarge: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		d := decoder{opts: audit.Options{MaxEventSize: 1 << 16}, skip: func(reason, msg string) {
			if !reasons[reason] || msg == "" {
				t.Fatalf("skip reason %q, message %q", reason, msg)
			}
		}}
		d.body(body, func(e *audit.Event) {
			if !json.Valid(e.Raw) || e.Time == 0 {
				t.Fatalf("event %q time %d", e.Raw, e.Time)
			}
		})
		convertRecords(body, func([]byte, string) {}, func(reason, msg string) {
			if !reasons[reason] {
				t.Fatalf("format skip reason %q", reason)
			}
		})
	})
}
