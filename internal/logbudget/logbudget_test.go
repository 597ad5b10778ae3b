package logbudget

import (
	"testing"
	"time"
)

// TestAllow: Burst lines per kind in a window, each kind its own; the
// first line after a suppression says how many were suppressed.
func TestAllow(t *testing.T) {
	steps := []struct {
		kind       string
		at         time.Duration
		ok         bool
		suppressed int
	}{
		{"a", 0, true, 0},
		{"a", time.Second, true, 0},
		{"a", 2 * time.Second, true, 0},
		{"a", 3 * time.Second, false, 0},
		{"b", 3 * time.Second, true, 0},
		{"a", 9 * time.Second, false, 0},
		{"a", 10 * time.Second, true, 2},
		{"a", 11 * time.Second, true, 0},
		{"a", 12 * time.Second, true, 0},
		{"a", 13 * time.Second, false, 0},
		{"a", time.Minute, true, 1},
		{"b", time.Minute, true, 0},
	}
	b := Budget{Burst: 3, Window: 10 * time.Second}
	t0 := time.Now()
	for i, s := range steps {
		n, ok := b.Allow(s.kind, t0.Add(s.at))
		if ok != s.ok || n != s.suppressed {
			t.Errorf("step %d (%s at %v): %v, %d suppressed; want %v, %d", i, s.kind, s.at, ok, n, s.ok, s.suppressed)
		}
	}
}
