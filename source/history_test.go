package source

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
)

// TestSkips: a skipped record goes to the OnProblem function once, and to
// the log only when there is none.
func TestSkips(t *testing.T) {
	p := audit.Problem{File: "topic audit partition 0 offset 7", Reason: audit.ReasonMalformed, Msg: "not JSON"}
	tests := []struct {
		name    string
		set     bool
		calls   int
		logHas  string
		logNone bool
	}{
		{name: "function set", set: true, calls: 1, logNone: true},
		{name: "none set", logHas: `reason=malformed problem="topic audit partition 0 offset 7: not JSON"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := Skips{Log: slog.New(slog.NewTextHandler(&logs, nil))}
			calls := 0
			if tt.set {
				s.OnProblem(func(got audit.Problem) {
					calls++
					if got != p {
						t.Errorf("got %+v", got)
					}
				})
			}
			s.Report(p)
			if calls != tt.calls || (tt.logNone && logs.Len() > 0) || !strings.Contains(logs.String(), tt.logHas) {
				t.Errorf("%d calls, log %q", calls, logs.String())
			}
		})
	}
}
