package webhook_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/source/webhook/webhooktest"
)

// BenchmarkWebhook replays pre-encoded EventList batches over loopback
// into the webhook (with and without the spool) and reports events/s and
// the p50/p99 latency from POST to the batch's last alert written: at
// saturation (4 clients as fast as they can: throughput) and at a steady
// 50,000 events/s (latency at the target load).
func BenchmarkWebhook(b *testing.B) {
	templates, err := webhooktest.LoadEvents("../../testdata/sample-audit.jsonl")
	if err != nil {
		b.Skip(err)
	}
	for _, size := range []int{100, 400} {
		batches, err := webhooktest.Batches(templates, size, 200)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			spooled bool
			rate    float64
		}{{false, 0}, {true, 0}, {false, 50000}, {true, 50000}} {
			spooled, rate := c.spooled, c.rate
			name := fmt.Sprintf("batch=%d/spool=%v/saturated", size, spooled)
			if rate > 0 {
				name = fmt.Sprintf("batch=%d/spool=%v/rate=%.0f", size, spooled, rate)
			}
			b.Run(name, func(b *testing.B) {
				o := webhooktest.Options{}
				if spooled {
					o.StateDir = b.TempDir()
				}
				h, err := webhooktest.Start(o)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				var events int
				var elapsed time.Duration
				var p50, p99 time.Duration
				for b.Loop() {
					r, err := h.Replay(batches, size*len(batches), 4)
					if rate > 0 {
						r, err = h.ReplayAt(batches, size*len(batches), rate)
					}
					if err != nil {
						b.Fatal(err)
					}
					events += r.Events
					elapsed += r.Elapsed
					p50, p99 = max(p50, r.P50), max(p99, r.P99)
				}
				b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			})
		}
	}
}
