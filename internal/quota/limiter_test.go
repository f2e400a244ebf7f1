package quota

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/errs"
)

// clock is a settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestLimiter(cfg Config) (*Limiter, *clock) {
	l := New(cfg, nil)
	c := &clock{t: time.Unix(1000, 0)}
	l.now = c.now
	return l, c
}

func defaults() Config {
	return Config{Enabled: true, FlushEnabled: true, FlushRate: -1, FlushRateDB: -1, FlushRateCollection: 0.1,
		Insert: Unlimited, Delete: Unlimited, BulkLoad: Unlimited, Search: Unlimited, Query: Unlimited, CollectionRate: -1, PartitionRate: -1}
}

// TestFlushRate: Milvus's default admits one Flush per collection every 10 s
// and refuses the next with its exact text (Milvus's TestFlushRate).
func TestFlushRate(t *testing.T) {
	l, c := newTestLimiter(defaults())
	ctx := context.Background()
	if err := l.Admit(ctx, Flush, 1, 1); err != nil {
		t.Fatal(err)
	}
	err := l.Admit(ctx, Flush, 1, 1)
	const want = "request is rejected by grpc RateLimiter middleware, please retry later: rate limit exceeded[rate=0.1]"
	if err == nil || err.Error() != want || !errors.Is(err, errs.ErrServiceRateLimit) || errs.CodeOf(err) != 8 {
		t.Fatalf("second flush: %v", err)
	}
	if err := l.Admit(ctx, Flush, 2, 1); err != nil {
		t.Fatalf("another collection's flush: %v", err)
	}
	// The first took the bucket 0.9 into debt: repaid in 9 s.
	c.t = c.t.Add(8900 * time.Millisecond)
	if err := l.Admit(ctx, Flush, 1, 1); err == nil {
		t.Fatal("flush after 8.9 s admitted")
	}
	c.t = c.t.Add(1100 * time.Millisecond)
	if err := l.Admit(ctx, Flush, 1, 1); err != nil {
		t.Fatalf("flush after 10 s: %v", err)
	}
	l.Forget(1)
	if err := l.Admit(ctx, Flush, 1, 1); err != nil {
		t.Fatalf("flush of a forgotten collection: %v", err)
	}
}

func TestDisabled(t *testing.T) {
	cfg := defaults()
	cfg.Enabled = false
	cfg.ForceDenyWriting = true
	l, _ := newTestLimiter(cfg)
	for range 5 {
		if err := l.Admit(context.Background(), Flush, 1, 1); err != nil {
			t.Fatal(err)
		}
		if err := l.Admit(context.Background(), Insert, 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	var nilLimiter *Limiter
	if err := nilLimiter.Admit(context.Background(), Insert, 1, 1); err != nil {
		t.Fatal(err)
	}
}

// TestInsertRate: 1 MB/s admits while the bucket is not in debt, as
// Milvus's limiter: 600 KB twice (the second into debt), then nothing
// until the debt is repaid; a request larger than the burst passes into
// debt too.
func TestInsertRate(t *testing.T) {
	cfg := defaults()
	cfg.DMLEnabled = true
	cfg.Insert.Max = 1
	l, c := newTestLimiter(cfg)
	ctx := context.Background()
	for i := range 2 {
		if err := l.Admit(ctx, Insert, 7, 600<<10); err != nil {
			t.Fatalf("600 KB insert %d: %v", i, err)
		}
	}
	if err := l.Admit(ctx, Insert, 7, 1); err == nil {
		t.Fatal("admitted in debt: 1.2 MB in no time at 1 MB/s, then more")
	} else if !strings.Contains(err.Error(), "rate limit exceeded[rate=1]") {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Second)
	if err := l.Admit(ctx, Insert, 7, 5<<20); err != nil {
		t.Fatalf("a 5 MB insert with a full bucket: %v", err)
	}
	c.t = c.t.Add(2 * time.Second)
	if err := l.Admit(ctx, Insert, 7, 1); err == nil {
		t.Fatal("admitted while in debt")
	}
	if err := l.Admit(ctx, Delete, 7, 5<<20); err != nil {
		t.Fatalf("delete without a delete rate: %v", err)
	}
}

func TestForceDeny(t *testing.T) {
	cfg := defaults()
	cfg.ForceDenyWriting, cfg.ForceDenyReading = true, true
	l, _ := newTestLimiter(cfg)
	ctx := context.Background()
	err := l.Admit(ctx, Upsert, 1, 10)
	if err == nil || err.Error() != "quota exceeded[reason=access has been disabled by the administrator: config force deny writing]" || errs.CodeOf(err) != 9 {
		t.Fatalf("upsert: %v", err)
	}
	if err := l.Admit(ctx, Search, 1, 1); !errors.Is(err, errs.ErrServiceQuotaExceeded) {
		t.Fatalf("search: %v", err)
	}
	// As Milvus's forceDenyWriting with ErrorCode_ForceDeny: deletes too.
	if err := l.Admit(ctx, Delete, 1, 10); !errors.Is(err, errs.ErrServiceQuotaExceeded) {
		t.Fatalf("delete: %v", err)
	}
	if err := l.Admit(ctx, Flush, 1, 1); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

func TestHostProbe(t *testing.T) {
	p := HostProbe{Dir: t.TempDir()}
	used, total, err := p.Disk()
	if err != nil || total == 0 || used > total {
		t.Fatalf("disk %d of %d: %v", used, total, err)
	}
	n, err := p.DataBytes()
	if err != nil || n != 0 {
		t.Fatalf("data %d: %v", n, err)
	}
}

// TestRaisedRateTakesEffectAtOnce: a collection whose rate property is
// raised admits at the new rate at once, even when the bucket was drained
// at the old, slow rate: its debt is repaid at the new rate; a lowered
// rate keeps a drained bucket refusing. (CI: a cluster proxy refused the
// insert after collection.insertRate.max.mb went from 0.05 to 100.)
func TestRaisedRateTakesEffectAtOnce(t *testing.T) {
	l, c := newTestLimiter(defaults())
	ctx := context.Background()
	slow := Scope{Collection: 3, CollProps: map[string]string{"collection.insertRate.max.mb": "0.05"}}
	if err := l.AdmitIn(ctx, Insert, slow, 900<<10); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(3 * time.Second)
	if err := l.AdmitIn(ctx, Insert, slow, 900<<10); err == nil {
		t.Fatal("admitted 0.9 MB twice in 3 s at 0.05 MB/s")
	}
	l.prune() // the bucket is in debt: kept
	fast := Scope{Collection: 3, CollProps: map[string]string{"collection.insertRate.max.mb": "100"}}
	// The bucket owes about 0.68 MB (13.6 s at 0.05 MB/s): at 100 MB/s
	// that debt is repaid in 7 ms, as Milvus's limiter keeps its tokens
	// across SetLimit.
	if err := l.AdmitIn(ctx, Insert, fast, 900<<10); err == nil {
		t.Fatal("admitted while the debt run up at the old rate is unpaid")
	}
	c.t = c.t.Add(20 * time.Millisecond)
	if err := l.AdmitIn(ctx, Insert, fast, 900<<10); err != nil {
		t.Fatalf("insert right after the rate was raised to 100 MB/s: %v", err)
	}
	for range 200 {
		if l.AdmitIn(ctx, Insert, fast, 900<<10) != nil {
			break
		}
	}
	if err := l.AdmitIn(ctx, Insert, slow, 100<<10); err == nil {
		t.Fatal("a drained bucket admitted after the rate was lowered again")
	}
}

// TestZeroRateRefusesAll: a rate of 0 refuses every request, as Milvus's
// limiter with a limit of 0 and its burst (the rate) of 0 does, rather
// than admit a first one into a debt that is never repaid.
func TestZeroRateRefusesAll(t *testing.T) {
	cfg := defaults()
	cfg.FlushRateCollection = 0
	l, c := newTestLimiter(cfg)
	ctx := context.Background()
	for i := range 3 {
		err := l.Admit(ctx, Flush, 1, 1)
		if err == nil || !strings.HasSuffix(err.Error(), "rate limit exceeded[rate=0]") || errs.CodeOf(err) != 8 {
			t.Fatalf("flush %d at a collection flush rate of 0: %v", i, err)
		}
		c.t = c.t.Add(time.Minute)
	}
	// A flush rate of 0.1 still admits one at once.
	cfg.FlushRateCollection = 0.1
	l, _ = newTestLimiter(cfg)
	if err := l.Admit(ctx, Flush, 1, 1); err != nil {
		t.Fatalf("first flush at 0.1/s: %v", err)
	}
}
