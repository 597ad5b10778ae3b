package kafka

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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
