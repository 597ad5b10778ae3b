// Package cwlogstest builds what CloudWatch Logs and Firehose send, in the
// documented shapes, for tests: subscription messages, gzip'd and base64'd
// into Firehose HTTP endpoint delivery requests.
package cwlogstest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Subscription is a CloudWatch Logs subscription message of type typ
// (DATA_MESSAGE, CONTROL_MESSAGE) carrying msgs as log events.
func Subscription(typ, group, stream string, msgs ...string) []byte {
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
		m.LogEvents = append(m.LogEvents, ev{fmt.Sprintf("%056d", i), 1714557600000 + int64(i), msg})
	}
	b, _ := json.Marshal(m)
	return b
}

// Control is the control message CloudWatch Logs sends to check that the
// destination is reachable.
func Control(group string) []byte {
	return Subscription("CONTROL_MESSAGE", group, "", "CWL CONTROL MESSAGE: Checking health of destination Firehose.")
}

// Gzip compresses b, as CloudWatch Logs compresses subscription messages.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Body is a Firehose HTTP endpoint delivery request body with the records'
// data in base64.
func Body(requestID string, records ...[]byte) []byte {
	rs := []map[string]string{}
	for _, r := range records {
		rs = append(rs, map[string]string{"data": base64.StdEncoding.EncodeToString(r)})
	}
	b, _ := json.Marshal(map[string]any{"requestId": requestID, "timestamp": 1714557601000, "records": rs})
	return b
}

// Request is the POST Firehose makes to url with body: its headers, the
// access key when not empty, and the body gzip'd with Content-Encoding when
// gzipBody (the stream's "Content encoding: GZIP").
func Request(url, requestID, accessKey string, body []byte, gzipBody bool) *http.Request {
	if gzipBody {
		body = Gzip(body)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Firehose-Protocol-Version", "1.0")
	req.Header.Set("X-Amz-Firehose-Request-Id", requestID)
	req.Header.Set("X-Amz-Firehose-Source-Arn", "arn:aws:firehose:us-east-1:123456789012:deliverystream/eks-audit")
	req.Header.Set("X-Amz-Firehose-Common-Attributes", `{"commonAttributes":{}}`)
	if accessKey != "" {
		req.Header.Set("X-Amz-Firehose-Access-Key", accessKey)
	}
	if gzipBody {
		req.Header.Set("Content-Encoding", "gzip")
	}
	return req
}

// AuditEvent is an audit Event's JSON with the given auditID, verb and
// resource.
func AuditEvent(id, verb, resource string) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":%q,"stage":"ResponseComplete",`+
		`"verb":%q,"user":{"username":"alice"},"objectRef":{"resource":%q,"namespace":"default","name":"x"},"stageTimestamp":"2024-05-01T10:00:00.000000Z"}`,
		id, verb, resource)
}

// Stream is an EKS audit log stream name.
func Stream(n int) string { return "kube-apiserver-audit-" + strings.Repeat(fmt.Sprint(n), 8) }
