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

// setRate changes the rate at now (the write protection scales DML rates
// between the memory water levels; a collection's rate property is
// altered). What was earned up to now is earned at the old rate, and the
// bucket keeps its fill in seconds of the rate: a bucket half full, or in
// debt for two seconds, is still so at the new rate. A raised rate thus
// takes effect at once, not after the debt run up at the old, slower rate
// (a 1 MB insert at 0.05 MB/s owes 20 s; at 100 MB/s a fraction of one).
func (b *bucket) setRate(now time.Time, rate float64) {
	if rate == b.rate {
		return
	}
	b.refill(now)
	old := b.rate
	b.rate, b.burst = rate, max(rate, 1)
	if old > 0 {
		b.tokens *= rate / old
	}
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
