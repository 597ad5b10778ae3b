package logentry

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source/gke/internal/gketest"
)

var knownReasons = map[string]bool{
	ReasonMalformed: true, ReasonNotAuditLog: true, ReasonNotK8sCluster: true,
	ReasonNotAuditPayload: true, ReasonNotK8sService: true, ReasonNoTimestamp: true,
}

// FuzzConvert: any input either converts into one valid audit event with
// a stageTimestamp the decoder reads, or is dropped with a known reason;
// nothing panics.
func FuzzConvert(f *testing.F) {
	if b, err := os.ReadFile("testdata/export.jsonl"); err == nil {
		for _, l := range bytes.Split(b, []byte("\n")) {
			f.Add(l)
		}
	}
	f.Add(gketest.Entry("io.k8s.core.v1.pods.exec.create", "core/v1/namespaces/default/pods/nginx/exec",
		gketest.Payload("request", gketest.PrivilegedPod), gketest.Payload("status", map[string]any{"code": 7})))
	f.Add(gketest.Entry("io.k8s.core.v1.namespaces.status.update", "core/v1/namespaces/foo/status",
		gketest.Payload("authenticationInfo", map[string]any{"serviceAccountDelegationInfo": []any{map[string]any{"principalSubject": "s"}}})))
	f.Add([]byte(`{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","resource":{"type":"k8s_cluster"},
		"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","request":{"@type":1}},"timestamp":"2024-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if json.Valid(data) { // the reader hands Format only valid documents
			convertDoc(data, func([]byte, string) {}, func(string, string) {})
		}
		out, err := Convert(data)
		if err != nil {
			var de *DropError
			if !errors.As(err, &de) || !knownReasons[de.Reason] {
				t.Fatalf("error %v is not a drop with a known reason", err)
			}
			if out != nil {
				t.Fatal("output with an error")
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		n := 0
		audit.DecodePayload(out, func(*audit.Event) { n++ }, func(p audit.Problem) { t.Fatalf("decoder: %v", p) })
		if n != 1 {
			t.Fatalf("%d events", n)
		}
	})
}
