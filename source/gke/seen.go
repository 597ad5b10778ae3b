package gke

import (
	"sync"
	"time"
)

// maxSeen bounds how many IDs a window remembers, so a burst cannot grow
// it without limit; the oldest are forgotten first.
const maxSeen = 100_000

// seenWindow remembers IDs for a while, to count the redeliveries Pub/Sub
// makes (at-least-once: after a nack, an expired lease, or even after an
// ack) and the entries Cloud Logging publishes twice. It only counts:
// every delivery is evaluated, since dropping a repeat could drop the
// only copy whose alerts get delivered.
type seenWindow struct {
	mu     sync.Mutex
	window time.Duration
	at     map[string]time.Time
	order  []seenID // oldest first; order[head:] are live
	head   int
}

type seenID struct {
	id string
	at time.Time
}

func newSeenWindow(window time.Duration) *seenWindow {
	return &seenWindow{window: window, at: map[string]time.Time{}}
}

// repeat records id at now and reports whether it was seen within the
// window before. An empty id or a zero window never repeats.
func (s *seenWindow) repeat(id string, now time.Time) bool {
	if id == "" || s.window <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	_, seen := s.at[id]
	if !seen {
		s.at[id] = now
		s.order = append(s.order, seenID{id, now})
	}
	return seen
}

// expire forgets IDs older than the window, and the oldest ones over
// maxSeen.
func (s *seenWindow) expire(now time.Time) {
	for s.head < len(s.order) {
		e := s.order[s.head]
		if now.Sub(e.at) < s.window && len(s.order)-s.head < maxSeen {
			break
		}
		delete(s.at, e.id)
		s.order[s.head] = seenID{}
		s.head++
	}
	// Compact once the dead prefix is half the slice, so it does not
	// creep forward and grow without bound.
	if s.head > 1024 && s.head*2 >= len(s.order) {
		n := copy(s.order, s.order[s.head:])
		clear(s.order[n:])
		s.order, s.head = s.order[:n], 0
	}
}
