package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// assigned counts newly assigned partitions. Their state is made when
// their first records arrive.
func (s *Source) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	if n := count(assigned); n > 0 {
		s.km.partitions.WithLabelValues(s.name, "assigned").Add(float64(n))
		s.log.Info("kafka partitions assigned", "source", s.name, "partitions", assigned)
	}
}

// revoked runs before the group hands partitions to other members: it
// waits until the batches of those partitions are delivered, commits
// their positions, and forgets them. BlockRebalanceOnPoll guarantees that
// every record polled from them was submitted before this runs, and none
// is polled after; so the next owner starts where this instance stopped,
// and nothing is evaluated twice. The wait is bounded by what the group
// allows a rebalance (rebalance_timeout): past it, the partition goes
// with its undelivered batches uncommitted, which the next owner then
// evaluates again (at-least-once).
func (s *Source) revoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	parts := s.ownedOf(revoked)
	if len(parts) == 0 {
		return
	}
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if !closing { // at Close, the pipeline was drained (or gave up) already
		s.awaitDelivery(parts)
	}
	only := map[topicPartition]bool{}
	for _, p := range parts {
		only[p.topicPartition] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RebalanceTimeout/4)
	defer cancel()
	if err := s.commit(ctx, only); err != nil {
		s.log.Warn("kafka commit of revoked partitions failed; their next owner may evaluate some events again",
			"source", s.name, "partitions", revoked, "err", err)
	}
	s.forget(parts)
	s.km.partitions.WithLabelValues(s.name, "revoked").Add(float64(len(parts)))
	s.log.Info("kafka partitions handed over", "source", s.name, "partitions", revoked)
}

// awaitDelivery waits until every batch of parts is delivered, within
// half the rebalance timeout (the rest is for the commit and the rejoin).
func (s *Source) awaitDelivery(parts []*partition) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RebalanceTimeout/2)
	defer cancel()
	for _, p := range parts {
		if err := p.tr.WaitIdle(ctx); err != nil {
			s.log.Warn("kafka partition revoked before its events were delivered; its next owner will evaluate them again",
				"source", s.name, "topic", p.topic, "partition", p.part, "pending_batches", p.tr.Pending())
		}
	}
}

// lost forgets partitions the group took away without a revoke (the
// session expired, the member was fenced): committing for them is no
// longer possible, so their next owner starts at the last commit.
func (s *Source) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	parts := s.ownedOf(lost)
	s.forget(parts)
	if len(parts) > 0 {
		s.km.partitions.WithLabelValues(s.name, "lost").Add(float64(len(parts)))
		s.log.Warn("kafka partitions lost without a handover; events past their last commit will be evaluated again",
			"source", s.name, "partitions", lost)
	}
}

func (s *Source) ownedOf(tps map[string][]int32) []*partition {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*partition
	for topic, parts := range tps {
		for _, part := range parts {
			if p, ok := s.owned[topicPartition{topic, part}]; ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// forget drops partitions: their late deliveries (after a timeout or a
// loss) no longer commit anything, and their lag is no longer reported.
func (s *Source) forget(parts []*partition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range parts {
		delete(s.owned, p.topicPartition)
		s.km.lag.DeleteLabelValues(s.name, p.topic, itoa(p.part))
	}
}

func count(tps map[string][]int32) int {
	n := 0
	for _, ps := range tps {
		n += len(ps)
	}
	return n
}
