package aks

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source"
)

// position is where a partition resumes: after the event with this
// sequence number and offset (the SDK's checkpoint).
type position struct {
	seq    int64
	offset string
}

// mark is what the process remembers of a partition across the sessions
// in which it owned it.
type mark struct {
	// seen is the highest sequence number received here, or by the
	// previous owner as its marker says: anything at or below it is a
	// repeat.
	seen atomic.Int64
	// written is the newest checkpoint this process wrote; it never
	// writes an older one (a late batch of an earlier session).
	written atomic.Int64
	// marked is the newest received marker written.
	marked atomic.Int64
}

func newMark() *mark {
	m := &mark{}
	m.seen.Store(-1)
	m.written.Store(-1)
	m.marked.Store(-1)
	return m
}

// session is one stretch of ownership of a partition: from the processor
// handing out its client until that client fails, is stolen or stops.
// Its Tracker commits the positions of its batches in order.
type session struct {
	pid     string
	pc      *azeventhubs.ProcessorPartitionClient
	tr      *source.Tracker[position]
	mark    *mark
	seq     audit.Sequence // evt.num, touched by the consumer goroutine only
	started time.Time

	mu           sync.Mutex
	committed    position
	dirty        bool // committed not yet written
	start        int64
	enqueued     int64 // last enqueued sequence number, from the probe
	checkpointAt time.Time
	lost         bool // another instance took the partition: write nothing more
	ended        bool // the consumer returned
}

func (ss *session) commit(p position) {
	ss.mu.Lock()
	ss.committed, ss.dirty = p, true
	ss.mu.Unlock()
}

// status reports the session as an owned partition; ok is false once it
// no longer reads it.
func (ss *session) status() (PartitionStatus, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.lost || ss.ended {
		return PartitionStatus{}, false
	}
	done := ss.start
	if ss.committed.offset != "" {
		done = ss.committed.seq
	}
	lag := int64(-1)
	if ss.enqueued >= 0 && done >= 0 {
		lag = max(0, ss.enqueued-done)
	}
	return PartitionStatus{ID: ss.pid, Lag: lag, CheckpointAt: ss.checkpointAt}, true
}

// open starts a session for a partition the processor handed out.
func (s *Source) open(ctx context.Context, pc *azeventhubs.ProcessorPartitionClient) *session {
	pid := pc.PartitionID()
	s.mu.Lock()
	mk := s.marks[pid]
	if mk == nil {
		mk = newMark()
		s.marks[pid] = mk
	}
	s.mu.Unlock()
	ss := &session{pid: pid, pc: pc, mark: mk, started: time.Now(), start: -1, enqueued: -1}
	ss.checkpointAt = ss.started
	ss.tr = source.NewTracker(ss.commit)
	s.readMarks(ctx, ss)
	s.mu.Lock()
	s.sessions[ss] = true
	s.mu.Unlock()
	s.log.Info("partition claimed", "partition", pid, "checkpoint", ss.start, "seen", mk.seen.Load())
	return ss
}

// consume reads a partition until ctx ends or the partition client fails.
// After a failure the processor reopens the partition at its next
// ownership update if this instance still owns it.
func (s *Source) consume(ctx context.Context, p source.Pipeline, pc *azeventhubs.ProcessorPartitionClient) {
	ss := s.open(ctx, pc)
	defer s.end(ctx, ss)
	for ctx.Err() == nil {
		events, err := s.receive(ctx, pc)
		if len(events) > 0 && !s.deliverAll(ctx, p, ss, events) {
			return
		}
		if err != nil {
			s.failed(ss, err)
			return
		}
	}
}

// receive waits up to receive_wait for a batch; a wait that ends empty is
// not an error.
func (s *Source) receive(ctx context.Context, pc *azeventhubs.ProcessorPartitionClient) ([]*azeventhubs.ReceivedEventData, error) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.ReceiveWait)
	defer cancel()
	events, err := pc.ReceiveEvents(rctx, s.cfg.BatchSize, nil)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = nil
	}
	if err == nil {
		s.fault("receive", nil)
	}
	return events, err
}

// failed ends a session after a receive error.
func (s *Source) failed(ss *session, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	var eh *azeventhubs.Error
	if errors.As(err, &eh) && eh.Code == azeventhubs.ErrorCodeOwnershipLost {
		ss.mu.Lock()
		ss.lost = true
		ss.mu.Unlock()
		s.sm.lost.WithLabelValues(s.name).Inc()
		s.log.Info("partition taken over by another instance; it resumes from the last checkpoint", "partition", ss.pid)
		return
	}
	s.fault("receive", err)
	s.log.Warn("receiving failed; the partition is reopened at the next ownership update", "partition", ss.pid, "err", err)
}

// end closes the session's client, unless the whole source is stopping:
// then the processor keeps the partition until Close has checkpointed it.
func (s *Source) end(ctx context.Context, ss *session) {
	if ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ss.pc.Close(cctx)
		cancel()
	}
	ss.mu.Lock()
	ss.ended = true
	ss.mu.Unlock()
}

// deliverAll submits what one receive returned: as one batch, or under a
// rate limit message by message, so that alerts of the first records
// need not wait for the tokens of the last.
func (s *Source) deliverAll(ctx context.Context, p source.Pipeline, ss *session, msgs []*azeventhubs.ReceivedEventData) bool {
	s.countRepeats(ss, msgs)
	if s.limit == nil {
		return s.deliver(ctx, p, ss, msgs)
	}
	for i := range msgs {
		if !s.deliver(ctx, p, ss, msgs[i:i+1]) {
			return false
		}
	}
	return true
}

// deliver decodes messages and submits their events as one batch,
// tracked at the last message's position. It returns false when the
// pipeline refused it because the source is stopping.
func (s *Source) deliver(ctx context.Context, p source.Pipeline, ss *session, msgs []*azeventhubs.ReceivedEventData) bool {
	var events []*audit.Event
	records, skipped := 0, 0
	dec := s.dec
	dec.category = func(c string) { records++; s.dec.category(c) }
	dec.skip = func(reason, msg string) { skipped++; s.skipped(reason, msg) }
	emit := func(e *audit.Event) { events = append(events, e) }
	for _, m := range msgs {
		dec.body(m.Body, emit)
	}
	if s.limit != nil && s.limit.wait(ctx, records) != nil {
		return false
	}
	for _, e := range events {
		ss.seq.Stamp(e)
	}
	if n := len(events) + skipped; n > 0 {
		s.m.EventsReceived.WithLabelValues(s.name).Add(float64(n))
		s.clock.Received(time.Now())
	}
	last := msgs[len(msgs)-1]
	b := source.NewBatch(s.name, events)
	ss.tr.Track(b, position{seq: last.SequenceNumber, offset: last.Offset})
	if err := p.Submit(ctx, b); err != nil {
		ss.tr.Forget(b)
		return false
	}
	return true
}

// countRepeats counts messages at or below the partition's mark and
// raises the mark.
func (s *Source) countRepeats(ss *session, msgs []*azeventhubs.ReceivedEventData) {
	seen := ss.mark.seen.Load()
	repeats := 0
	for _, m := range msgs {
		if m.SequenceNumber <= seen {
			repeats++
		}
	}
	if repeats > 0 {
		s.sm.repeats.WithLabelValues(s.name).Add(float64(repeats))
		s.log.Info("messages received again past the last checkpoint", "partition", ss.pid, "count", repeats)
	}
	if last := msgs[len(msgs)-1].SequenceNumber; last > seen {
		ss.mark.seen.Store(last)
	}
}
