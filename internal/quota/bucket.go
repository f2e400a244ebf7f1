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

// setRate changes the rate (the write protection scales DML rates down
// between the memory water levels); tokens already earned are kept up to
// the new burst.
func (b *bucket) setRate(rate float64) {
	if rate == b.rate {
		return
	}
	b.rate, b.burst = rate, max(rate, 1)
	b.tokens = min(b.tokens, b.burst)
}

// refill adds what was earned up to now.
func (b *bucket) refill(now time.Time) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
}

// allows reports whether n tokens may be taken at now.
func (b *bucket) allows(now time.Time, n float64) bool {
	b.refill(now)
	return b.tokens >= min(n, b.burst)
}

// take reports whether n tokens may be taken at now, and takes them.
func (b *bucket) take(now time.Time, n float64) bool {
	if !b.allows(now, n) {
		return false
	}
	b.tokens -= n
	return true
}
