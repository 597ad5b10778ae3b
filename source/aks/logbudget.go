package aks

import (
	"sync"
	"time"
)

// logBudget keeps a flood of bad records (a hub carrying something else,
// a cluster truncating every event) from flooding the log: at most
// logsPerMinute lines per reason a minute; the counters count them all.
type logBudget struct {
	mu      sync.Mutex
	windows map[string]*logWindow
}

type logWindow struct {
	start            time.Time
	logged, withheld int
}

const logsPerMinute = 20

// allow reports whether to log one more line for reason, and how many
// were withheld in the window before this one.
func (b *logBudget) allow(reason string, now time.Time) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.windows == nil {
		b.windows = map[string]*logWindow{}
	}
	w := b.windows[reason]
	if w == nil || now.Sub(w.start) >= time.Minute {
		withheld := 0
		if w != nil {
			withheld = w.withheld
		}
		b.windows[reason] = &logWindow{start: now, logged: 1}
		return withheld, true
	}
	if w.logged < logsPerMinute {
		w.logged++
		return 0, true
	}
	w.withheld++
	return 0, false
}
