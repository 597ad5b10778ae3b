package output

import (
	"context"
	"sync"
	"time"
)

// Limiter is a token bucket (outputs.rate alerts per second, bursts of
// outputs.max_burst). Unlike Falco's, which drops alerts over the rate,
// Wait delays them; Allow is the dropping variant, for users who choose it.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewLimiter returns a bucket that starts full; nil when rate <= 0 (no
// limit, as in Falco).
func NewLimiter(rate float64, burst int) *Limiter {
	if rate <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &Limiter{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now(), now: time.Now}
}

// reserve takes a token, going into debt when there is none, and says how
// long the caller must wait for it.
func (l *Limiter) reserve(debt bool) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens < 1 && !debt {
		return 0, false
	}
	l.tokens--
	if l.tokens >= 0 {
		return 0, true
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second)), true
}

// Allow takes a token if one is there.
func (l *Limiter) Allow() bool {
	_, ok := l.reserve(false)
	return ok
}

// Wait takes a token, waiting for it to accrue; it fails only when ctx
// ends first (the token stays spent).
func (l *Limiter) Wait(ctx context.Context) error {
	d, _ := l.reserve(true)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
