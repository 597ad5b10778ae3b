package aks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/buger/jsonparser"

	"github.com/peregrine-sec/peregrine/audit"
)

// Reasons for skipped records, beside audit's (counted in
// peregrine_events_skipped_total and the replay summary).
const (
	// ReasonTruncated: the audit event in properties.log was cut off.
	// AKS is known to deliver large events (big pods, CRDs) this way.
	ReasonTruncated = "truncated"
	// ReasonCategory: a record of another diagnostic category
	// (kube-apiserver, guard, cluster-autoscaler, ...).
	ReasonCategory = "other-category"
)

// Record is one Azure diagnostic-setting record of an AKS cluster, as
// Microsoft documents the resource log schema: category, resourceId,
// time, operationName and properties, whose log member holds the
// container's log line (for kube-audit: one audit event as a JSON string).
type Record struct {
	Category   string
	ResourceID string
	// Log is properties.log unescaped; nil when the record has none.
	Log []byte
}

// IsAudit reports whether the record belongs to an audit category. A
// record without a category is treated as upstream treats every record:
// its log is decoded if it is JSON.
func (r *Record) IsAudit() bool {
	c := r.Category
	return c == "" || strings.EqualFold(c, "kube-audit") || strings.EqualFold(c, "kube-audit-admin")
}

// errNotRecords is returned for JSON that is neither a records body nor a
// record.
var errNotRecords = errors.New("not an Azure diagnostic record or {\"records\": [...]} body")

// EachRecord calls f with each record of doc: a message body
// {"records":[...]} as diagnostic settings send to Event Hubs, or one
// record (a line of an archived PT1H.json blob). An error means doc is
// not JSON or not of these shapes; records before a bad element have
// been passed to f already.
func EachRecord(doc []byte, f func(*Record)) error {
	recs, t, _, err := jsonparser.Get(doc, "records")
	if err == nil && t == jsonparser.Array {
		var bad error
		_, err = jsonparser.ArrayEach(recs, func(v []byte, t jsonparser.ValueType, _ int, _ error) {
			if bad != nil {
				return
			}
			if t != jsonparser.Object {
				bad = fmt.Errorf("records: element is a %s, not a record", t)
				return
			}
			bad = eachOne(v, f)
		})
		if err != nil {
			return fmt.Errorf("malformed records array: %w", err)
		}
		return bad
	}
	if !IsRecord(doc) {
		if !json.Valid(doc) {
			return errors.New("malformed JSON")
		}
		return errNotRecords
	}
	return eachOne(doc, f)
}

// recordPaths are the members a record is read for, in one pass (the
// log is most of a record's bytes; scanning past it once per member
// would cost more than decoding the event).
var recordPaths = [][]string{{"category"}, {"resourceId"}, {"properties", "log"}}

// eachOne reads the members of one record object.
func eachOne(v []byte, f func(*Record)) error {
	var r Record
	jsonparser.EachKey(v, func(i int, val []byte, t jsonparser.ValueType, err error) {
		if err != nil || t != jsonparser.String {
			return
		}
		switch i {
		case 0:
			r.Category = string(unescape(val))
		case 1:
			r.ResourceID = string(unescape(val))
		case 2:
			r.Log = unescape(val)
		}
	}, recordPaths...)
	f(&r)
	return nil
}

// unescape returns a JSON string's content in a new slice (events alias
// it, and callers reuse the buffers they read records from).
func unescape(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return bytes.Clone(raw)
	}
	out, err := jsonparser.Unescape(raw, make([]byte, len(raw)))
	if err != nil {
		return bytes.Clone(raw) // a bad escape: left for the decoder to refuse
	}
	return out
}

// IsRecord reports whether doc is a JSON object that looks like one
// diagnostic record: a properties object beside a category or resourceId.
func IsRecord(doc []byte) bool {
	if _, t, _, err := jsonparser.Get(doc, "properties"); err != nil || t != jsonparser.Object {
		return false
	}
	_, ct, _, cerr := jsonparser.Get(doc, "category")
	_, rt, _, rerr := jsonparser.Get(doc, "resourceId")
	return (cerr == nil && ct == jsonparser.String) || (rerr == nil && rt == jsonparser.String)
}

// Broken describes a properties.log that is not a whole JSON document:
// why it is skipped and a message for the log, which names the event by
// the start of its auditID and never quotes the body.
func Broken(log []byte) (reason, msg string) {
	id := auditIDPrefix(log)
	if truncated(log) {
		return ReasonTruncated, fmt.Sprintf("audit event cut off at %d bytes (auditID %q)", len(log), id)
	}
	return audit.ReasonMalformed, fmt.Sprintf("properties.log of %d bytes is not JSON (auditID %q)", len(log), id)
}

// whole is the test run on every log before decoding: whether it can be
// a whole JSON document, its brackets balanced outside strings and no
// string left open. An event cut off anywhere fails it, so truncation is
// told apart from other damage (which the decoder refuses as malformed)
// at the cost of one byte loop, with no parse.
func whole(log []byte) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range log {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0 && !inString
}

// truncated reports whether log is the beginning of a JSON document that
// ends too early (rather than text that is not JSON at all).
func truncated(log []byte) bool {
	t := bytes.TrimSpace(log)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return false
	}
	var raw json.RawMessage
	err := json.Unmarshal(t, &raw)
	var se *json.SyntaxError
	// encoding/json reports running out of input with this message at
	// the end offset; any other syntax error is a damaged document.
	return errors.As(err, &se) && se.Offset == int64(len(t)) && se.Error() == "unexpected end of JSON input"
}

// auditIDPrefix finds the auditID in a (possibly cut) event without
// parsing it, and returns at most a UUID's length of it.
func auditIDPrefix(log []byte) string {
	const key = `"auditID"`
	i := bytes.Index(log, []byte(key))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(log[i+len(key):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' {
		return ""
	}
	rest = rest[1:]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		rest = rest[:j]
	}
	if len(rest) > 36 {
		rest = rest[:36]
	}
	return string(rest)
}
