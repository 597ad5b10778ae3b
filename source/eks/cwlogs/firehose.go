package cwlogs

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Large EKS users stream the audit log group to Amazon Data Firehose
// through a CloudWatch Logs subscription filter instead of polling it.
// Firehose's HTTP endpoint destination POSTs batches of records, each the
// base64 of a gzip'd subscription message
// (https://docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html).

// FirehoseVisitor is told what the records of a delivery hold.
type FirehoseVisitor struct {
	// Record is called once per record, in order, with its kind (KindData,
	// KindControl, KindOther, KindMalformed); problem says why a record is
	// malformed. Firehose cannot resend one record, so a malformed record
	// is reported and the rest of the request goes on.
	Record func(kind, problem string)
	// Message is called with each audit message of a KindData record and
	// the cluster its log group names (/aws/eks/<cluster>/cluster); ""
	// when the group is another one or the record is a bare message
	// (Firehose's message extraction drops the log group).
	Message func(msg []byte, cluster string)
	// Skip is called for a log event of a KindData record that gives no
	// message: truncated by CloudWatch, repeated, not an object.
	Skip func(reason, problem string)
}

// ErrTooLarge is returned when the records decompress to more than the
// limit in all (a gzip bomb, or a batch limit set below Firehose's buffer).
var ErrTooLarge = errors.New("records decompress to more than the limit")

// DecodeFirehose decodes a Firehose HTTP endpoint delivery request,
// {"requestId":...,"timestamp":...,"records":[{"data":"<base64>"},...]},
// telling v about each record. Its records decompress to at most maxSize
// bytes in all (ErrTooLarge). Any other error is for a body that is not a
// delivery request at all: no JSON object with a "records" array.
func DecodeFirehose(body []byte, maxSize int, v FirehoseVisitor) (requestID string, err error) {
	var req struct {
		RequestID string            `json:"requestId"`
		Records   []json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "", fmt.Errorf("not a Firehose delivery request: %w", err)
	}
	if req.Records == nil {
		return req.RequestID, errors.New(`not a Firehose delivery request: no "records" array`)
	}
	budget := maxSize
	for i, raw := range req.Records {
		doc, err := recordData(raw, &budget)
		if errors.Is(err, ErrTooLarge) {
			return req.RequestID, fmt.Errorf("records[%d]: %w (%d bytes)", i, err, maxSize)
		}
		if err != nil {
			v.Record(KindMalformed, fmt.Sprintf("records[%d]: %v", i, err))
			continue
		}
		visitRecord(doc, i, v)
	}
	return req.RequestID, nil
}

// recordData is a record's data: base64 as the specification says, or a
// JSON object as its CloudWatch Logs example shows; gunzipped when it is
// gzip (Firehose passes CloudWatch's gzip on unless told to decompress).
func recordData(raw json.RawMessage, budget *int) ([]byte, error) {
	var rec struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, errors.New("not an object")
	}
	data := bytes.TrimSpace(rec.Data)
	if len(data) > 0 && data[0] == '"' {
		var b []byte // encoding/json decodes base64
		if err := json.Unmarshal(data, &b); err != nil {
			return nil, errors.New("data is not base64")
		}
		data = b
	} else if len(data) > 0 && data[0] != '{' && !bytes.Equal(data, []byte("null")) {
		return nil, errors.New("data is not a string")
	}
	if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		return data, nil
	}
	return gunzip(data, budget)
}

func gunzip(data []byte, budget *int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(*budget)+1))
	if len(out) > *budget {
		return nil, ErrTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	*budget -= len(out)
	return out, nil
}

// visitRecord reports one record's decoded data.
func visitRecord(doc []byte, i int, v FirehoseVisitor) {
	doc = bytes.TrimSpace(doc)
	switch {
	case len(doc) == 0 || bytes.Equal(doc, []byte("null")):
		v.Record(KindOther, "") // Firehose permits empty records
	case EventsKey(doc) != "":
		kind := KindData
		if EventsKey(doc) == "logEvents" {
			kind = Kind(doc)
		}
		v.Record(kind, "")
		if kind != KindData {
			return
		}
		ConvertEvents(doc, v.Message, v.Skip)
	case doc[0] == '{' || doc[0] == '[':
		// Firehose's message extraction: the record is the message(s).
		v.Record(KindData, "")
		v.Message(doc, "")
	default:
		v.Record(KindMalformed, fmt.Sprintf("records[%d]: not a CloudWatch Logs subscription message", i))
	}
}

// FirehoseAnswer is the body Firehose expects back: the request's id, the
// time in milliseconds and, on failure, why. Firehose takes only a 200 as
// success and retries every other answer but 413.
func FirehoseAnswer(requestID, errMsg string, now time.Time) []byte {
	a := struct {
		RequestID    string `json:"requestId"`
		Timestamp    int64  `json:"timestamp"`
		ErrorMessage string `json:"errorMessage,omitempty"`
	}{requestID, now.UnixMilli(), errMsg}
	b, _ := json.Marshal(a)
	return b
}
