package logentry

import (
	"bytes"
	"errors"

	"github.com/buger/jsonparser"

	"github.com/peregrine-sec/peregrine/audit"
)

// Format reads Cloud Logging exports of GKE's audit logs with `peregrine
// replay`: LogEntry JSON lines, as a Cloud Storage sink writes them, or
// the JSON array `gcloud logging read --format=json` prints. Each entry is
// converted as the Pub/Sub source converts messages; entries that are not
// Kubernetes audit logs are skipped with their reason.
var Format = &audit.Format{Name: "gke", Match: isLogEntryDoc, Convert: convertDoc}

// isLogEntryDoc reports whether a JSON document is a LogEntry or an array
// whose first element is one: an object with a logName or protoPayload.
func isLogEntryDoc(doc []byte) bool {
	doc = bytes.TrimSpace(doc)
	if len(doc) > 0 && doc[0] == '[' {
		first, t, _, err := jsonparser.Get(doc, "[0]")
		if err != nil || t != jsonparser.Object {
			return false
		}
		doc = first
	}
	for _, key := range []string{"logName", "protoPayload"} {
		if _, _, _, err := jsonparser.Get(doc, key); err == nil {
			return true
		}
	}
	return false
}

// convertDoc converts a LogEntry, or each element of an array of them.
func convertDoc(doc []byte, emit func([]byte, string), skip func(reason, msg string)) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || doc[0] != '[' {
		convertEntry(doc, emit, skip)
		return
	}
	_, err := jsonparser.ArrayEach(doc, func(e []byte, _ jsonparser.ValueType, _ int, _ error) {
		convertEntry(e, emit, skip)
	})
	if err != nil {
		skip(ReasonMalformed, "array of LogEntries: "+err.Error())
	}
}

func convertEntry(e []byte, emit func([]byte, string), skip func(reason, msg string)) {
	out, err := Convert(e)
	var de *DropError
	switch {
	case errors.As(err, &de):
		skip(de.Reason, de.Msg)
	case err != nil:
		skip(ReasonMalformed, err.Error())
	default:
		emit(out, "") // the cluster is in the event's annotations
	}
}
