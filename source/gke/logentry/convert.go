package logentry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
)

// Reasons a LogEntry is dropped: short, stable keys for the skipped-events
// metric (label reason) and the replay summary.
const (
	ReasonMalformed       = audit.ReasonMalformed   // not JSON, or not a LogEntry object
	ReasonNotAuditLog     = "not-audit-log"         // logName is not an Admin Activity or Data Access audit log
	ReasonNotK8sCluster   = "not-k8s-cluster"       // resource.type is not k8s_cluster
	ReasonNotAuditPayload = "not-auditlog-payload"  // protoPayload missing or not a google.cloud.audit.AuditLog
	ReasonNotK8sService   = "not-k8s-service"       // serviceName is not k8s.io
	ReasonNoTimestamp     = audit.ReasonNoTimestamp // neither timestamp nor receiveTimestamp is a time
)

// DropError says why a LogEntry was not converted.
type DropError struct {
	Reason string // one of the Reason constants
	Msg    string // for people; never quotes the entry beyond short names
}

func (e *DropError) Error() string { return e.Reason + ": " + e.Msg }

func drop(reason, msg string) error { return &DropError{Reason: reason, Msg: msg} }

const (
	auditLogType = "type.googleapis.com/google.cloud.audit.AuditLog"
	decisionKey  = "authorization.k8s.io/decision"
	// delegationKey names, in user.extra, the authorities that acted
	// through the principal (authenticationInfo.serviceAccountDelegationInfo).
	delegationKey = "authenticationInfo.serviceAccountDelegationInfo"
	keyNameKey    = "authenticationInfo.serviceAccountKeyName"
)

// Info is what a source needs of an entry besides its event, also for
// entries that were dropped (as far as they could be read).
type Info struct {
	InsertID, LogName string
	Resource          Resource
}

// Converter converts LogEntries; its zero value is ready.
type Converter struct {
	// ExtraLabels, when set, returns labels to add to the annotations of
	// a cluster's events (its GKE resource labels, with
	// fetch_cluster_metadata). They never overwrite a label already
	// there, Google's cluster_name, location and project_id above all.
	ExtraLabels func(Resource) map[string]string
}

// Convert turns one Cloud Logging LogEntry (protojson) from GKE's
// Kubernetes audit logs into the JSON of an audit.k8s.io/v1 Event, as
// docs/sources/GKE.md describes field by field. An entry that is not such
// a log gives a *DropError.
func Convert(entry []byte) ([]byte, error) {
	out, _, err := (&Converter{}).Convert(entry)
	return out, err
}

// Convert converts one LogEntry; see the package function Convert.
func (c *Converter) Convert(data []byte) ([]byte, Info, error) {
	var le logEntry
	if err := unmarshalObject(data, &le); err != nil {
		return nil, Info{}, drop(ReasonMalformed, "not a LogEntry: "+err.Error())
	}
	info := Info{InsertID: le.InsertID, LogName: le.LogName, Resource: le.Resource}
	al, err := le.auditLog()
	if err != nil {
		return nil, info, err
	}
	ev := newEvent(&le, al)
	if ev.StageTimestamp == "" {
		return nil, info, drop(ReasonNoTimestamp, "neither timestamp nor receiveTimestamp is an RFC 3339 time")
	}
	if c.ExtraLabels != nil {
		ev.Annotations = addExtra(ev.Annotations, c.ExtraLabels(le.Resource))
	}
	out, err := encode(ev)
	if err != nil {
		return nil, info, drop(ReasonMalformed, err.Error())
	}
	return out, info, nil
}

// unmarshalObject decodes a JSON object into v. A member of an unexpected
// type is left at its zero value rather than failing the entry: a security
// event with one odd field is still worth evaluating.
func unmarshalObject(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	err := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return nil
	}
	return err
}

// auditLog checks that the entry is a GKE Kubernetes audit log, as the
// k8saudit-gke plugin does, and decodes its AuditLog.
func (le *logEntry) auditLog() (*auditLog, error) {
	if !isAuditLogName(le.LogName) {
		return nil, drop(ReasonNotAuditLog, "logName "+short(le.LogName)+" is not an Admin Activity or Data Access audit log")
	}
	if le.Resource.Type != "k8s_cluster" {
		return nil, drop(ReasonNotK8sCluster, "resource.type "+short(le.Resource.Type)+" is not k8s_cluster")
	}
	if len(le.ProtoPayload) == 0 {
		return nil, drop(ReasonNotAuditPayload, "no protoPayload")
	}
	var al auditLog
	if err := unmarshalObject(le.ProtoPayload, &al); err != nil {
		return nil, drop(ReasonMalformed, "protoPayload: "+err.Error())
	}
	if al.Type != auditLogType {
		return nil, drop(ReasonNotAuditPayload, "protoPayload @type "+short(al.Type)+" is not "+auditLogType)
	}
	if al.ServiceName != "k8s.io" {
		return nil, drop(ReasonNotK8sService, "serviceName "+short(al.ServiceName)+" is not k8s.io")
	}
	return &al, nil
}

// isAuditLogName reports whether a logName ends in the activity or
// data_access audit log. The log ID is URL-encoded in logName
// ("cloudaudit.googleapis.com%2Factivity"); upstream compares that exact
// spelling, this also accepts a lower-case escape or a plain slash.
func isAuditLogName(name string) bool {
	_, id, ok := strings.Cut(name, "/logs/")
	if !ok {
		return false
	}
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	return id == "cloudaudit.googleapis.com/activity" || id == "cloudaudit.googleapis.com/data_access"
}

// short quotes s for a message, cut to a length that keeps logs readable.
func short(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// encode writes v as compact JSON without HTML escaping, so request
// bodies keep their bytes ("<" stays "<").
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// addExtra adds a cluster's metadata labels without overwriting any
// label already there, Google's cluster_name, location and project_id
// above all (upstream protects those three).
func addExtra(ann, extra map[string]string) map[string]string {
	for k, v := range extra {
		if _, ok := ann[k]; ok {
			continue
		}
		if ann == nil {
			ann = map[string]string{}
		}
		ann[k] = v
	}
	return ann
}

// eventTime is the entry's time as a Kubernetes audit timestamp: the
// LogEntry timestamp ("the time the event described by the log entry
// occurred"), else receiveTimestamp (when Logging received it, which
// upstream uses). "" when neither parses.
func eventTime(le *logEntry) string {
	for _, s := range []string{le.Timestamp, le.ReceiveTimestamp} {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return formatTime(t)
		}
	}
	return ""
}

// formatTime writes microseconds, as kube-apiserver does, unless the time
// has finer precision, which is kept.
func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%1000 == 0 {
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}
