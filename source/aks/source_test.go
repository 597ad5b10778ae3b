package aks

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/source/aks/akstest"
)

// TestConsumeAndCheckpoint: events flow with their cluster name, other
// categories and truncated or broken messages are counted and skipped
// without stopping the partition, and a partition's checkpoint is written
// only once the batches before it are delivered.
func TestConsumeAndCheckpoint(t *testing.T) {
	e := newEnv(t, 2)
	e.publish(0, 1, 2)
	e.publish(0, 3)
	ev9 := akstest.AuditEvent("a1b2c3d4-0000-4000-8000-000000000009", 9)
	e.fake.Publish(t, e.hub, 1, akstest.Body(
		akstest.Record("kube-apiserver", "aks-prod", akstest.APIServerLog),
		akstest.Record("kube-audit", "aks-prod", akstest.Truncated(ev9, 400)),
		akstest.Record("kube-audit-admin", "aks-prod", akstest.AuditEvent("a1b2c3d4-0000-4000-8000-000000000004", 4))))
	e.fake.Publish(t, e.hub, 1, []byte(`{"records":[{"category":"kube-au`)) // cut off: not JSON
	e.publish(1, 5)

	p := &pipe{hold: true}
	r := e.start(e.config(), p)
	got := p.wait(t, 5)
	slices.Sort(got)
	if fmt.Sprint(got) != "[01 02 03 04 05]" {
		t.Fatalf("events %v", got)
	}
	for _, ev := range p.events {
		if ev.Cluster != "AKS-PROD" || ev.Num == 0 {
			t.Errorf("event cluster %q num %d", ev.Cluster, ev.Num)
		}
	}
	for reason, want := range map[string]float64{"other-category": 1, "truncated": 1, "malformed": 1} {
		if got := r.skipped(reason); got != want {
			t.Errorf("skipped %s = %v, want %v", reason, got, want)
		}
	}
	if got := r.counter("records", "kube-apiserver"); got != 1 {
		t.Errorf("kube-apiserver records %v", got)
	}
	if !strings.Contains(r.logs.String(), `reason=truncated problem="audit event cut off at 400 bytes (auditID \"a1b2c3d4-0000-4000-8000-000000000009\")"`) {
		t.Errorf("no truncation log line:\n%s", r.logs)
	}

	time.Sleep(600 * time.Millisecond) // three checkpoint intervals
	if cp := e.checkpoints(); len(cp) != 0 {
		t.Fatalf("checkpoints before delivery: %v", cp)
	}
	p.release()
	waitFor(t, 10*time.Second, "checkpoints", func() bool {
		cp := e.checkpoints()
		return cp["0"] == 1 && cp["1"] == 2
	})
	if err := r.s.Health(); err != nil {
		t.Errorf("unhealthy: %v", err)
	}
}

// TestRestartResumes: a gracefully stopped source resumes at its
// checkpoint: nothing is lost and nothing is read twice.
func TestRestartResumes(t *testing.T) {
	e := newEnv(t, 2)
	e.publish(0, 1)
	e.publish(1, 2, 3)
	p1 := &pipe{}
	r1 := e.start(e.config(), p1)
	p1.wait(t, 3)
	r1.stop(t)
	if cp := e.checkpoints(); cp["0"] != 0 || cp["1"] != 0 {
		t.Fatalf("checkpoints after stop %v", cp)
	}

	e.publish(0, 4)
	e.publish(1, 5)
	p2 := &pipe{}
	r2 := e.start(e.config(), p2)
	got := p2.wait(t, 2)
	time.Sleep(500 * time.Millisecond) // anything read twice would show by now
	got = p2.ids()
	slices.Sort(got)
	if fmt.Sprint(got) != "[04 05]" {
		t.Fatalf("after restart %v", got)
	}
	if n := r2.counter("repeats"); n != 0 {
		t.Errorf("repeats %v after a graceful restart", n)
	}
}

// TestCrashResumesWithRepeats: a crash loses nothing: the restarted
// instance (same instance_id, so it takes its partitions straight back)
// reads again what was received but not delivered, and counts it.
func TestCrashResumesWithRepeats(t *testing.T) {
	e := newEnv(t, 2)
	ehProxy := akstest.NewProxy(t, e.fake.Addr())
	blobProxy := akstest.NewProxy(t, e.srv.BlobAddr)
	e.ehConn = akstest.EventHubConn(ehProxy.Addr)
	e.publish(0, 1)
	e.publish(1, 2)
	p1 := &pipe{}
	r1 := e.start(e.config("instance_id", "pod-a", "blob_storage_connection_string", akstest.BlobConn(blobProxy.Addr)), p1)
	p1.wait(t, 2)
	waitFor(t, 10*time.Second, "checkpoints", func() bool { cp := e.checkpoints(); return cp["0"] == 0 && cp["1"] == 0 })

	p1.mu.Lock()
	p1.hold = true // the outputs stall: events 3 and 4 are never delivered
	p1.mu.Unlock()
	e.publish(0, 3)
	e.publish(1, 4)
	p1.wait(t, 4)
	time.Sleep(500 * time.Millisecond) // the received marker is written
	r1.crash(t, ehProxy, blobProxy)
	if cp := e.checkpoints(); cp["0"] != 0 || cp["1"] != 0 {
		t.Fatalf("checkpoints moved past undelivered events: %v", cp)
	}

	ehProxy.Restore()
	p2 := &pipe{}
	started := time.Now()
	r2 := e.start(e.config("instance_id", "pod-a"), p2)
	got := p2.wait(t, 2)
	t.Logf("restarted instance read again after %v", time.Since(started))
	slices.Sort(got)
	if fmt.Sprint(got) != "[03 04]" {
		t.Fatalf("after the crash %v", got)
	}
	if n := r2.counter("repeats"); n != 2 {
		t.Errorf("repeats %v, want 2", n)
	}
}

// TestInstancesSharePartitions: two instances split the partitions (the
// second steals its share from the first, and counts as repeats what it
// reads again past the first one's checkpoints), every event is read by
// one of them, and when one dies the other takes its partitions over.
func TestInstancesSharePartitions(t *testing.T) {
	e := newEnv(t, 4)
	pa, pb := &pipe{}, &pipe{}
	a := e.start(e.config("instance_id", "a"), pa)
	waitFor(t, 20*time.Second, "a to own 4 partitions", func() bool { return len(a.owned()) == 4 })
	for i := range 4 {
		e.publish(i, i+1)
	}
	pa.wait(t, 4)
	waitFor(t, 10*time.Second, "checkpoints", func() bool { return len(e.checkpoints()) == 4 })

	// a receives 5-8 but its outputs stall: b will read again those of
	// the partitions it steals.
	pa.mu.Lock()
	pa.hold = true
	pa.mu.Unlock()
	for i := range 4 {
		e.publish(i, i+5)
	}
	pa.wait(t, 8)
	time.Sleep(500 * time.Millisecond) // the received markers are written
	blobProxy := akstest.NewProxy(t, e.srv.BlobAddr)
	b := e.start(e.config("instance_id", "b", "blob_storage_connection_string", akstest.BlobConn(blobProxy.Addr)), pb)
	waitFor(t, 20*time.Second, "a and b to own 2 partitions each", func() bool {
		return len(a.owned()) == 2 && len(b.owned()) == 2
	})
	var stolen []string
	for _, p := range b.owned() {
		stolen = append(stolen, fmt.Sprintf("%02d", int(p[0]-'0')+5))
	}
	pb.wait(t, 2)
	got := pb.ids()
	slices.Sort(got)
	if fmt.Sprint(got) != fmt.Sprint(stolen) {
		t.Errorf("b read %v, want the undelivered events of its partitions %v", got, stolen)
	}
	if n := b.counter("repeats"); n != 2 {
		t.Errorf("b counted %v repeats, want 2", n)
	}
	if n := a.counter("lost"); n != 2 {
		t.Errorf("a lost %v partitions, want 2", n)
	}
	pa.release()

	for i := range 4 {
		e.publish(i, i+9)
	}
	waitFor(t, 20*time.Second, "events 9-12", func() bool { return len(pa.ids())+len(pb.ids()) == 14 })
	time.Sleep(300 * time.Millisecond)
	all := append(pa.ids()[8:], pb.ids()[2:]...)
	slices.Sort(all)
	if fmt.Sprint(all) != "[09 10 11 12]" {
		t.Fatalf("events 9-12 read as %v (a %v, b %v)", all, pa.ids(), pb.ids())
	}
	waitFor(t, 10*time.Second, "checkpoints", func() bool {
		for _, seq := range e.checkpoints() {
			if seq != 2 {
				return false
			}
		}
		return true
	})

	b.crash(t, blobProxy) // b can no longer renew its claims
	waitFor(t, 30*time.Second, "a to take b's partitions", func() bool { return len(a.owned()) == 4 })
	for i := range 4 {
		e.publish(i, i+13)
	}
	n := len(pa.ids())
	pa.wait(t, n+4)
	time.Sleep(300 * time.Millisecond)
	got = pa.ids()[n:]
	slices.Sort(got)
	if fmt.Sprint(got) != "[13 14 15 16]" {
		t.Fatalf("after b died, a read %v", pa.ids())
	}
}

// TestDeadConnection: a dead connection makes the source unhealthy
// rather than silent, and it recovers by itself.
func TestDeadConnection(t *testing.T) {
	e := newEnv(t, 1)
	proxy := akstest.NewProxy(t, e.fake.Addr())
	e.ehConn = akstest.EventHubConn(proxy.Addr)
	p := &pipe{}
	r := e.start(e.config(), p)
	e.publish(0, 1)
	p.wait(t, 1)
	if err := r.s.Health(); err != nil {
		t.Fatalf("unhealthy at start: %v", err)
	}
	// Delivery is at least once: cut before event 1's checkpoint is
	// written and it is read again, counted as a repeat.
	waitFor(t, 10*time.Second, "event 1's checkpoint", func() bool {
		_, ok := e.checkpoints()["0"]
		return ok
	})

	proxy.Cut()
	waitFor(t, 30*time.Second, "unhealthy", func() bool { return r.s.Health() != nil })
	t.Logf("while cut: %v", r.s.Health())

	proxy.Restore()
	deadline := time.Now().Add(60 * time.Second)
	for r.s.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still unhealthy: %v\n%s", r.s.Health(), r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.publish(0, 2)
	if got := p.wait(t, 2); fmt.Sprint(got) != "[01 02]" {
		t.Fatalf("events %v", got)
	}
}

// TestRateLimit: when set, the limit holds (and a warning says so).
func TestRateLimit(t *testing.T) {
	e := newEnv(t, 1)
	for m := range 3 {
		ids := make([]int, 10)
		for i := range ids {
			ids[i] = m*10 + i + 1
		}
		e.publish(0, ids...)
	}
	p := &pipe{}
	start := time.Now()
	r := e.start(e.config("rate_limit_events_per_second", 20, "rate_limit_burst", 5), p)
	p.wait(t, 30)
	// 5 at once, then 25 at 20 a second.
	if d := time.Since(start); d < 1200*time.Millisecond {
		t.Errorf("30 records in %v with a limit of 20/s, burst 5", d)
	}
	if !strings.Contains(r.logs.String(), "rate limit set") {
		t.Errorf("no start-up warning:\n%s", r.logs)
	}
}

// TestStartPosition: where a partition without a checkpoint starts.
func TestStartPosition(t *testing.T) {
	tests := []struct {
		name  string
		start func(at time.Time) string
		want  string
	}{
		{"earliest", func(time.Time) string { return "earliest" }, "[01 02 03]"},
		{"latest", func(time.Time) string { return "latest" }, "[03]"},
		{"time", func(at time.Time) string { return at.Format(time.RFC3339Nano) }, "[02 03]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 1)
			e.publish(0, 1)
			time.Sleep(30 * time.Millisecond)
			at := time.Now()
			time.Sleep(30 * time.Millisecond)
			e.publish(0, 2)
			p := &pipe{}
			e.start(e.config("start_position", tt.start(at)), p)
			waitFor(t, 20*time.Second, "the receiver", func() bool { return len(e.fake.Receivers(t, e.hub)["0"]) == 1 })
			e.publish(0, 3)
			waitFor(t, 20*time.Second, "event 3", func() bool { return slices.Contains(p.ids(), "03") })
			time.Sleep(200 * time.Millisecond)
			if got := fmt.Sprint(p.ids()); got != tt.want {
				t.Errorf("events %s, want %s", got, tt.want)
			}
		})
	}
}
