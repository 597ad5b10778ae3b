package eks

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/buger/jsonparser"

	"github.com/peregrine-sec/peregrine/audit"
)

// Formats are the CloudWatch Logs shapes `peregrine replay` reads, each
// message one audit event (as EKS writes them):
//
//   - S3 export files (CreateExportTask; gzip'd, one "TIMESTAMP MESSAGE"
//     line per log event, e.g. "2024-05-01T10:00:00.123Z {...}");
//   - the JSON output of `aws logs filter-log-events` (and of
//     get-log-events): {"events":[{"message":"<event JSON>",...},...]};
//   - CloudWatch Logs subscription messages, as Firehose delivers them to
//     S3: {"messageType":"DATA_MESSAGE","logGroup":...,"logEvents":[...]}.
//
// CloudWatchFormat ("cloudwatch") reads export lines when sniffing, and
// both shapes when --format cloudwatch forces it; FilterLogEventsFormat
// ("cloudwatch-json") is what sniffs the JSON output among JSON documents
// (a format handles either lines or JSON documents when sniffing).
var Formats = []*audit.Format{CloudWatchFormat, FilterLogEventsFormat}

// CloudWatchFormat reads S3 export lines, and filter-log-events JSON when
// forced.
var CloudWatchFormat = &audit.Format{
	Name:  "cloudwatch",
	Lines: true,
	Match: isExportLine,
	Convert: func(doc []byte, emit func([]byte), skip func(string, string)) {
		if len(doc) > 0 && (doc[0] == '{' || doc[0] == '[') {
			convertEvents(doc, emit, skip)
			return
		}
		convertExportLine(doc, emit, skip)
	},
}

// FilterLogEventsFormat reads `aws logs filter-log-events` JSON output.
var FilterLogEventsFormat = &audit.Format{
	Name:    "cloudwatch-json",
	Match:   isEventsDocument,
	Convert: convertEvents,
}

// isExportLine reports a line that starts with an RFC 3339 time and a space.
func isExportLine(line []byte) bool {
	ts, _, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(ts) < len("2006-01-02T15:04:05Z") || ts[4] != '-' || ts[10] != 'T' {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, string(ts))
	return err == nil
}

func convertExportLine(line []byte, emit func([]byte), skip func(string, string)) {
	if !isExportLine(line) {
		skip(audit.ReasonMalformed, "not a CloudWatch export line (TIMESTAMP MESSAGE)")
		return
	}
	_, msg, _ := bytes.Cut(line, []byte{' '})
	msg = bytes.TrimSpace(msg)
	switch {
	case len(msg) == 0:
		skip(audit.ReasonMalformed, "export line without a message")
	case truncated(msg):
		skip(ReasonTruncated, "message truncated by CloudWatch (ends in [Truncated...]), auditID "+strconv.Quote(auditID(msg)))
	default:
		emit(bytes.Clone(msg)) // the reader reuses its line buffer
	}
}

// isEventsDocument reports an object with an "events" array, or a
// CloudWatch Logs subscription message (with "logEvents").
func isEventsDocument(doc []byte) bool { return eventsKey(doc) != "" }

// eventsKey names the array of log events in doc: "events" in
// filter-log-events output, "logEvents" in a subscription message (what
// a subscription filter sends to Firehose, and Firehose writes to S3).
func eventsKey(doc []byte) string {
	if len(doc) == 0 || doc[0] != '{' {
		return ""
	}
	if _, t, _, err := jsonparser.Get(doc, "events"); err == nil && t == jsonparser.Array {
		return "events"
	}
	if _, t, _, err := jsonparser.Get(doc, "logEvents"); err == nil && t == jsonparser.Array {
		if _, err := jsonparser.GetString(doc, "messageType"); err == nil {
			return "logEvents"
		}
	}
	return ""
}

// convertEvents emits the message of each log event. Output of several
// pages glued together can repeat an event; an eventId seen before in the
// document is skipped, as the daemon skips re-reads. A subscription's
// control message (a health check) and messages of the log group's other
// streams (authenticator, scheduler, ... when the subscription has no
// filter) are not audit events and are passed over silently.
func convertEvents(doc []byte, emit func([]byte), skip func(string, string)) {
	key := eventsKey(doc)
	if key == "" {
		skip(audit.ReasonNotAudit, `not CloudWatch output: expected an object with an "events" array`)
		return
	}
	if key == "logEvents" && !auditSubscription(doc) {
		return
	}
	seen := map[string]bool{}
	i := -1
	_, _ = jsonparser.ArrayEach(doc, func(ev []byte, t jsonparser.ValueType, _ int, _ error) {
		i++
		if t != jsonparser.Object {
			skip(audit.ReasonMalformed, fmt.Sprintf("%s[%d] is not an object", key, i))
			return
		}
		if id := logEventID(ev); id != "" {
			if seen[id] {
				skip(ReasonDuplicate, fmt.Sprintf("%s[%d] repeats event id %s", key, i, id))
				return
			}
			seen[id] = true
		}
		msg, err := jsonparser.GetString(ev, "message")
		switch {
		case err != nil:
			skip(audit.ReasonMalformed, fmt.Sprintf("%s[%d] has no message string", key, i))
		case truncated([]byte(msg)):
			skip(ReasonTruncated, fmt.Sprintf("%s[%d]: message truncated by CloudWatch (ends in [Truncated...]), auditID %q", key, i, auditID([]byte(msg))))
		default:
			emit([]byte(msg))
		}
	}, key)
}

// logEventID is "eventId" (FilterLogEvents) or "id" (subscriptions).
func logEventID(ev []byte) string {
	if id, err := jsonparser.GetString(ev, "eventId"); err == nil && id != "" {
		return id
	}
	id, _ := jsonparser.GetString(ev, "id")
	return id
}

// auditSubscription reports a subscription DATA_MESSAGE of an audit
// stream (or of an unnamed one).
func auditSubscription(doc []byte) bool {
	if typ, _ := jsonparser.GetString(doc, "messageType"); typ != "DATA_MESSAGE" {
		return false
	}
	stream, err := jsonparser.GetString(doc, "logStream")
	return err != nil || strings.HasPrefix(stream, StreamPrefix)
}

// ReasonDuplicate counts a log event that a CloudWatch export repeats.
const ReasonDuplicate = "duplicate"
