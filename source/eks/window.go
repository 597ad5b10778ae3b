package eks

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"
)

// position is where the source resumes once a batch is delivered.
type position struct {
	seq    uint64 // the batch's number: ids read in batches up to it are delivered
	newest int64  // ms: the newest CloudWatch timestamp read when it was submitted
	since  int64  // ms: the start of the time range its poll read
}

// entry is what the window keeps of an event id.
type entry struct {
	t   int64  // CloudWatch timestamp, ms
	seq uint64 // the batch that carried it
}

// window decides which time range each poll reads and which events in it
// are new. CloudWatch can make an event visible after newer ones were
// read, so reading on from the newest timestamp (as upstream does) loses
// it. Each poll therefore reads again from a little before the newest
// timestamp (the margin), and every sweep interval a poll reads again the
// whole overlap before it: an event that turns up to overlap late is read
// by the next sweep at the latest. The ids of the events read in that
// range tell what was read already. The sweep's start never moves back, so
// ids older than it can be forgotten.
//
// Positions tie the ids to delivery: an id counts as delivered once the
// batch that carried it was committed, and only delivered ids go into the
// checkpoint, so after a crash the undelivered ones are read again.
type window struct {
	// reach is how far before the newest timestamp a sweep starts: the
	// overlap plus the longest gap between sweeps (ms).
	reach, margin, sweepEvery int64

	mu        sync.Mutex
	floor     int64 // ms: the last sweep's start; never decreases
	newest    int64 // ms: the newest timestamp read
	lastSweep int64 // ms, wall clock
	resumed   bool  // the next poll reads from floor exactly (after a restart)
	ids       map[string]entry
	committed position
	dirty     bool // committed changed since the last snapshot
}

// windowOptions are the durations a window works with.
type windowOptions struct {
	overlap, sweepEvery, pollEvery, margin time.Duration
}

// newWindow starts reading at start (ms), with nothing read yet.
func newWindow(o windowOptions, start int64) *window {
	return &window{
		reach:      (o.overlap + o.sweepEvery + o.pollEvery).Milliseconds(),
		margin:     min(o.margin, o.overlap).Milliseconds(),
		sweepEvery: o.sweepEvery.Milliseconds(),
		floor:      start, newest: start, lastSweep: math.MinInt64 / 2,
		ids:       map[string]entry{},
		committed: position{newest: start, since: start},
		// A fresh start is saved even before any event, so that a restart
		// after a quiet spell resumes here rather than at its own now.
		dirty: true,
	}
}

// resumeWindow continues from a checkpoint: its ids were delivered.
func resumeWindow(o windowOptions, cp *Checkpoint) *window {
	w := newWindow(o, cp.WindowStart)
	w.newest, w.resumed, w.dirty = max(cp.Timestamp, cp.WindowStart), true, false
	w.committed.newest = w.newest
	for _, s := range cp.Seen {
		for _, id := range s.IDs {
			w.ids[id] = entry{t: s.Timestamp}
		}
	}
	return w
}

// next returns where the next poll starts reading, and the start of the
// range whose ids the window keeps (both ms). Ranges trail the newest
// event read, or now when an event carried a timestamp in the future, so
// a skewed clock cannot make them skip ahead of real time.
func (w *window) next(now int64) (start, since int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.resumed {
		// The checkpoint's ids cover exactly [floor, ...): read all of it;
		// whatever was pending at the stop is found again.
		w.resumed, w.lastSweep = false, now
		return w.floor, w.floor
	}
	head := min(w.newest, now)
	if now-w.lastSweep >= w.sweepEvery {
		w.lastSweep = now
		w.floor = max(w.floor, head-w.reach)
		return w.floor, w.floor
	}
	return max(w.floor, head-w.margin), w.floor
}

// Newest returns the newest timestamp read (ms).
func (w *window) Newest() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.newest
}

// add records an event read in batch seq; it reports false when the id
// was read before (a re-read of the overlap, a repeat across pages).
func (w *window) add(id string, t int64, seq uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.ids[id]; ok {
		return false
	}
	w.ids[id] = entry{t: t, seq: seq}
	w.newest = max(w.newest, t)
	return true
}

// commit records a delivered position. It runs under the Tracker's lock,
// so it only stores.
func (w *window) commit(p position) {
	w.mu.Lock()
	w.committed, w.dirty = p, true
	w.mu.Unlock()
}

// prune forgets the ids no poll can read again: older than the committed
// position's range start (no later poll starts before it).
func (w *window) prune() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, e := range w.ids {
		if e.t < w.committed.since {
			delete(w.ids, id)
		}
	}
}

// Len returns how many ids the window holds.
func (w *window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ids)
}

// snapshot returns the checkpoint of the committed position, or false
// when it did not change since the last one. The checkpoint lists every
// delivered id from the position's range start on, grouped by timestamp;
// ids of batches not yet delivered are left out, to be read again.
func (w *window) snapshot() (Checkpoint, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dirty {
		return Checkpoint{}, false
	}
	w.dirty = false
	p := w.committed
	byTime := map[int64][]string{}
	for id, e := range w.ids {
		if e.seq <= p.seq && e.t >= p.since {
			byTime[e.t] = append(byTime[e.t], id)
		}
	}
	cp := Checkpoint{Version: checkpointVersion, Timestamp: p.newest, WindowStart: p.since}
	for t, ids := range byTime {
		slices.Sort(ids)
		cp.Seen = append(cp.Seen, SeenAt{Timestamp: t, IDs: ids})
	}
	slices.SortFunc(cp.Seen, func(a, b SeenAt) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	return cp, true
}

// redo marks the committed position unsaved again (its save failed).
func (w *window) redo() {
	w.mu.Lock()
	w.dirty = true
	w.mu.Unlock()
}
