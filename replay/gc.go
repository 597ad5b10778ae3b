package replay

import (
	"os"
	"runtime/debug"
)

// GCPercent is the garbage collector's setting for a replay: running it
// four times less often than Go's default makes replay about 5% faster for
// about 16 MB more memory (docs/PERFORMANCE.md). The daemon keeps Go's
// default: its memory target is tighter.
const GCPercent = 400

// MemoryLimit is the soft limit a replay sets with GCPercent: streaming
// input never comes near it, but a huge single document (a pretty-printed
// EventList of 100 MB, held whole until it ends) would otherwise leave five
// times its size in garbage. Past it the collector runs as often as it
// must; live data above it is never refused.
const MemoryLimit = 512 << 20

// TuneGC applies GCPercent and MemoryLimit unless the environment sets
// GOGC or GOMEMLIMIT, and returns a function that restores the previous
// settings.
func TuneGC() (restore func()) {
	var undo []func()
	if os.Getenv("GOGC") == "" {
		old := debug.SetGCPercent(GCPercent)
		undo = append(undo, func() { debug.SetGCPercent(old) })
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		old := debug.SetMemoryLimit(MemoryLimit)
		undo = append(undo, func() { debug.SetMemoryLimit(old) })
	}
	return func() {
		for _, f := range undo {
			f()
		}
	}
}
