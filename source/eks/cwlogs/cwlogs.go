// Package cwlogs reads the CloudWatch Logs shapes that carry EKS audit
// events: FilterLogEvents output, subscription messages (what a
// subscription filter sends to Firehose), and Firehose's HTTP endpoint
// deliveries of them. It does not use the AWS SDK, so that the webhook can
// serve Firehose without linking the SDK into every build (the daemon
// package leaves cloud SDKs to cmd/peregrine).
package cwlogs

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/buger/jsonparser"

	"github.com/peregrine-sec/peregrine/audit"
)

// StreamPrefix is the prefix of the log streams EKS writes audit events
// to (kube-apiserver-audit-<hash>).
const StreamPrefix = "kube-apiserver-audit"

// Skip reasons (peregrine_events_skipped_total labels).
const (
	// ReasonTruncated: a message CloudWatch cut at its event size limit.
	ReasonTruncated = "truncated"
	// ReasonDuplicate: a log event a document repeats (same event id).
	ReasonDuplicate = "duplicate"
)

// Truncated reports a message CloudWatch cut at its event size limit: it
// ends in "[Truncated...]" and is no longer JSON.
func Truncated(msg []byte) bool { return bytes.HasSuffix(msg, []byte("[Truncated...]")) }

// AuditID finds the auditID in a (truncated) message, for log lines: the
// message itself is never logged.
func AuditID(msg []byte) string {
	const key = `"auditID":"`
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return ""
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || j > 64 {
		return ""
	}
	return string(rest[:j])
}

// LogGroup is the log group EKS writes a cluster's control plane logs to.
func LogGroup(cluster string) string { return "/aws/eks/" + cluster + "/cluster" }

// ClusterOf is the cluster of an EKS log group (LogGroup's inverse), ""
// for other groups.
func ClusterOf(group string) string {
	c, ok := strings.CutPrefix(group, "/aws/eks/")
	if !ok {
		return ""
	}
	c, ok = strings.CutSuffix(c, "/cluster")
	if !ok || c == "" || strings.Contains(c, "/") {
		return ""
	}
	return c
}

// EventsKey names the array of log events in doc: "events" in
// filter-log-events output, "logEvents" in a subscription message; "" for
// anything else.
func EventsKey(doc []byte) string {
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

// ConvertEvents emits the message of each log event. Output of several
// pages glued together can repeat an event; an event id seen before in the
// document is skipped. A subscription's control message (a health check)
// and messages of the log group's other streams (authenticator, scheduler,
// ... when the subscription has no filter) are not audit events and are
// passed over silently. A subscription message names its log group, and
// so the cluster (ClusterOf), which emit is given with each message.
func ConvertEvents(doc []byte, emit func([]byte, string), skip func(reason, msg string)) {
	key := EventsKey(doc)
	if key == "" {
		skip(audit.ReasonNotAudit, `not CloudWatch output: expected an object with an "events" array`)
		return
	}
	if key == "logEvents" && Kind(doc) != KindData {
		return
	}
	group, _ := jsonparser.GetString(doc, "logGroup")
	cluster := ClusterOf(group)
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
		convertEvent(ev, fmt.Sprintf("%s[%d]", key, i), func(msg []byte) { emit(msg, cluster) }, skip)
	}, key)
}

func convertEvent(ev []byte, where string, emit func([]byte), skip func(string, string)) {
	msg, err := jsonparser.GetString(ev, "message")
	switch {
	case err != nil:
		skip(audit.ReasonMalformed, where+" has no message string")
	case Truncated([]byte(msg)):
		skip(ReasonTruncated, fmt.Sprintf("%s: message truncated by CloudWatch (ends in [Truncated...]), auditID %q", where, AuditID([]byte(msg))))
	default:
		emit([]byte(msg))
	}
}

// logEventID is "eventId" (FilterLogEvents) or "id" (subscriptions).
func logEventID(ev []byte) string {
	if id, err := jsonparser.GetString(ev, "eventId"); err == nil && id != "" {
		return id
	}
	id, _ := jsonparser.GetString(ev, "id")
	return id
}

// Kinds of subscription message (and of Firehose records).
const (
	// KindData is a DATA_MESSAGE of an audit stream (or of an unnamed
	// one): its log events are audit events.
	KindData = "data"
	// KindControl is a CONTROL_MESSAGE: CloudWatch Logs checking that the
	// destination is reachable. It carries no log data.
	KindControl = "control"
	// KindOther is a DATA_MESSAGE of another stream of the log group
	// (authenticator, scheduler, ...) or a message type CloudWatch did not
	// document: nothing to evaluate.
	KindOther = "other"
	// KindMalformed is a Firehose record that cannot be read (not base64,
	// bad gzip, too large, not JSON).
	KindMalformed = "malformed"
)

// Kind classifies a subscription message.
func Kind(doc []byte) string {
	switch typ, _ := jsonparser.GetString(doc, "messageType"); typ {
	case "CONTROL_MESSAGE":
		return KindControl
	case "DATA_MESSAGE":
		stream, err := jsonparser.GetString(doc, "logStream")
		if err != nil || strings.HasPrefix(stream, StreamPrefix) {
			return KindData
		}
	}
	return KindOther
}
