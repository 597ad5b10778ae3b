package aks

import (
	"context"
	"sync"
	"time"
)

// limiter is a token bucket shared by every partition of a source, as
// upstream's one rate.Limiter is: rate_limit_events_per_second records
// per second on average, rate_limit_burst at once. (golang.org/x/time/rate
// would do; this is the few lines the source needs, without a module.)
type limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// wait takes n tokens, sleeping until they are there; more than a burst
// is taken a burst at a time. It fails only when ctx ends.
func (l *limiter) wait(ctx context.Context, n int) error {
	for n > 0 {
		take := min(float64(n), l.burst)
		if d := l.reserve(take); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		n -= int(take)
	}
	return nil
}

// reserve takes k tokens now, possibly going into debt, and returns how
// long the caller must wait for the debt to be paid off.
func (l *limiter) reserve(k float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens -= k
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}
