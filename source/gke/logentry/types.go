package logentry

import (
	"encoding/json"
	"strconv"
)

// The types below are the parts of a Cloud Logging LogEntry and of its
// google.cloud.audit.AuditLog payload that the conversion reads, in their
// protojson spelling (lowerCamelCase), which is what a Log Router sink
// publishes to Pub/Sub and writes to Cloud Storage, and what `gcloud
// logging read --format=json` prints. Every field here is in Google's
// published schemas (LogEntry: logging/v2; AuditLog, AuthenticationInfo,
// AuthorizationInfo, RequestMetadata: google/cloud/audit/audit_log.proto;
// requestAttributes: google/rpc/context/attribute_context.proto) except
// authenticationInfo.groups, which no schema has and which is read only
// in case an entry carries it. Unknown members are ignored, so fields
// Google adds later cannot break decoding.

// logEntry is a LogEntry.
type logEntry struct {
	LogName          string            `json:"logName"`
	Resource         Resource          `json:"resource"`
	ProtoPayload     json.RawMessage   `json:"protoPayload"`
	Timestamp        string            `json:"timestamp"`
	ReceiveTimestamp string            `json:"receiveTimestamp"`
	InsertID         string            `json:"insertId"`
	Labels           map[string]string `json:"labels"`
}

// Resource is LogEntry.resource (a MonitoredResource); for GKE's
// Kubernetes audit logs its type is k8s_cluster and its labels
// project_id, location and cluster_name.
type Resource struct {
	Type   string            `json:"type"`
	Labels map[string]string `json:"labels"`
}

// auditLog is the AuditLog in LogEntry.protoPayload.
type auditLog struct {
	Type               string              `json:"@type"`
	ServiceName        string              `json:"serviceName"`
	MethodName         string              `json:"methodName"`
	ResourceName       string              `json:"resourceName"`
	Status             *rpcStatus          `json:"status"`
	AuthenticationInfo authenticationInfo  `json:"authenticationInfo"`
	AuthorizationInfo  []authorizationInfo `json:"authorizationInfo"`
	RequestMetadata    requestMetadata     `json:"requestMetadata"`
	Request            json.RawMessage     `json:"request"`
	Response           json.RawMessage     `json:"response"`
}

// rpcStatus is google.rpc.Status: a gRPC code (0 is OK) and a message.
type rpcStatus struct {
	Code    flexInt `json:"code"`
	Message string  `json:"message"`
}

type authenticationInfo struct {
	PrincipalEmail               string          `json:"principalEmail"`
	PrincipalSubject             string          `json:"principalSubject"`
	ServiceAccountKeyName        string          `json:"serviceAccountKeyName"`
	ServiceAccountDelegationInfo []delegation    `json:"serviceAccountDelegationInfo"`
	Groups                       json.RawMessage `json:"groups"` // not in the schema; kept if present
}

// delegation is one ServiceAccountDelegationInfo: an authority that acted
// through the principal, oldest first.
type delegation struct {
	PrincipalSubject    string `json:"principalSubject"`
	FirstPartyPrincipal *struct {
		PrincipalEmail string `json:"principalEmail"`
	} `json:"firstPartyPrincipal"`
}

func (d delegation) name() string {
	if d.FirstPartyPrincipal != nil && d.FirstPartyPrincipal.PrincipalEmail != "" {
		return d.FirstPartyPrincipal.PrincipalEmail
	}
	return d.PrincipalSubject
}

type authorizationInfo struct {
	Resource   string `json:"resource"`
	Permission string `json:"permission"`
	Granted    bool   `json:"granted"`
}

type requestMetadata struct {
	CallerIP                string             `json:"callerIp"`
	CallerSuppliedUserAgent string             `json:"callerSuppliedUserAgent"`
	RequestAttributes       *requestAttributes `json:"requestAttributes"`
}

// requestAttributes is google.rpc.context.AttributeContext.Request.
type requestAttributes struct {
	Path  string `json:"path"`
	Query string `json:"query"`
	Auth  *struct {
		Claims json.RawMessage `json:"claims"`
	} `json:"auth"`
}

// flexInt reads an integer written as a JSON number or, as protojson
// allows for every integer type, as a string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 1 && b[0] == '"' {
		b = b[1 : len(b)-1]
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}
