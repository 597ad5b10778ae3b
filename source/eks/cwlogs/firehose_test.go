package cwlogs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/source/eks/cwlogs"
	cw "github.com/peregrine-sec/peregrine/source/eks/cwlogs/cwlogstest"
)

// decoded is what DecodeFirehose reported, as text: records' kinds,
// messages' auditIDs @ cluster, skips' reasons.
type decoded struct{ records, messages, skips []string }

func decode(t testing.TB, body []byte, max int) (decoded, string, error) {
	var d decoded
	id, err := cwlogs.DecodeFirehose(body, max, cwlogs.FirehoseVisitor{
		Record: func(kind, problem string) {
			if (kind == cwlogs.KindMalformed) != (problem != "") {
				t.Fatalf("record %s with problem %q", kind, problem)
			}
			d.records = append(d.records, kind)
		},
		Message: func(msg []byte, cluster string) {
			var e struct{ AuditID string }
			json.Unmarshal(msg, &e)
			d.messages = append(d.messages, e.AuditID+"@"+cluster)
		},
		Skip: func(reason, problem string) {
			if reason == "" || problem == "" {
				t.Fatal("a skip without a reason or problem")
			}
			d.skips = append(d.skips, reason)
		},
	})
	return d, id, err
}

const prod = "/aws/eks/prod/cluster"

func data(group string, ids ...string) []byte {
	msgs := make([]string, len(ids))
	for i, id := range ids {
		msgs[i] = cw.AuditEvent(id, "get", "pods")
	}
	return cw.Subscription("DATA_MESSAGE", group, cw.Stream(1), msgs...)
}

// TestDecodeFirehose is the record table: what each kind of record of a
// delivery request gives.
func TestDecodeFirehose(t *testing.T) {
	tests := []struct {
		name                     string
		body                     []byte
		records, messages, skips string
	}{
		{"gzip'd data message, as CloudWatch sends it", cw.Body("r", cw.Gzip(data(prod, "a", "b"))), "data", "a@prod b@prod", ""},
		{"decompressed by Firehose", cw.Body("r", data("/aws/eks/dev/cluster", "c")), "data", "c@dev", ""},
		{"records of two clusters", cw.Body("r", cw.Gzip(data(prod, "a")), cw.Gzip(data("/aws/eks/dev/cluster", "b"))), "data data", "a@prod b@dev", ""},
		{"control message: acknowledged, no events", cw.Body("r", cw.Gzip(cw.Control(prod))), "control", "", ""},
		{"another stream of the log group", cw.Body("r", cw.Gzip(cw.Subscription("DATA_MESSAGE", prod, "authenticator-abc", "time=x level=info"))), "other", "", ""},
		{"log group of no EKS cluster", cw.Body("r", cw.Gzip(data("/custom/audit", "a"))), "data", "a@", ""},
		{"bare message (Firehose message extraction)", cw.Body("r", []byte(cw.AuditEvent("m", "get", "pods"))), "data", "m@", ""},
		{"empty record", cw.Body("r", nil), "other", "", ""},
		{"truncated log event", cw.Body("r", cw.Gzip(cw.Subscription("DATA_MESSAGE", prod, cw.Stream(1),
			cw.AuditEvent("a", "get", "pods"), `{"kind":"Event"[Truncated...]`))), "data", "a@prod", "truncated"},
		{"bad gzip, the rest kept", cw.Body("r", []byte{0x1f, 0x8b, 1, 2}, cw.Gzip(data(prod, "a"))), "malformed data", "a@prod", ""},
		{"not JSON", cw.Body("r", []byte("hello")), "malformed", "", ""},
		{"data not base64", []byte(`{"requestId":"r","records":[{"data":"!!"},{"data":5}]}`), "malformed malformed", "", ""},
		{"record not an object", []byte(`{"requestId":"r","records":[7]}`), "malformed", "", ""},
		{"data as a JSON object (the documentation's example)", []byte(`{"requestId":"r","records":[{"data":` + string(data(prod, "o")) + `}]}`), "data", "o@prod", ""},
		{"no records", []byte(`{"requestId":"r","records":[]}`), "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, id, err := decode(t, tt.body, 1<<20)
			if err != nil || id != "r" {
				t.Fatalf("request id %q, error %v", id, err)
			}
			got := fmt.Sprintf("%s | %s | %s", strings.Join(d.records, " "), strings.Join(d.messages, " "), strings.Join(d.skips, " "))
			if want := tt.records + " | " + tt.messages + " | " + tt.skips; got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// TestNotFirehose: only a body that is no delivery request at all is an
// error (the webhook answers 400); records over the limit in all are
// ErrTooLarge (413).
func TestNotFirehose(t *testing.T) {
	for _, bad := range []string{``, `[]`, `{"requestId":"x"}`, `{"records":null}`, `{"records":{}}`, `{"records":[`} {
		if _, _, err := decode(t, []byte(bad), 1<<20); err == nil || errors.Is(err, cwlogs.ErrTooLarge) {
			t.Errorf("%s: error %v", bad, err)
		}
	}
	big := cw.Gzip([]byte(strings.Repeat(" ", 600)))
	if _, _, err := decode(t, cw.Body("r", big), 1000); err != nil {
		t.Fatalf("one record under the limit: %v", err)
	}
	if _, _, err := decode(t, cw.Body("r", big, big), 1000); !errors.Is(err, cwlogs.ErrTooLarge) {
		t.Fatalf("two records over the limit in all: %v", err)
	}
}

func TestFirehoseAnswer(t *testing.T) {
	now := time.UnixMilli(1578090903599)
	if a := string(cwlogs.FirehoseAnswer("ed4a", "", now)); a != `{"requestId":"ed4a","timestamp":1578090903599}` {
		t.Errorf("success: %s", a)
	}
	if a := string(cwlogs.FirehoseAnswer("ed4a", "spool full", now)); a != `{"requestId":"ed4a","timestamp":1578090903599,"errorMessage":"spool full"}` {
		t.Errorf("failure: %s", a)
	}
}

func TestClusterOf(t *testing.T) {
	for group, want := range map[string]string{
		cwlogs.LogGroup("prod-eu"): "prod-eu", "/aws/eks/prod/cluster/x": "", "/aws/eks//cluster": "",
		"/aws/eks/a/b/cluster": "", "/aws/lambda/f": "", "": "",
	} {
		if got := cwlogs.ClusterOf(group); got != want {
			t.Errorf("ClusterOf(%q) = %q, want %q", group, got, want)
		}
	}
}

// FuzzDecodeFirehose feeds arbitrary bodies, and Firehose bodies around
// arbitrary record data. DecodeFirehose must not panic; a body it accepts
// has each of its records reported exactly once; a malformed record says
// why; only data records give messages.
func FuzzDecodeFirehose(f *testing.F) {
	for _, s := range [][]byte{
		cw.Gzip(data(prod, "a", "b")), data(prod, "c"), cw.Gzip(cw.Control(prod)), []byte(cw.AuditEvent("m", "get", "pods")),
		{0x1f, 0x8b, 8, 0}, []byte(`{"messageType":"DATA_MESSAGE","logGroup":"/aws/eks/x/cluster","logEvents":[1,{"id":"1","message":"{}"},{"id":"1","message":"{}"}]}`),
	} {
		f.Add(s, false)
		f.Add(cw.Body("r", s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, raw bool) {
		body := in
		if !raw {
			body = cw.Body("r", in)
		}
		d, _, err := decode(t, body, 1<<20)
		if err != nil {
			return
		}
		var req struct{ Records []json.RawMessage }
		if json.Unmarshal(body, &req) != nil || len(req.Records) != len(d.records) {
			t.Fatalf("%d records reported for %d", len(d.records), len(req.Records))
		}
		if len(d.messages)+len(d.skips) > 0 && !strings.Contains(strings.Join(d.records, " "), cwlogs.KindData) {
			t.Fatalf("messages or skips %v %v from records %v", d.messages, d.skips, d.records)
		}
	})
}
