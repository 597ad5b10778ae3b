package logentry

import (
	"bytes"
	"encoding/json"
	"strings"
)

// event is the audit.k8s.io/v1 Event a LogEntry becomes. Members are in
// the order kube-apiserver (and upstream's conversion) writes them.
type event struct {
	Kind                     string            `json:"kind"`
	APIVersion               string            `json:"apiVersion"`
	Level                    string            `json:"level"`
	AuditID                  string            `json:"auditID,omitempty"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb,omitempty"`
	User                     userInfo          `json:"user"`
	ImpersonatedUser         *userInfo         `json:"impersonatedUser,omitempty"`
	SourceIPs                []string          `json:"sourceIPs,omitempty"`
	UserAgent                string            `json:"userAgent,omitempty"`
	ObjectRef                *objectRef        `json:"objectRef,omitempty"`
	ResponseStatus           *status           `json:"responseStatus,omitempty"`
	RequestObject            json.RawMessage   `json:"requestObject,omitempty"`
	ResponseObject           json.RawMessage   `json:"responseObject,omitempty"`
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"`
	StageTimestamp           string            `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`
}

type userInfo struct {
	Username string              `json:"username,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

type objectRef struct {
	Resource    string `json:"resource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	APIGroup    string `json:"apiGroup,omitempty"`
	APIVersion  string `json:"apiVersion,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

// status is a metav1.Status as audit events carry it.
type status struct {
	Metadata struct{} `json:"metadata"`
	Status   string   `json:"status,omitempty"`
	Message  string   `json:"message,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Code     int      `json:"code"`
}

func newEvent(le *logEntry, al *auditLog) *event {
	verb, res, sub := parseMethod(al.MethodName)
	ref := parseResourceName(al.ResourceName, res, sub)
	ev := &event{
		Kind: "Event", APIVersion: "audit.k8s.io/v1", AuditID: le.InsertID, Verb: verb,
		RequestURI: requestURI(al), UserAgent: al.RequestMetadata.CallerSuppliedUserAgent, ObjectRef: ref,
		RequestObject: object(al.Request), ResponseObject: object(al.Response),
	}
	if ip := al.RequestMetadata.CallerIP; ip != "" {
		ev.SourceIPs = []string{ip}
	}
	ev.User, ev.ImpersonatedUser = users(al)
	ev.Level, ev.Stage, ev.ResponseStatus = outcome(verb, ref, al.Status, ev.RequestObject != nil, ev.ResponseObject != nil)
	ev.RequestReceivedTimestamp = eventTime(le)
	ev.StageTimestamp = ev.RequestReceivedTimestamp
	ev.Annotations = annotations(le, al)
	return ev
}

// parseMethod splits a methodName such as io.k8s.core.v1.pods.exec.create
// (io.k8s.<group>.<version>.<resource>[.<subresource>].<verb>): the verb
// is the last part, as upstream takes it; the resource and subresource
// follow the version, which is found by its shape because groups contain
// dots.
func parseMethod(m string) (verb, resource, sub string) {
	parts := strings.Split(m, ".")
	last := len(parts) - 1
	verb = parts[last]
	for i := 1; i < last; i++ {
		if !isVersion(parts[i]) {
			continue
		}
		if i+1 < last {
			resource = parts[i+1]
		}
		if i+2 < last {
			sub = parts[i+2]
		}
		break
	}
	return verb, resource, sub
}

// isVersion matches Kubernetes API versions: v1, v2beta1, v1alpha3.
func isVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' || !isDigit(s[1]) {
		return false
	}
	i := 1
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == len(s) {
		return true
	}
	rest := s[i:]
	for _, q := range []string{"alpha", "beta"} {
		if n, ok := strings.CutPrefix(rest, q); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseResourceName reads the object reference from a resourceName:
// group/version[/namespaces/NS]/resource[/name[/subresource]]. The
// resource named by methodName settles what upstream gets wrong:
// core/v1/namespaces/foo/status is the status of namespace foo, not the
// "status" resource in namespace foo. Collections (core/v1/pods,
// core/v1/namespaces), which upstream leaves without objectRef, get one.
// The core group is written "core" in resourceName and left out in audit
// events, as kube-apiserver does.
func parseResourceName(rn, res, sub string) *objectRef {
	p := strings.Split(strings.TrimPrefix(rn, "/"), "/")
	if len(p) < 3 || p[2] == "" {
		return nil
	}
	ref := &objectRef{APIGroup: p[0], APIVersion: p[1]}
	if ref.APIGroup == "core" {
		ref.APIGroup = ""
	}
	rest := p[2:]
	if len(rest) >= 3 && rest[0] == "namespaces" && res != "namespaces" {
		ref.Namespace, rest = rest[1], rest[2:]
	}
	ref.Resource = rest[0]
	if len(rest) > 1 {
		ref.Name = rest[1]
	}
	if len(rest) > 2 {
		ref.Subresource = rest[2]
	}
	if ref.Subresource == "" && sub != "" && ref.Resource == res {
		ref.Subresource = sub
	}
	return ref
}

// requestURI is the request's path and query when the entry has them
// (requestMetadata.requestAttributes), which keeps exec's ?command=...
// for ka.uri.param; else "/" + resourceName, as upstream builds it.
func requestURI(al *auditLog) string {
	if ra := al.RequestMetadata.RequestAttributes; ra != nil && ra.Path != "" {
		u := "/" + strings.TrimPrefix(ra.Path, "/")
		if ra.Query != "" {
			u += "?" + ra.Query
		}
		return u
	}
	return "/" + strings.TrimPrefix(al.ResourceName, "/")
}

// object is an AuditLog request or response as a requestObject or
// responseObject: a JSON object without the "@type" member protobuf's
// Struct encoding adds at its top.
func object(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	if !bytes.Contains(raw, []byte(`"@type"`)) {
		return raw
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	if _, ok := m["@type"]; !ok {
		return raw // a nested @type: leave the bytes alone
	}
	delete(m, "@type")
	b, err := encode(m)
	if err != nil {
		return nil
	}
	return b
}

// users maps authenticationInfo to the event's user and impersonatedUser.
// The principal (principalEmail, else principalSubject) is the identity
// the request ran as. When serviceAccountDelegationInfo lists the
// authorities that acted through it, the first of them (the original
// caller) is the user and the principal the impersonated user, as
// Kubernetes records impersonation; the whole chain is kept in
// user.extra. Groups are kept when the entry has any.
func users(al *auditLog) (userInfo, *userInfo) {
	a := al.AuthenticationInfo
	principal := userInfo{Username: a.PrincipalEmail, Groups: groups(a, al.RequestMetadata)}
	if principal.Username == "" {
		principal.Username = a.PrincipalSubject
	}
	if a.ServiceAccountKeyName != "" {
		principal.Extra = map[string][]string{keyNameKey: {a.ServiceAccountKeyName}}
	}
	var chain []string
	for _, d := range a.ServiceAccountDelegationInfo {
		if n := d.name(); n != "" {
			chain = append(chain, n)
		}
	}
	if len(chain) == 0 || principal.Username == "" {
		return principal, nil
	}
	user := userInfo{Username: chain[0], Extra: map[string][]string{delegationKey: chain}}
	return user, &principal
}

// groups reads a string array named groups from authenticationInfo (no
// schema has it) or from the request's JWT claims
// (requestAttributes.auth.claims, a documented field).
func groups(a authenticationInfo, rm requestMetadata) []string {
	if g := stringList(a.Groups); g != nil {
		return g
	}
	if ra := rm.RequestAttributes; ra != nil && ra.Auth != nil && len(ra.Auth.Claims) > 0 {
		var c struct {
			Groups json.RawMessage `json:"groups"`
		}
		if json.Unmarshal(ra.Auth.Claims, &c) == nil {
			return stringList(c.Groups)
		}
	}
	return nil
}

func stringList(raw json.RawMessage) []string {
	var l []string
	if len(raw) == 0 || json.Unmarshal(raw, &l) != nil || len(l) == 0 {
		return nil
	}
	return l
}

// upgrades are the subresources whose successful requests switch
// protocols (101), so kube-apiserver logs them at ResponseStarted.
var upgrades = map[string]bool{"exec": true, "attach": true, "portforward": true}

// outcome gives the level, stage and responseStatus. A failed request
// (protoPayload.status with a non-zero code) gets its real code and
// message; upstream infers success for every entry. Success is inferred
// as upstream does: 101 for exec/attach (and portforward), 201 for
// create, 200 otherwise. The level follows what the entry carries,
// where upstream always says RequestResponse.
func outcome(verb string, ref *objectRef, st *rpcStatus, req, resp bool) (string, string, *status) {
	level := "Metadata"
	switch {
	case resp:
		level = "RequestResponse"
	case req:
		level = "Request"
	}
	if st != nil && st.Code != 0 {
		return level, "ResponseComplete", failure(st)
	}
	if ref != nil && upgrades[ref.Subresource] {
		return "Request", "ResponseStarted", inferred(101, "Switching Protocols")
	}
	if verb == "create" {
		return level, "ResponseComplete", inferred(201, "Created")
	}
	return level, "ResponseComplete", inferred(200, "OK")
}

func inferred(code int, text string) *status {
	text += " (inferred)"
	return &status{Status: text, Message: text, Code: code}
}

func failure(st *rpcStatus) *status {
	code := httpCode(int(st.Code))
	reason := reasons[code]
	if st.Code == 6 { // ALREADY_EXISTS, where 409 alone would say Conflict
		reason = "AlreadyExists"
	}
	return &status{Status: "Failure", Message: st.Message, Reason: reason, Code: code}
}

// grpcToHTTP is google.rpc.Code's documented HTTP mapping.
var grpcToHTTP = [...]int{200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401}

// httpCode maps a google.rpc.Status code to an HTTP status. A code that
// already is an HTTP status (100-599) is kept.
func httpCode(c int) int {
	switch {
	case c >= 0 && c < len(grpcToHTTP):
		return grpcToHTTP[c]
	case c >= 100 && c <= 599:
		return c
	}
	return 500
}

// reasons are Kubernetes' StatusReasons for HTTP codes.
var reasons = map[int]string{
	400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
	406: "NotAcceptable", 409: "Conflict", 410: "Gone", 413: "RequestEntityTooLarge",
	415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
	503: "ServiceUnavailable", 504: "Timeout",
}

// annotations are the entry's labels (kube-apiserver's audit annotations,
// authorization.k8s.io/decision and reason among them) and the resource
// labels (cluster_name, location, project_id), as upstream merges them.
// Without a decision label, the decision is inferred from
// authorizationInfo: forbid if any permission was not granted.
func annotations(le *logEntry, al *auditLog) map[string]string {
	m := make(map[string]string, len(le.Labels)+len(le.Resource.Labels)+1)
	for k, v := range le.Labels {
		m[k] = v
	}
	for k, v := range le.Resource.Labels {
		m[k] = v
	}
	if _, ok := m[decisionKey]; !ok && len(al.AuthorizationInfo) > 0 {
		m[decisionKey] = "allow"
		for _, ai := range al.AuthorizationInfo {
			if !ai.Granted {
				m[decisionKey] = "forbid"
			}
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
