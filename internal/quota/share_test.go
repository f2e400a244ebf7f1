package quota

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/errs"
)

// counted is a settable proxy count, the input the center divides by.
type counted struct {
	n   int
	err error
}

func (c *counted) LiveProxies(context.Context) (int, error) { return c.n, c.err }

// TestRatesSharedAmongProxies: every rate (cluster, database, collection,
// partition; DDL, DML, DQL, flush) is divided among the live proxies the
// center reports, the error names the proxy's share (Milvus's proxies
// report the rate they were sent), and the share follows proxies joining
// and leaving at the next fetch.
func TestRatesSharedAmongProxies(t *testing.T) {
	ctx := context.Background()
	live := &counted{n: 2}
	center := NewCenter(CenterConfig{Proxies: live}, nil)
	cfg := defaults()
	cfg.Source = center
	cfg.CompactionEnabled, cfg.CompactionRate, cfg.CompactionRateDB = true, 0.1, -1
	cfg.DMLEnabled = true
	cfg.Insert = Rates{Max: -1, DB: 8, Collection: -1, Partition: 4}
	cfg.DQLEnabled = true
	cfg.Search = Rates{Max: -1, DB: -1, Collection: 10, Partition: -1}
	l, c := newTestLimiter(cfg)
	if l.Proxies() != 1 {
		t.Fatalf("before the center answered: %d proxies, want 1 (the whole configured rate)", l.Proxies())
	}
	l.Sample(ctx)
	if l.Proxies() != 2 {
		t.Fatalf("after the center answered: %d proxies, want 2", l.Proxies())
	}

	// Compaction, 0.1/s in the cluster: this proxy's 0.05/s admits one
	// call every 20 s, not every 10 s.
	if err := l.Admit(ctx, Compaction, 1, 1); err != nil {
		t.Fatal(err)
	}
	const want005 = "request is rejected by grpc RateLimiter middleware, please retry later: rate limit exceeded[rate=0.05]"
	c.t = c.t.Add(11 * time.Second)
	if err := l.Admit(ctx, Compaction, 1, 1); err == nil || err.Error() != want005 {
		t.Fatalf("compaction 11 s later with two proxies: %v, want %q", err, want005)
	}
	c.t = c.t.Add(9100 * time.Millisecond)
	if err := l.Admit(ctx, Compaction, 1, 1); err != nil {
		t.Fatalf("compaction 20 s later: %v", err)
	}

	// Partition insert rate 4 MB/s: 2 MB/s here; database 8: 4 MB/s.
	part := Scope{DB: "d", Collection: 7, Partitions: []int64{70}}
	if err := l.AdmitIn(ctx, Insert, part, 5*mb/2); err != nil { // into debt, as Milvus's limiter admits while its tokens are not negative
		t.Fatal(err)
	}
	if err := l.AdmitIn(ctx, Insert, part, mb/2); err == nil || !errors.Is(err, errs.ErrServiceRateLimit) || !strings.HasSuffix(err.Error(), "[rate=2]") {
		t.Fatalf("partition past its share: %v", err)
	}
	other := Scope{DB: "d", Collection: 7, Partitions: []int64{71}}
	if err := l.AdmitIn(ctx, Insert, other, 2*mb); err != nil {
		t.Fatalf("another partition, within the database's share: %v", err)
	}
	third := Scope{DB: "d", Collection: 7, Partitions: []int64{72}}
	if err := l.AdmitIn(ctx, Insert, third, mb/2); err == nil || !strings.HasSuffix(err.Error(), "[rate=4]") {
		t.Fatalf("the database past its share (4.5 MB of 4 MB/s taken): %v", err)
	}

	// Collection search rate 10 vectors/s: 5 here.
	if err := l.AdmitIn(ctx, Search, Scope{Collection: 7}, 6); err != nil {
		t.Fatal(err)
	}
	if err := l.AdmitIn(ctx, Search, Scope{Collection: 7}, 1); err == nil || !strings.HasSuffix(err.Error(), "[rate=5]") {
		t.Fatalf("search past the collection's share: %v", err)
	}

	// A third proxy joins: the share falls to a third at the next fetch.
	live.n = 3
	l.Sample(ctx)
	c.t = c.t.Add(time.Minute)
	if err := l.AdmitIn(ctx, Search, Scope{Collection: 7}, 4); err != nil {
		t.Fatal(err)
	}
	if err := l.AdmitIn(ctx, Search, Scope{Collection: 7}, 1); err == nil {
		t.Fatal("a fifth vector within the second with three proxies (3.33/s each)")
	}
	// Two leave: this proxy enforces the whole rate again.
	live.n = 1
	l.Sample(ctx)
	c.t = c.t.Add(time.Minute)
	if err := l.AdmitIn(ctx, Search, Scope{Collection: 7}, 10); err != nil {
		t.Fatalf("the whole rate, alone: %v", err)
	}

	// The proxies cannot be counted: the center keeps its last count, a
	// proxy that cannot reach the center keeps its share.
	live.n, live.err = 0, errors.New("etcd unreachable")
	s, err := center.QuotaStates(ctx)
	if err != nil || s.Proxies != 1 {
		t.Fatalf("center without a count: %+v, %v; want the last count 1", s, err)
	}
	live.n, live.err = 4, nil
	l.Sample(ctx)
	l.cfg.Source = unreachable{}
	l.Sample(ctx)
	if l.Proxies() != 4 {
		t.Fatalf("center unreachable: %d proxies, want the last 4", l.Proxies())
	}
}

// TestStandaloneNotShared: a center with no proxy counter (standalone)
// reports no count, and the proxy enforces the whole rate.
func TestStandaloneNotShared(t *testing.T) {
	ctx := context.Background()
	center := NewCenter(CenterConfig{}, nil)
	s, err := center.QuotaStates(ctx)
	if err != nil || s.Proxies != 0 {
		t.Fatalf("standalone center: %+v, %v", s, err)
	}
	cfg := defaults()
	cfg.Source = center
	cfg.CompactionEnabled, cfg.CompactionRate, cfg.CompactionRateDB = true, 0.1, -1
	l, c := newTestLimiter(cfg)
	l.Sample(ctx)
	if err := l.Admit(ctx, Compaction, 1, 1); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(10100 * time.Millisecond)
	if err := l.Admit(ctx, Compaction, 1, 1); err != nil {
		t.Fatalf("standalone, 10 s later: %v", err)
	}
}

type unreachable struct{}

func (unreachable) QuotaStates(context.Context) (*States, error) {
	return nil, errors.New("connection refused")
}

// TestInsertShareOfCollectionProperty: a collection's
// collection.insertRate.max.mb property and the cluster's
// quotaAndLimits.dml.insertRate.max are divided among the proxies as the
// configured rates are: 2 MB/s over two proxies is 1 MB/s here (the
// error says [rate=1]), and the cluster's 6 MB/s over three is 2 MB/s.
func TestInsertShareOfCollectionProperty(t *testing.T) {
	ctx := context.Background()
	live := &counted{n: 2}
	cfg := defaults()
	cfg.Source = NewCenter(CenterConfig{Proxies: live}, nil)
	cfg.DMLEnabled = true
	cfg.Insert = Rates{Max: 6, DB: -1, Collection: -1, Partition: -1}
	l, c := newTestLimiter(cfg)
	l.Sample(ctx)
	coll := Scope{DB: "default", Collection: 9, CollProps: map[string]string{"collection.insertRate.max.mb": "2"}}
	if err := l.AdmitIn(ctx, Insert, coll, 3*mb/2); err != nil {
		t.Fatal(err)
	}
	const want1 = "request is rejected by grpc RateLimiter middleware, please retry later: rate limit exceeded[rate=1]"
	if err := l.AdmitIn(ctx, Upsert, coll, mb/4); err == nil || err.Error() != want1 {
		t.Fatalf("an upsert past the collection's share: %v, want %q", err, want1)
	}
	c.t = c.t.Add(time.Second)
	if err := l.AdmitIn(ctx, Insert, coll, mb); err != nil {
		t.Fatalf("a second later, the share refilled: %v", err)
	}

	live.n = 3
	l.Sample(ctx)
	c.t = c.t.Add(time.Minute)
	other := Scope{DB: "default", Collection: 10}
	if err := l.AdmitIn(ctx, Insert, other, 3*mb); err != nil {
		t.Fatal(err)
	}
	if err := l.AdmitIn(ctx, Insert, other, mb/4); err == nil || !strings.HasSuffix(err.Error(), "[rate=2]") {
		t.Fatalf("the cluster's 6 MB/s over three proxies: %v, want [rate=2]", err)
	}
}
