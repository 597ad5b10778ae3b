package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/source"
	"github.com/peregrine-sec/peregrine/source/spool"
)

// holder is a pipeline that takes batches and never delivers them, like a
// process killed before its outputs wrote anything.
type holder struct{ got chan *source.Batch }

func (h *holder) Submit(_ context.Context, b *source.Batch) error {
	h.got <- b
	return nil
}

// TestSpoolDurability answers 2xx with the body in the spool, loses the
// process before delivery, and gets the events again from the spool.
func TestSpoolDurability(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, rec, _ := start(t, Options{Spool: sp})
	if resp, _ := post(t, srv.URL+"/k8s-audit/prod", []byte(eventList("a", "b")), nil); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(5 * time.Second); len(rec.events()) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the spooled body was not evaluated")
		}
	}

	// Now a process that dies before delivering: its reader takes the
	// batch and never releases it.
	dir2 := t.TempDir()
	sp2, _ := spool.Open(dir2, 0)
	hold := &holder{got: make(chan *source.Batch, 4)}
	h2 := New(Options{Name: "k8saudit", Path: "/k8s-audit", Spool: sp2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h2.Run(ctx, hold); close(done) }()
	if a := h2.appendSpool("prod", []byte(eventList("a", "b"))); a.code != 200 {
		t.Fatalf("spool answer %d", a.code)
	}
	select {
	case b := <-hold.got:
		if len(b.Events) != 2 || b.Events[0].Cluster != "prod" {
			t.Fatalf("batch of %d events, cluster %q", len(b.Events), b.Events[0].Cluster)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the spooled body was not evaluated")
	}
	cancel()
	<-done
	h2.Close() // the "crash": nothing was delivered, nothing acknowledged

	sp3, err := spool.Open(dir2, 0)
	if err != nil {
		t.Fatal(err)
	}
	h3 := New(Options{Name: "k8saudit", Path: "/k8s-audit", Spool: sp3})
	ctx3, cancel3 := context.WithCancel(context.Background())
	defer cancel3()
	hold3 := &holder{got: make(chan *source.Batch, 4)}
	go h3.Run(ctx3, hold3)
	select {
	case b := <-hold3.got:
		ids := []string{}
		for _, e := range b.Events {
			id, _ := e.Top("auditID").Str()
			ids = append(ids, id)
		}
		if len(ids) != 2 || ids[0] != "a" || ids[1] != "b" || b.Events[0].Cluster != "prod" {
			t.Fatalf("after restart: %v cluster %q", ids, b.Events[0].Cluster)
		}
		b.Release()
	case <-time.After(5 * time.Second):
		t.Fatal("the undelivered body did not come back after restart")
	}
}
