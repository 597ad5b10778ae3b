package eks

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
)

// subscription is a CloudWatch Logs subscription message.
func subscription(typ, group, stream string, msgs ...string) string {
	type ev struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	m := struct {
		MessageType         string   `json:"messageType"`
		Owner               string   `json:"owner"`
		LogGroup            string   `json:"logGroup"`
		LogStream           string   `json:"logStream"`
		SubscriptionFilters []string `json:"subscriptionFilters"`
		LogEvents           []ev     `json:"logEvents"`
	}{typ, "123456789012", group, stream, []string{"to-firehose"}, []ev{}}
	for i, msg := range msgs {
		m.LogEvents = append(m.LogEvents, ev{strings.Repeat("4", 55) + string(rune('0'+i)), ms(time.Second), msg})
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func gz(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

func firehoseBody(records ...[]byte) []byte {
	var rs []map[string]string
	for _, r := range records {
		rs = append(rs, map[string]string{"data": base64.StdEncoding.EncodeToString(r)})
	}
	b, _ := json.Marshal(map[string]any{"requestId": "req-1", "timestamp": 1, "records": rs})
	return b
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

func TestDecodeFirehose(t *testing.T) {
	ev := func(id string) string { return auditEvent(id, ms(time.Second)) }
	body := firehoseBody(
		gz(subscription("DATA_MESSAGE", "/aws/eks/prod/cluster", "kube-apiserver-audit-1", ev("a"), ev("b"))),
		gz(subscription("CONTROL_MESSAGE", "", "", "CWL CONTROL MESSAGE")),
		[]byte(subscription("DATA_MESSAGE", "/aws/eks/dev/cluster", "kube-apiserver-audit-9", ev("c"))), // decompressed by Firehose
		[]byte{0x1f, 0x8b, 1, 2},
	)
	var got, skipped []string
	id, err := DecodeFirehose(body, 0, func(msg []byte, cluster string) {
		var e struct{ AuditID string }
		json.Unmarshal(msg, &e)
		got = append(got, e.AuditID+"@"+cluster)
	}, func(reason, _ string) { skipped = append(skipped, reason) })
	if err != nil || id != "req-1" {
		t.Fatalf("request id %q, error %v", id, err)
	}
	if s := strings.Join(got, " "); s != "a@prod b@prod c@dev" {
		t.Fatalf("messages %q", s)
	}
	if s := strings.Join(skipped, " "); s != "malformed" {
		t.Fatalf("skipped %q, want the broken gzip record", s)
	}
	for _, bad := range []string{`[]`, `{"requestId":"x"}`, `{"records":[{"data":"!"}]}`} {
		if _, err := DecodeFirehose([]byte(bad), 0, nil, nil); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if _, err := DecodeFirehose(firehoseBody(gz(strings.Repeat(" ", 100))), 10, nil, func(string, string) {}); err != nil {
		t.Fatal(err)
	}
	if a := string(FirehoseAnswer("req-1", "", time.UnixMilli(5))); a != `{"requestId":"req-1","timestamp":5}` {
		t.Fatalf("answer %s", a)
	}
}

func auditOptions() audit.Options { return audit.Options{Formats: Formats} }
