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

// TuneGC applies GCPercent unless the environment sets GOGC, and returns a
// function that restores the previous setting.
func TuneGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(GCPercent)
	return func() { debug.SetGCPercent(old) }
}
