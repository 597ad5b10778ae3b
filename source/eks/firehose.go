package eks

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/buger/jsonparser"

	"github.com/peregrine-sec/peregrine/audit"
)

// Large EKS users stream the audit log group to Kinesis Data Firehose
// through a CloudWatch Logs subscription filter instead of polling it.
// Firehose's HTTP endpoint destination POSTs batches of records, each the
// base64 of a gzip'd subscription message. DecodeFirehose turns such a
// request into audit messages, for a webhook path to accept; the daemon
// does not mount one yet.

// DecodeFirehose decodes a Firehose HTTP endpoint delivery request
// ({"requestId":...,"records":[{"data":"<base64>"}]}). It calls emit with
// each audit message and the cluster its log group names
// (/aws/eks/<cluster>/cluster), and skip for what it cannot use. A record
// decompresses to at most maxSize bytes (0: audit.DefaultMaxDocSize). The
// error is for a body that is not a delivery request at all (answer 400).
func DecodeFirehose(body []byte, maxSize int, emit func(msg []byte, cluster string), skip func(reason, msg string)) (requestID string, err error) {
	var req struct {
		RequestID string `json:"requestId"`
		Records   []struct {
			Data []byte `json:"data"` // encoding/json decodes base64
		} `json:"records"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "", fmt.Errorf("not a Firehose delivery request: %w", err)
	}
	if req.Records == nil {
		return req.RequestID, fmt.Errorf(`not a Firehose delivery request: no "records"`)
	}
	if maxSize <= 0 {
		maxSize = audit.DefaultMaxDocSize
	}
	for i, r := range req.Records {
		doc, err := unzipRecord(r.Data, maxSize)
		if err != nil {
			skip(audit.ReasonMalformed, fmt.Sprintf("records[%d]: %v", i, err))
			continue
		}
		group, _ := jsonparser.GetString(doc, "logGroup")
		cluster := clusterOf(group)
		convertEvents(doc, func(msg []byte) { emit(msg, cluster) }, skip)
	}
	return req.RequestID, nil
}

// unzipRecord gunzips a record's data (Firehose passes CloudWatch's gzip
// through unless told to decompress; plain JSON is taken as it is).
func unzipRecord(data []byte, maxSize int) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(maxSize)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxSize {
		return nil, fmt.Errorf("decompresses to more than %d bytes", maxSize)
	}
	return out, nil
}

// clusterOf is the cluster of an EKS log group, "" for other groups.
func clusterOf(group string) string {
	c, ok := strings.CutPrefix(group, "/aws/eks/")
	if !ok {
		return ""
	}
	c, ok = strings.CutSuffix(c, "/cluster")
	if !ok || strings.Contains(c, "/") {
		return ""
	}
	return c
}

// FirehoseAnswer is the body Firehose expects back (errMsg "" for success;
// Firehose retries a request that gets a non-200).
func FirehoseAnswer(requestID, errMsg string, now time.Time) []byte {
	a := struct {
		RequestID    string `json:"requestId"`
		Timestamp    int64  `json:"timestamp"`
		ErrorMessage string `json:"errorMessage,omitempty"`
	}{requestID, now.UnixMilli(), errMsg}
	b, _ := json.Marshal(a)
	return b
}
