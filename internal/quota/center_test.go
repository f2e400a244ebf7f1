package quota

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/errs"
)

type fakePlacement struct {
	query, data map[int64][]int64
	err         error
	calls       int
}

func (f *fakePlacement) Placement(context.Context) (map[int64][]int64, map[int64][]int64, error) {
	f.calls++
	return f.query, f.data, f.err
}

// TestMemoryPerNode: as Milvus's getMemoryFactor, a node over its memory
// level throttles the collections it holds, not the others; a streaming
// node (every channel's growing data) and a node whose placement cannot
// be read throttle all.
func TestMemoryPerNode(t *testing.T) {
	nodes := &fakeNodes{nodes: []NodeMemory{
		{Role: RoleQueryNode, ID: 1, Used: 10, Total: 100},
		{Role: RoleDataNode, ID: 2, Used: 10, Total: 100},
		{Role: RoleStreamingNode, ID: 3, Used: 10, Total: 100},
	}}
	place := &fakePlacement{query: map[int64][]int64{1: {7}}, data: map[int64][]int64{2: {8}}}
	cc := memConfig(nodes)
	cc.Placement = place
	cfg := defaults()
	cfg.DMLEnabled = true
	cfg.Insert.Collection = 10
	l, c := newProtected(cfg, cc)
	ctx := context.Background()
	l.Sample()
	if place.calls != 0 {
		t.Fatalf("placement read %d times with every node calm", place.calls)
	}
	const memErr = "quota exceeded[reason=memory quota exceeded, please allocate more resources: force deny writing for memory quota exceeded]"
	// Query node 1 above its high level: collection 7 refused, 8 and 9 not.
	nodes.set(0, 96)
	l.Sample()
	if err := l.Admit(ctx, Insert, 7, 1); err == nil || err.Error() != memErr || errs.CodeOf(err) != 9 {
		t.Fatalf("insert into a collection on the full node: %v", err)
	}
	for _, coll := range []int64{8, 9} {
		if err := l.Admit(ctx, Upsert, coll, 1); err != nil {
			t.Fatalf("collection %d is not on the full node: %v", coll, err)
		}
	}
	if err := l.Admit(ctx, Delete, 7, 1); err != nil {
		t.Fatalf("delete: %v", err)
	}
	// Data node 2 between its levels: only collection 8's rate is halved.
	nodes.set(0, 10)
	nodes.set(1, 90)
	l.Sample()
	c.t = c.t.Add(2e9)
	if err := l.AdmitIn(ctx, Insert, Scope{Collection: 8}, 4*mb); err != nil {
		t.Fatalf("4 MB into collection 8 at half its rate: %v", err)
	}
	// Milvus's limiter admits while its tokens are not negative: 2 MB
	// more, into debt, then nothing.
	if err := l.AdmitIn(ctx, Insert, Scope{Collection: 8}, 2*mb); err != nil {
		t.Fatalf("2 MB with 1 MB left at half the rate: %v", err)
	}
	if err := l.AdmitIn(ctx, Insert, Scope{Collection: 8}, 1); err == nil || !strings.Contains(err.Error(), "[rate=5]") {
		t.Fatalf("6 MB in a second into collection 8 at half its rate, then more: %v", err)
	}
	if err := l.AdmitIn(ctx, Insert, Scope{Collection: 7}, 10*mb); err != nil {
		t.Fatalf("collection 7 keeps its rate: %v", err)
	}
	// The streaming node holds every channel: all collections.
	nodes.set(1, 10)
	nodes.set(2, 99)
	l.Sample()
	for _, coll := range []int64{7, 8, 9} {
		if err := l.Admit(ctx, Insert, coll, 1); err == nil {
			t.Fatalf("collection %d admitted with the streaming node full", coll)
		}
	}
	// Placement unknown: a full query node throttles all.
	nodes.set(2, 10)
	nodes.set(0, 99)
	place.err = errors.New("coordinator away")
	l.Sample()
	if err := l.Admit(ctx, Insert, 9, 1); err == nil {
		t.Fatal("collection 9 admitted with the placement unknown and a node full")
	}
	nodes.set(0, 10)
	l.Sample()
	if err := l.Admit(ctx, Insert, 9, 1); err != nil {
		t.Fatalf("after memory was freed: %v", err)
	}
}

// TestGrowingSegmentsFactor: Milvus's getGrowingSegmentsSizeFactor — a
// query node whose growing segments take more than the low level of its
// memory scales its collections' DML rates by (high - level) / (high -
// low), not below minRateRatio; data nodes do not count.
func TestGrowingSegmentsFactor(t *testing.T) {
	nodes := &fakeNodes{nodes: []NodeMemory{
		{Role: RoleQueryNode, ID: 1, Used: 10, Total: 100, Growing: 30},
		{Role: RoleQueryNode, ID: 2, Used: 10, Total: 100, Growing: 39},
		{Role: RoleDataNode, ID: 3, Used: 10, Total: 100, Growing: 90},
	}}
	place := &fakePlacement{query: map[int64][]int64{1: {7}, 2: {8}}, data: map[int64][]int64{3: {9}}}
	cc := CenterConfig{GrowingProtection: true, GrowingMinRateRatio: 0.5, GrowingLowWaterLevel: 0.2, GrowingHighWaterLevel: 0.4,
		Nodes: nodes, Placement: place}
	center := NewCenter(cc, nil)
	center.Sample(context.Background())
	s, _ := center.QuotaStates(context.Background())
	if f := s.factor(7); f < 0.4999 || f > 0.5001 {
		t.Errorf("collection 7 (growing 0.3 of memory): factor %v, want 0.5", f)
	}
	if f := s.factor(8); f != 0.5 {
		t.Errorf("collection 8 (growing 0.39, below minRateRatio): factor %v, want 0.5", f)
	}
	if f := s.factor(9); f != 1 {
		t.Errorf("collection 9 on a data node: factor %v, want 1", f)
	}
	if s.refusesAll() || len(s.Memory) > 0 {
		t.Errorf("growing segments refuse nothing: %+v", s)
	}
}

// TestGrowingSegmentsDeny: with minRateRatio 0, a query node whose growing
// segments reach the high level gets a factor of 0 or less, which Milvus's
// QuotaCenter turns into a memory force-deny of its collections; a node
// holding every collection (standalone) refuses all writes.
func TestGrowingSegmentsDeny(t *testing.T) {
	nodes := &fakeNodes{nodes: []NodeMemory{
		{Role: RoleQueryNode, ID: 1, Used: 10, Total: 100, Growing: 45},
		{Role: RoleQueryNode, ID: 2, Used: 10, Total: 100, Growing: 30},
	}}
	place := &fakePlacement{query: map[int64][]int64{1: {7}, 2: {8}}}
	cc := CenterConfig{GrowingProtection: true, GrowingLowWaterLevel: 0.2, GrowingHighWaterLevel: 0.4, Nodes: nodes, Placement: place}
	center := NewCenter(cc, nil)
	center.Sample(context.Background())
	s, _ := center.QuotaStates(context.Background())
	if !s.Memory[7] || s.Memory[8] || s.refusesAll() {
		t.Errorf("collection 7 (growing 0.45 >= high 0.4) refused, 8 not: %+v", s)
	}
	if f := s.factor(8); f < 0.4999 || f > 0.5001 {
		t.Errorf("collection 8 (growing 0.3): factor %v, want 0.5", f)
	}
	cc.Placement = nil
	center = NewCenter(cc, nil)
	center.Sample(context.Background())
	if s, _ = center.QuotaStates(context.Background()); !s.MemoryAll {
		t.Errorf("standalone (every collection on the node): want every write refused, got %+v", s)
	}
	nodes.nodes = []NodeMemory{{Role: RoleQueryNode, ID: 1, Used: 10, Total: 100, Growing: 10}}
	center.Sample(context.Background())
	if s, _ = center.QuotaStates(context.Background()); s.MemoryAll || s.factor(7) != 1 {
		t.Errorf("below the low level again: want nothing refused, got %+v", s)
	}
}

// TestCollectionMinRate: quotaAndLimits.dml.insertRate.collection.min is
// the floor of a scaled collection rate (Milvus's guaranteeMinRate); the
// collection's min property overrides it.
func TestCollectionMinRate(t *testing.T) {
	nodes := &fakeNodes{nodes: []NodeMemory{{Role: RoleDataNode, ID: 1, Used: 94, Total: 100}}} // factor 0.1
	cfg := defaults()
	cfg.DMLEnabled = true
	cfg.Insert.Collection, cfg.Insert.CollectionMin = 10, 4
	l, _ := newProtected(cfg, memConfig(nodes))
	l.Sample()
	ctx := context.Background()
	if err := l.AdmitIn(ctx, Insert, Scope{Collection: 1}, 5*mb); err != nil {
		t.Fatalf("5 MB with a 4 MB/s floor, into debt: %v", err)
	}
	if err := l.AdmitIn(ctx, Insert, Scope{Collection: 1}, mb); err == nil || !strings.Contains(err.Error(), "[rate=4]") {
		t.Fatalf("above the floor: %v", err)
	}
	props := map[string]string{"collection.insertRate.min.mb": "2"}
	if err := l.AdmitIn(ctx, Insert, Scope{Collection: 2, CollProps: props}, 3*mb); err != nil {
		t.Fatal(err)
	}
	if err := l.AdmitIn(ctx, Insert, Scope{Collection: 2, CollProps: props}, mb); err == nil || !strings.Contains(err.Error(), "[rate=2]") {
		t.Fatalf("the property's floor: %v", err)
	}
}

// TestDDLRates: indexRate, compactionRate, dbRate and the ddl/flush
// database rates, each only when enabled, with Milvus's rate limit error.
func TestDDLRates(t *testing.T) {
	cfg := defaults()
	ctx := context.Background()
	l, _ := newTestLimiter(cfg)
	for _, k := range []Kind{DDLIndex, Compaction, DDLDB} {
		for range 3 {
			if err := l.AdmitIn(ctx, k, Scope{DB: "d", Collection: 1}, 1); err != nil {
				t.Fatalf("%v with its limits off: %v", k, err)
			}
		}
	}
	cfg.IndexEnabled, cfg.IndexRate, cfg.IndexRateDB = true, -1, 1
	cfg.CompactionEnabled, cfg.CompactionRate, cfg.CompactionRateDB = true, 1, -1
	cfg.DBRateEnabled, cfg.DBRate = true, 1
	cfg.DDLEnabled, cfg.CollectionRate, cfg.CollectionRateDB, cfg.PartitionRate, cfg.PartitionRateDB = true, -1, 1, -1, -1
	cfg.FlushRateDB = 1
	cfg.FlushRateCollection = -1
	l, c := newTestLimiter(cfg)
	const want = "request is rejected by grpc RateLimiter middleware, please retry later: rate limit exceeded[rate=1]"
	// At 1/s a full bucket admits two at once, as Milvus's limiter (the
	// second while its tokens are 0), then none.
	for _, k := range []Kind{DDLIndex, Compaction, DDLDB, DDLCollection, Flush} {
		for i := range 2 {
			if err := l.AdmitIn(ctx, k, Scope{DB: "d", Collection: 1}, 1); err != nil {
				t.Fatalf("%v %d: %v", k, i, err)
			}
		}
		err := l.AdmitIn(ctx, k, Scope{DB: "d", Collection: 2}, 1)
		if err == nil || err.Error() != want || errs.CodeOf(err) != 8 {
			t.Fatalf("third %v: %v", k, err)
		}
	}
	// The database rates are per database; the cluster ones are not.
	for _, k := range []Kind{DDLIndex, DDLCollection, Flush} {
		if err := l.AdmitIn(ctx, k, Scope{DB: "e", Collection: 3}, 1); err != nil {
			t.Fatalf("%v in another database: %v", k, err)
		}
	}
	for _, k := range []Kind{Compaction, DDLDB} {
		if err := l.AdmitIn(ctx, k, Scope{DB: "e", Collection: 3}, 1); err == nil {
			t.Fatalf("%v in another database passed the cluster rate", k)
		}
	}
	if err := l.AdmitIn(ctx, DDLPartition, Scope{DB: "d", Collection: 1}, 1); err != nil {
		t.Fatalf("partition DDL unlimited: %v", err)
	}
	c.t = c.t.Add(1e9)
	if err := l.AdmitIn(ctx, DDLIndex, Scope{DB: "d", Collection: 1}, 1); err != nil {
		t.Fatalf("after a second: %v", err)
	}
}
