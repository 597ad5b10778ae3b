package eks

import (
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source/eks/cwlogs/cwlogstest"
)

// subscription is a CloudWatch Logs subscription message, as text.
func subscription(typ, group, stream string, msgs ...string) string {
	return string(cwlogstest.Subscription(typ, group, stream, msgs...))
}

func TestSubscriptionFormat(t *testing.T) {
	ev := func(id string) string { return auditEvent(id, ms(time.Second)) }
	tests := []struct {
		name, input, ids, problems string
	}{
		{"data message", subscription("DATA_MESSAGE", group, "kube-apiserver-audit-1", ev("a"), ev("b")) + "\n", "a b", ""},
		{"control message", subscription("CONTROL_MESSAGE", group, "", "CWL CONTROL MESSAGE: Checking health of destination Firehose.") + "\n", "", ""},
		{"other stream", subscription("DATA_MESSAGE", group, "authenticator-1", "time=x msg=y") + "\n", "", ""},
		{"concatenated, as Firehose writes to S3", subscription("DATA_MESSAGE", group, "kube-apiserver-audit-1", ev("a")) +
			subscription("DATA_MESSAGE", group, "kube-apiserver-audit-2", ev("b")), "a b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, probs := readAll(t, tt.input, auditOptions())
			if ids != tt.ids || probs != tt.problems {
				t.Fatalf("events %q problems %q, want %q and %q", ids, probs, tt.ids, tt.problems)
			}
		})
	}
}

func auditOptions() audit.Options { return audit.Options{Formats: Formats} }
