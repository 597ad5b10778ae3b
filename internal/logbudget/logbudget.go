// Package logbudget keeps a flood of one kind of problem (a sender of bad
// bodies, a partition of truncated records, a broker that keeps failing)
// from flooding the log: a few lines of each kind per window, the first
// line after a quiet spell saying how many were held back. Metrics count
// every occurrence; the log only samples them.
package logbudget

import (
	"log/slog"
	"sync"
	"time"
)

// Budget allows Burst lines of each kind per Window. Kinds should be a
// small fixed set (reasons, message texts), never request data: each has
// a counter for the life of the process.
type Budget struct {
	Burst  int
	Window time.Duration
	// Now is Warn's clock (nil: time.Now); tests move it.
	Now func() time.Time

	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	start              time.Time
	logged, suppressed int
}

// Allow reports whether to log one more line of kind at now, and how many
// lines of kind were held back since the last one logged.
func (b *Budget) Allow(kind string, now time.Time) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.windows == nil {
		b.windows = map[string]*window{}
	}
	w := b.windows[kind]
	if w == nil {
		w = &window{start: now}
		b.windows[kind] = w
	}
	if now.Sub(w.start) >= b.Window {
		w.start, w.logged = now, 0
	}
	if w.logged >= b.Burst {
		w.suppressed++
		return 0, false
	}
	w.logged++
	n := w.suppressed
	w.suppressed = 0
	return n, true
}

// Warn logs msg at Warn within the budget of kind, adding "suppressed"
// when lines were held back before it.
func (b *Budget) Warn(l *slog.Logger, kind, msg string, args ...any) {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	n, ok := b.Allow(kind, now())
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.Warn(msg, args...)
}
