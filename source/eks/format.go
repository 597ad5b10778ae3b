package eks

import (
	"bytes"
	"strconv"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source/eks/cwlogs"
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
	Convert: func(doc []byte, emit func([]byte, string), skip func(string, string)) {
		if len(doc) > 0 && (doc[0] == '{' || doc[0] == '[') {
			cwlogs.ConvertEvents(doc, emit, skip)
			return
		}
		convertExportLine(doc, emit, skip)
	},
}

// FilterLogEventsFormat reads `aws logs filter-log-events` JSON output.
var FilterLogEventsFormat = &audit.Format{
	Name:    "cloudwatch-json",
	Match:   isEventsDocument,
	Convert: cwlogs.ConvertEvents,
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

func convertExportLine(line []byte, emit func([]byte, string), skip func(string, string)) {
	if !isExportLine(line) {
		skip(audit.ReasonMalformed, "not a CloudWatch export line (TIMESTAMP MESSAGE)")
		return
	}
	_, msg, _ := bytes.Cut(line, []byte{' '})
	msg = bytes.TrimSpace(msg)
	switch {
	case len(msg) == 0:
		skip(audit.ReasonMalformed, "export line without a message")
	case cwlogs.Truncated(msg):
		skip(ReasonTruncated, "message truncated by CloudWatch (ends in [Truncated...]), auditID "+strconv.Quote(cwlogs.AuditID(msg)))
	default:
		emit(bytes.Clone(msg), "") // the reader reuses its line buffer
	}
}

// isEventsDocument reports an object with an "events" array, or a
// CloudWatch Logs subscription message (with "logEvents").
func isEventsDocument(doc []byte) bool { return cwlogs.EventsKey(doc) != "" }

// ReasonDuplicate counts a log event that a CloudWatch export repeats.
const ReasonDuplicate = cwlogs.ReasonDuplicate
