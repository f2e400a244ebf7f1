package quota

import "time"

// bucket is a token bucket: rate tokens per second, at most burst kept.
// It decides as Milvus's limiter (ratelimitutil.Limiter.AllowN): a
// request of n passes while the tokens are not negative and takes n, so
// it may leave the bucket in debt, which later requests wait out (a full
// bucket of one second's worth admits that much and one request more); a
// rate of 0 passes only what its burst holds, and the burst is the rate,
// so nothing (quotaAndLimits.flushRate.collection.max: 0 refuses every
// Flush). The burst is one second's worth, as Milvus's proxies set it
// (ratelimitutil.Limiter.SetLimit: "use rate as burst"); the rate is this
// proxy's share, so the burst is split among the proxies as the rate is.
type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

func newBucket(rate float64, now time.Time) *bucket {
	return &bucket{rate: rate, burst: rate, tokens: rate, last: now}
}

// setRate changes the rate (the write protection scales DML rates
// between the memory water levels; a collection's rate property is
// altered; the live proxies change, and with them this proxy's share).
// The bucket learns of a change only at its next request, so the new
// rate applies from its last request on (what was earned since is earned
// at the new rate): the change happened somewhere in between. A bucket
// keeps its fill in seconds of the rate (half full is still half full),
// and its debt in tokens: what was admitted beyond the tokens is owed,
// and repaid at the new rate. A raised rate thus takes effect at once,
// not after the debt run up at the old, slower rate (a 0.9 MB insert at
// 0.05 MB/s owes 17 s; at 100 MB/s 9 ms), and a lowered one makes a
// drained bucket wait longer.
func (b *bucket) setRate(rate float64) {
	if rate == b.rate {
		return
	}
	old := b.rate
	b.rate, b.burst = rate, rate
	if old > 0 && b.tokens > 0 {
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

// full reports whether the bucket has refilled completely by now, without
// moving its clock (a rate change still applies from its last request).
func (b *bucket) full(now time.Time) bool {
	return b.tokens+now.Sub(b.last).Seconds()*b.rate >= b.burst
}

// allows reports whether n tokens may be taken at now.
func (b *bucket) allows(now time.Time, n float64) bool {
	if b.rate <= 0 {
		return n <= b.burst
	}
	b.refill(now)
	return b.tokens >= 0
}

// take reports whether n tokens may be taken at now, and takes them.
func (b *bucket) take(now time.Time, n float64) bool {
	if !b.allows(now, n) {
		return false
	}
	if b.rate <= 0 {
		b.burst -= n
		return true
	}
	b.tokens -= n
	return true
}
