package kafka

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source"
)

// TestHistoryByTime reads [since, until) of two partitions through
// offsets for time: records stamped inside the range, and nothing else.
func TestHistoryByTime(t *testing.T) {
	c := newCluster(t, 2)
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Timestamp: t0.Add(time.Duration(i) * time.Minute),
			Value: []byte(auditEvent(fmt.Sprint("m", i)))})
	}
	produceRecords(t, c, recs...)
	tests := []struct {
		name         string
		since, until time.Time
		want         []string
	}{
		{"middle", t0.Add(3 * time.Minute), t0.Add(7 * time.Minute), []string{"m3", "m4", "m5", "m6"}},
		{"to the end", t0.Add(8 * time.Minute), time.Time{}, []string{"m8", "m9"}},
		{"before everything", t0.Add(-time.Hour), t0.Add(time.Minute), []string{"m0"}},
		{"after everything", t0.Add(time.Hour), time.Time{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, err := History(source.Env{Plugin: "kafka", InitConfig: initConfig(c, nil)}, tc.since, tc.until)
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			var got []string
			for {
				e, err := it.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				id, _ := e.Top("auditID").Str()
				got = append(got, id)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if g := c.GroupInfo("g"); g != nil {
		t.Errorf("history joined or made group %q", g.Group)
	}
}

// TestHistoryProblems: every record in the range that gives no event is
// reported once, named by topic, partition and offset, with its reason;
// records outside the range are not.
func TestHistoryProblems(t *testing.T) {
	c := newCluster(t, 1)
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	values := []string{auditEvent("ok0"), "{not json", `{"kind":"Pod"}`, auditEvent("big" + strings.Repeat("x", 600)),
		`{"records":[{"category":"guard","properties":{"log":"x"}}]}`, auditEvent("ok1"), "{not json either"}
	var recs []*kgo.Record
	for i, v := range values {
		recs = append(recs, &kgo.Record{Topic: topic, Timestamp: t0.Add(time.Duration(i) * time.Minute), Value: []byte(v)})
	}
	produceRecords(t, c, recs...)
	at := func(off int, reason string) string {
		return fmt.Sprintf("topic audit partition 0 offset %d: %s", off, reason)
	}
	tests := []struct {
		name         string
		since, until time.Time
		want         []string
	}{
		{"whole topic", t0, time.Time{}, []string{at(1, "malformed"), at(2, "not-audit"), at(3, "too-large"), at(4, "not-audit"), at(6, "malformed")}},
		{"range", t0.Add(2 * time.Minute), t0.Add(4 * time.Minute), []string{at(2, "not-audit"), at(3, "too-large")}},
		{"no bad record", t0.Add(5 * time.Minute), t0.Add(6 * time.Minute), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, err := History(source.Env{Plugin: "kafka", InitConfig: initConfig(c, map[string]any{"max_event_size": 500})}, tc.since, tc.until)
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			var got []string
			it.OnProblem(func(p audit.Problem) { got = append(got, p.File+": "+p.Reason) })
			for {
				if _, err := it.Next(); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
