package eks

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source/eks/ekstest"
)

// TestHistory reads [since, until) once: pages, repeats, truncated and
// undecodable messages (each reported once, by stream and event id),
// throttling and refusals.
func TestHistory(t *testing.T) {
	truncated := ekstest.Event{Group: group, Stream: "kube-apiserver-audit-1", ID: "e-cut", Time: ms(3 * time.Second), Message: `{"kind":"Event","auditID":"tr[Truncated...]`}
	bad := func(id, msg string) ekstest.Event {
		return ekstest.Event{Group: group, Stream: "kube-apiserver-audit-2", ID: id, Time: ms(2 * time.Second), Message: msg}
	}
	tests := []struct {
		name     string
		events   []ekstest.Event
		fail     []string
		want     string
		problems []string
		errCode  string
	}{
		{name: "range ends are since (in) and until (out)",
			events: []ekstest.Event{logEvent("before", ms(999*time.Millisecond), 0), logEvent("first", ms(time.Second), 0),
				logEvent("last", ms(10*time.Second-time.Millisecond), 0), logEvent("until", ms(10*time.Second), 0)},
			want: "first last"},
		{name: "pages in timestamp order, truncated skipped",
			events:   append(spread("p", 5, time.Second), truncated, logEvent("p-late", ms(1500*time.Millisecond), ms(time.Hour))),
			want:     "p0 p-late p1 p2 p3 p4",
			problems: []string{"kube-apiserver-audit-1 event e-cut: truncated"}},
		{name: "undecodable messages skipped",
			events:   append(spread("u", 2, 2*time.Second), bad("e-json", "{not json"), bad("e-pod", `{"kind":"Pod"}`)),
			want:     "u0 u1",
			problems: []string{"kube-apiserver-audit-2 event e-json: malformed", "kube-apiserver-audit-2 event e-pod: not-audit"}},
		{name: "throttling is retried", events: spread("r", 2, time.Second),
			fail: []string{"ThrottlingException", "LimitExceededException", "503"}, want: "r0 r1"},
		{name: "a refusal ends the replay", events: spread("x", 1, 0), fail: []string{"ResourceNotFoundException"},
			errCode: "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ekstest.New()
			defer srv.Close()
			srv.Add(tt.events...)
			srv.Fail(tt.fail...)
			h := NewHistory(HistoryOptions{Config: Config{Cluster: "my-cluster"}, API: srv.Client(), Backoff: time.Millisecond,
				MaxBackoff: time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, t0.Add(time.Second), t0.Add(10*time.Second))
			defer h.Close()
			var got, problems []string
			h.OnProblem(func(p audit.Problem) { problems = append(problems, p.File+": "+p.Reason) })
			var err error
			for {
				e, nerr := h.Next()
				if nerr != nil {
					err = nerr
					break
				}
				id, _ := e.Top("auditID").Str()
				got = append(got, id)
				if e.Cluster != "my-cluster" {
					t.Fatalf("cluster %q", e.Cluster)
				}
			}
			if tt.errCode != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tt.errCode {
					t.Fatalf("error %v, want %s", err, tt.errCode)
				}
				return
			}
			if err != io.EOF {
				t.Fatalf("error %v, want io.EOF", err)
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Fatalf("events %q, want %q", s, tt.want)
			}
			if !slices.Equal(problems, tt.problems) {
				t.Errorf("problems\n%q\nwant\n%q", problems, tt.problems)
			}
			for _, r := range srv.Requests() {
				if *r.StartTime != ms(time.Second) || *r.EndTime != ms(10*time.Second)-1 {
					t.Fatalf("request range [%d, %d]", *r.StartTime, *r.EndTime)
				}
			}
		})
	}
}

// TestHistoryRepeatsAcrossPages: a page that repeats an event of the one
// before yields it once.
func TestHistoryRepeatsAcrossPages(t *testing.T) {
	srv := ekstest.New()
	defer srv.Close()
	srv.Add(spread("p", 4, time.Second)...)
	srv.Add(logEvent("behind", ms(1500*time.Millisecond), ms(time.Hour)))
	srv.SetNow(ms(time.Minute))
	srv.BeforeAnswer = func(r ekstest.Request) {
		if r.NextToken != "" {
			srv.SetNow(ms(2 * time.Hour))
		}
	}
	h := NewHistory(HistoryOptions{Config: Config{Cluster: "my-cluster"}, API: srv.Client()}, t0, t0.Add(time.Minute))
	defer h.Close()
	var got []string
	for {
		e, err := h.Next()
		if err != nil {
			break
		}
		id, _ := e.Top("auditID").Str()
		got = append(got, id)
	}
	// "behind" turned visible behind the cursor: this pagination misses it
	// (a history read has no overlap to re-read), and p2 comes twice
	// from the service but once from the iterator.
	if s := strings.Join(got, " "); s != "p0 p1 p2 p3" {
		t.Fatalf("events %q", s)
	}
}
