// Package ekstest is an in-process CloudWatch Logs for tests: an
// httptest server that answers FilterLogEvents over the service's wire
// protocol (awsJson1.1: POST / with X-Amz-Target
// Logs_20140328.FilterLogEvents, JSON bodies, errors as {"__type": ...}),
// so tests drive the real AWS SDK client against it. No emulator of
// CloudWatch Logs exists for Go; this one models what the source relies
// on, as AWS documents it:
//
//   - events are filtered by log group, stream name prefix and
//     [startTime, endTime] (both inclusive, ms) and returned in timestamp
//     order (ties: ingestion time, then eventId), up to PageSize a page;
//   - nextToken continues the same query; the last page has none;
//   - an event is visible only once the server's clock has passed its
//     ingestion time, so tests make events arrive late;
//   - requests can be made to fail: throttling (HTTP 400 with __type
//     ThrottlingException or LimitExceededException), a 503, a refusal
//     (ResourceNotFoundException), or a dropped connection.
//
// Tokens are offsets into the query's current result, as a real token is
// a cursor over data that can change: an event that turns visible behind
// the cursor shifts the rest, so the next page repeats an event, which is
// the duplicate-across-pages case the source must absorb.
package ekstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// Target is the X-Amz-Target of FilterLogEvents.
const Target = "Logs_20140328.FilterLogEvents"

// Event is one log event.
type Event struct {
	Group, Stream string
	// ID is the eventId; "" gets a unique one.
	ID string
	// Time is the event's timestamp and Ingested when it becomes visible
	// (ms; 0 means at Time).
	Time, Ingested int64
	Message        string
}

// Request is a FilterLogEvents request as received.
type Request struct {
	LogGroupName        string `json:"logGroupName"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	StartTime           *int64 `json:"startTime"`
	EndTime             *int64 `json:"endTime"`
	NextToken           string `json:"nextToken"`
	Limit               int    `json:"limit"`
}

// Server is a fake CloudWatch Logs.
type Server struct {
	*httptest.Server
	// PageSize is the most events a page holds (default 3, so that tests
	// page often).
	PageSize int
	// BeforeAnswer, when set, runs before each successful answer is
	// computed (tests change the data between pages with it).
	BeforeAnswer func(Request)

	mu       sync.Mutex
	groups   map[string]bool
	events   []Event
	now      int64 // ms: events ingested after it are invisible
	failures []string
	requests []Request
	nextID   int
}

// New starts a server; every event is visible until SetNow is called.
func New() *Server {
	s := &Server{PageSize: 3, now: 1<<62 - 1, groups: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Client returns an SDK client for the server: static credentials, no
// SDK retries (as the source builds it).
func (s *Server) Client() *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
}

// CreateGroup makes an empty log group exist (one with events always does;
// FilterLogEvents on a missing one is a ResourceNotFoundException).
func (s *Server) CreateGroup(name string) {
	s.mu.Lock()
	s.groups[name] = true
	s.mu.Unlock()
}

// Add stores events and returns their ids.
func (s *Server) Add(evs ...Event) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(evs))
	for i, e := range evs {
		if e.ID == "" {
			s.nextID++
			// Real ids are 56 decimal digits; this keeps the shape.
			e.ID = fmt.Sprintf("%020d%036d", e.Time, s.nextID)
		}
		if e.Ingested == 0 {
			e.Ingested = e.Time
		}
		s.events = append(s.events, e)
		s.groups[e.Group] = true
		ids[i] = e.ID
	}
	return ids
}

// SetNow sets the server's clock (ms): events ingested later are hidden.
func (s *Server) SetNow(ms int64) {
	s.mu.Lock()
	s.now = ms
	s.mu.Unlock()
}

// Fail makes the next requests fail, one per kind: "ThrottlingException",
// "LimitExceededException", "ResourceNotFoundException", "503", "drop"
// (the connection is closed without an answer).
func (s *Server) Fail(kinds ...string) {
	s.mu.Lock()
	s.failures = append(s.failures, kinds...)
	s.mu.Unlock()
}

// Requests returns the FilterLogEvents requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if msg := checkRequest(r); msg != "" {
		writeError(w, http.StatusBadRequest, "SerializationException", msg)
		return
	}
	var req Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	fail := ""
	if len(s.failures) > 0 {
		fail, s.failures = s.failures[0], s.failures[1:]
	}
	s.mu.Unlock()
	if fail != "" {
		failWith(w, fail)
		return
	}
	if s.BeforeAnswer != nil {
		s.BeforeAnswer(req)
	}
	s.answer(w, req)
}

// checkRequest checks what every real request carries.
func checkRequest(r *http.Request) string {
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		return "expected POST /"
	case r.Header.Get("X-Amz-Target") != Target:
		return "unexpected X-Amz-Target " + r.Header.Get("X-Amz-Target")
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		return "unexpected Content-Type " + r.Header.Get("Content-Type")
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKID") ||
		!strings.Contains(r.Header.Get("Authorization"), "/logs/aws4_request"):
		return "request not signed with SigV4 for logs"
	}
	return ""
}

func failWith(w http.ResponseWriter, kind string) {
	switch kind {
	case "503":
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailableException", "The server failed to process the request")
	case "drop":
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case "ResourceNotFoundException":
		writeError(w, http.StatusBadRequest, kind, "The specified log group does not exist.")
	default:
		writeError(w, http.StatusBadRequest, kind, "Rate exceeded")
	}
}

// writeError answers as awsJson1.1 does: the code in __type (some services
// prefix a namespace; the SDK strips it).
func writeError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "00000000-0000-0000-0000-000000000000")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.logs#" + typ, "message": msg})
}

type outEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type response struct {
	Events             []outEvent `json:"events"`
	NextToken          string     `json:"nextToken,omitempty"`
	SearchedLogStreams []any      `json:"searchedLogStreams"`
}

func (s *Server) answer(w http.ResponseWriter, req Request) {
	if req.LogGroupName == "" {
		writeError(w, http.StatusBadRequest, "InvalidParameterException", "logGroupName or logGroupIdentifier is required")
		return
	}
	match, known := s.query(req)
	if !known {
		writeError(w, http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
		return
	}
	off := 0
	if req.NextToken != "" {
		b, err := base64.StdEncoding.DecodeString(req.NextToken)
		if err == nil {
			off, err = strconv.Atoi(string(b))
		}
		if err != nil || off < 0 {
			writeError(w, http.StatusBadRequest, "InvalidParameterException", "The specified nextToken is invalid.")
			return
		}
	}
	size := s.PageSize
	if req.Limit > 0 && req.Limit < size {
		size = req.Limit
	}
	off = min(off, len(match))
	end := min(off+size, len(match))
	resp := response{Events: []outEvent{}, SearchedLogStreams: []any{}}
	for _, e := range match[off:end] {
		resp.Events = append(resp.Events, outEvent{e.Stream, e.Time, e.Message, e.Ingested, e.ID})
	}
	if end < len(match) {
		resp.NextToken = base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "00000000-0000-0000-0000-000000000001")
	json.NewEncoder(w).Encode(resp)
}

// query returns the visible events matching req, in the service's order,
// and whether the log group exists.
func (s *Server) query(req Request) ([]Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, e := range s.events {
		switch {
		case e.Group != req.LogGroupName, e.Ingested > s.now, !strings.HasPrefix(e.Stream, req.LogStreamNamePrefix),
			req.StartTime != nil && e.Time < *req.StartTime, req.EndTime != nil && e.Time > *req.EndTime:
			continue
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		if a.Time != b.Time {
			return cmpInt(a.Time, b.Time)
		}
		if a.Ingested != b.Ingested {
			return cmpInt(a.Ingested, b.Ingested)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, s.groups[req.LogGroupName]
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	return 1
}
