package source

import (
	"context"
	"time"
)

// Every calls f every d until ctx ends: the periodic checkpoint writes and
// commits of the sources.
func Every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
