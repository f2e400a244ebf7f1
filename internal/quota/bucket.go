package quota

import "time"

// bucket is a token bucket: rate tokens per second, at most burst kept.
// A request of n takes n tokens and passes when min(n, burst) are
// available, so a request larger than one second's worth passes into
// debt instead of never.
type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

func newBucket(rate float64, now time.Time) *bucket {
	burst := max(rate, 1)
	return &bucket{rate: rate, burst: burst, tokens: burst, last: now}
}

// take reports whether n tokens may be taken at now, and takes them.
func (b *bucket) take(now time.Time, n float64) bool {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
	if b.tokens < min(n, b.burst) {
		return false
	}
	b.tokens -= n
	return true
}
