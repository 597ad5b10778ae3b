package aks

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/source/aks/akstest"
)

// BenchmarkConsume measures events per second through the Event Hubs fake
// on loopback, with the real SDK and checkpoints in Azurite: messages of
// 100 kube-audit records on 4 partitions are published first, then the
// time runs from Run to the last event submitted. The pipeline releases
// at once (no rules), so this is the source's own rate.
//
//	go test -run '^$' -bench Consume -benchtime 3x ./source/aks/
func BenchmarkConsume(b *testing.B) {
	const partitions, messages, records = 4, 100, 100
	srv := akstest.Need(b)
	ev := akstest.Record("kube-audit", "aks-prod", akstest.AuditEvent("a1b2c3d4-0000-4000-8000-000000000001", 1))
	body := akstest.Body(strings.Repeat(ev+",", records-1) + ev)
	total := time.Duration(0)
	for i := 0; b.Loop(); i++ {
		e := envOn(b, srv, srv.Fake.HubNamed(b, fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), partitions))
		for m := range messages {
			e.fake.Publish(b, e.hub, m%partitions, body)
		}
		p := &pipe{}
		start := time.Now()
		r := e.start(e.config("ownership_update_interval", "100ms", "load_balancing_strategy", "greedy"), p)
		p.wait(b, messages*records)
		total += time.Since(start)
		r.stop(b)
	}
	b.ReportMetric(float64(b.N*messages*records)/total.Seconds(), "events/s")
	b.ReportMetric(float64(b.N*messages*len(body))/total.Seconds()/1e6, "MB/s")
}
