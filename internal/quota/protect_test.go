package quota

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
)

type fakeNodes struct {
	mu    sync.Mutex
	nodes []NodeMemory
}

func (f *fakeNodes) NodeMemory(context.Context) ([]NodeMemory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.nodes), nil
}

// set changes node i's memory in use.
func (f *fakeNodes) set(i int, used uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[i].Used = used
}

type fakeProbe struct {
	diskUsed, diskTotal uint64
	data                int64
}

func (p *fakeProbe) Disk() (uint64, uint64, error) { return p.diskUsed, p.diskTotal, nil }
func (p *fakeProbe) DataBytes() (int64, error)     { return p.data, nil }

type fakeStorage struct {
	colls []StoredCollection
	parts map[int64]map[int64]int64
	reads int // BinlogSizes calls
}

func (f *fakeStorage) Collections(context.Context) ([]StoredCollection, error) { return f.colls, nil }

func (f *fakeStorage) BinlogSizes(context.Context) (*contract.DataCoordQuotaMetrics, error) {
	f.reads++
	m := &contract.DataCoordQuotaMetrics{CollectionBinlogSize: map[int64]int64{}, PartitionsBinlogSize: map[int64]map[int64]int64{}}
	for coll, parts := range f.parts {
		m.PartitionsBinlogSize[coll] = parts
		for _, b := range parts {
			m.CollectionBinlogSize[coll] += b
			m.TotalBinlogSize += b
		}
	}
	return m, nil
}

func memConfig(nodes Nodes) CenterConfig {
	cc := CenterConfig{MemProtection: true, Nodes: nodes}
	cc.DataNodeMemoryLowWaterLevel, cc.DataNodeMemoryHighWaterLevel = 0.85, 0.95
	cc.QueryNodeMemoryLowWaterLevel, cc.QueryNodeMemoryHighWaterLevel = 0.85, 0.95
	return cc
}

// protected is a proxy's limiter fed by a quota center, as standalone
// wires them.
type protected struct {
	*Limiter
	center *Center
}

// Sample samples in the center and fetches its verdict into the limiter.
func (p protected) Sample() {
	p.center.Sample(context.Background())
	p.Limiter.Sample(context.Background())
}

func newProtected(cfg Config, cc CenterConfig) (protected, *clock) {
	center := NewCenter(cc, nil)
	cfg.Source = center
	l, c := newTestLimiter(cfg)
	return protected{l, center}, c
}

// TestMemoryWaterLevels: as Milvus's getMemoryFactor, between a node's low
// and high water level the collection DML rates are scaled by
// (high - level) / (high - low); at the high level inserts and upserts are
// refused with Milvus's error while deletes, searches and flushes pass.
func TestMemoryWaterLevels(t *testing.T) {
	nodes := &fakeNodes{nodes: []NodeMemory{{Role: RoleDataNode, ID: 1, Used: 50, Total: 100}, {Role: RoleQueryNode, ID: 2, Used: 10, Total: 100}}}
	cfg, cc := defaults(), memConfig(nodes)
	cfg.DMLEnabled = true
	cfg.Insert.Collection = 10 // MB/s
	l, c := newProtected(cfg, cc)
	ctx := context.Background()
	sc := Scope{DB: "default", Collection: 7}
	l.Sample()
	if err := l.AdmitIn(ctx, Insert, sc, 10*mb); err != nil {
		t.Fatalf("10 MB at 10 MB/s below the low level: %v", err)
	}
	// The data node at 0.9: factor (0.95-0.9)/(0.95-0.85) = 0.5, so 5 MB/s.
	nodes.nodes[0].Used = 90
	l.Sample()
	c.t = c.t.Add(time.Second)
	if err := l.AdmitIn(ctx, Insert, sc, 6*mb); err != nil {
		t.Fatalf("6 MB at 5 MB/s, into debt: %v", err)
	}
	if err := l.AdmitIn(ctx, Insert, sc, 2*mb); err == nil {
		t.Fatal("8 MB in a second admitted with the rate halved to 5 MB/s")
	} else if !strings.Contains(err.Error(), "rate limit exceeded[rate=5]") {
		t.Fatal(err)
	}
	// collection.insertRate.min.mb keeps a floor.
	c.t = c.t.Add(time.Second)
	floor := Scope{DB: "default", Collection: 8, CollProps: map[string]string{"collection.insertRate.min.mb": "8"}}
	if err := l.AdmitIn(ctx, Insert, floor, 8*mb); err != nil {
		t.Fatalf("8 MB with an 8 MB/s floor: %v", err)
	}
	// The query node at its high level: writes refused.
	nodes.nodes[0].Used = 10
	nodes.nodes[1].Used = 96
	l.Sample()
	err := l.AdmitIn(ctx, Upsert, sc, 1)
	const want = "quota exceeded[reason=memory quota exceeded, please allocate more resources: force deny writing for memory quota exceeded]"
	if err == nil || err.Error() != want || errs.CodeOf(err) != 9 {
		t.Fatalf("upsert above the high level: %v", err)
	}
	for _, k := range []Kind{Delete, Search, Query, Flush} {
		if err := l.AdmitIn(ctx, k, sc, 1); err != nil {
			t.Errorf("%v above the memory level: %v", k, err)
		}
	}
	nodes.nodes[1].Used = 10
	l.Sample()
	c.t = c.t.Add(time.Second)
	if err := l.AdmitIn(ctx, Insert, sc, 10*mb); err != nil {
		t.Fatalf("insert after memory was freed: %v", err)
	}
}

// TestMemoryHighOnly: a high level below the low one (or no low level)
// still refuses at the high level.
func TestMemoryHighOnly(t *testing.T) {
	cc := memConfig(&fakeNodes{nodes: []NodeMemory{{Role: RoleDataNode, Used: 1, Total: 100}}})
	cc.DataNodeMemoryHighWaterLevel = 0.0001
	l, _ := newProtected(defaults(), cc)
	l.Sample()
	if err := l.Admit(context.Background(), Insert, 1, 1); !errors.Is(err, errs.ErrServiceQuotaExceeded) {
		t.Fatalf("insert: %v", err)
	}
}

// TestDiskQuotas: Milvus's checkDiskQuota — binlog bytes of the cluster,
// each database (database.diskQuota.mb overrides diskQuotaPerDB), each
// collection (collection.diskProtection.diskQuota.mb overrides
// diskQuotaPerCollection) and each partition against their quotas; only
// writes into what is over its quota are refused, deletes never.
func TestDiskQuotas(t *testing.T) {
	small := map[string]string{"database.diskQuota.mb": "1"}
	st := &fakeStorage{colls: []StoredCollection{
		{ID: 1, DB: "default"}, {ID: 2, DB: "default"}, {ID: 3, DB: "small", DBProps: small},
		{ID: 4, DB: "default", Props: map[string]string{"collection.diskProtection.diskQuota.mb": "0.5"}},
	}, parts: map[int64]map[int64]int64{
		1: {11: 3 * mb, 12: 1 * mb}, 2: {21: 1 * mb}, 3: {31: 2 * mb}, 4: {41: 1 * mb},
	}}
	cfg, cc := defaults(), CenterConfig{}
	cc.DiskProtection, cc.Storage = true, st
	// Every collection is measured (the quota metrics report each one's
	// binlog bytes); with no quota configured only those with a quota
	// property, or in a database with one, are refused.
	l, _ := newProtected(cfg, cc)
	l.Sample()
	if st.reads != 1 {
		t.Fatalf("%d calls for the sizes, want one for every collection", st.reads)
	}
	if m, _ := l.center.QuotaMetrics(context.Background()); len(m.DataCoordMetrics.CollectionBinlogSize) != 4 || m.DataCoordMetrics.TotalBinlogSize != 8*mb {
		t.Fatalf("measured %+v, want 4 collections of 8 MB", m.DataCoordMetrics)
	}
	if err := l.AdmitIn(context.Background(), Insert, Scope{DB: "default", Collection: 1}, 1); err != nil {
		t.Fatalf("insert into a collection with no quota: %v", err)
	}
	if err := l.AdmitIn(context.Background(), Insert, Scope{DB: "small", Collection: 3}, 1); err == nil {
		t.Fatal("insert into a database over its property quota")
	}
	cc.DiskQuotaPerCollection = 4 * mb
	cc.DiskQuotaPerPartition = 3 * mb
	l, _ = newProtected(cfg, cc)
	l.Sample()
	ctx := context.Background()
	const want = "quota exceeded[reason=disk quota exceeded, please allocate more resources: disk quota exceeded]"
	cases := []struct {
		sc      Scope
		refused bool
	}{
		{Scope{DB: "default", Collection: 1, Partitions: []int64{11}}, true}, // partition 11 holds 3 MB
		{Scope{DB: "default", Collection: 1, Partitions: []int64{12}}, true}, // collection 1 holds 4 MB
		{Scope{DB: "default", Collection: 2, Partitions: []int64{21}}, false},
		{Scope{DB: "small", Collection: 3}, true},   // database property: 1 MB
		{Scope{DB: "default", Collection: 4}, true}, // collection property: 0.5 MB
	}
	for i, c := range cases {
		err := l.AdmitIn(ctx, Insert, c.sc, 1)
		if c.refused != (err != nil) || (err != nil && (err.Error() != want || errs.CodeOf(err) != 9)) {
			t.Errorf("case %d: %v", i, err)
		}
		if err := l.AdmitIn(ctx, Delete, c.sc, 1); err != nil {
			t.Errorf("case %d delete: %v", i, err)
		}
	}
	cc.DiskQuotaBytes = 8 * mb
	l, _ = newProtected(cfg, cc)
	l.Sample()
	if err := l.AdmitIn(ctx, Insert, Scope{DB: "default", Collection: 2}, 1); err == nil || !strings.Contains(err.Error(), "cluster disk quota exceeded") {
		t.Fatalf("insert above diskQuota: %v", err)
	}
}

// TestDiskWaterLevel: the data directory's disk above its level refuses
// writes until space is freed.
func TestDiskWaterLevel(t *testing.T) {
	p := &fakeProbe{diskUsed: 96, diskTotal: 100}
	cfg, cc := defaults(), CenterConfig{}
	cc.DiskProtection, cc.DiskHighWaterLevel, cc.Probe = true, 0.95, p
	l, _ := newProtected(cfg, cc)
	ctx := context.Background()
	l.Sample()
	if err := l.Admit(ctx, Upsert, 1, 1); err == nil || !strings.Contains(err.Error(), "disk quota exceeded, please allocate more resources") {
		t.Fatalf("upsert on a full disk: %v", err)
	}
	p.diskUsed = 10
	l.Sample()
	if err := l.Admit(ctx, Insert, 1, 1); err != nil {
		t.Fatalf("insert after space was freed: %v", err)
	}
	cc.DiskQuotaBytes, p.data = 1000, 2000
	l, _ = newProtected(cfg, cc)
	l.Sample()
	if err := l.Admit(ctx, Insert, 1, 1); err == nil || !strings.Contains(err.Error(), "cluster disk quota exceeded") {
		t.Fatalf("insert above the disk quota: %v", err)
	}
}

// TestScopedRates: the database, collection and partition rates each
// bind; a refused request takes no tokens from the levels it passed. Each
// level admits while its tokens are not negative (Milvus's limiter), so
// 1.5 MB requests take the 1 MB/s partition and then the 2 MB/s collection
// into debt.
func TestScopedRates(t *testing.T) {
	cfg := defaults()
	cfg.DMLEnabled, cfg.DQLEnabled = true, true
	cfg.Insert = Rates{Max: -1, DB: 3, Collection: 2, Partition: 1}
	cfg.Search = Rates{Max: -1, DB: -1, Collection: 100, Partition: -1}
	l, c := newTestLimiter(cfg)
	ctx := context.Background()
	p1 := Scope{DB: "d", Collection: 1, Partitions: []int64{11}}
	p2 := Scope{DB: "d", Collection: 1, Partitions: []int64{12}}
	const big, small = 3 * mb / 2, mb / 10
	if err := l.AdmitIn(ctx, Insert, p1, big); err != nil { // partition 11 at -0.5, collection 0.5, database 1.5
		t.Fatal(err)
	}
	if err := l.AdmitIn(ctx, Insert, p1, small); err == nil || !strings.Contains(err.Error(), "[rate=1]") {
		t.Fatalf("partition rate: %v", err)
	}
	if err := l.AdmitIn(ctx, Insert, p2, big); err != nil { // collection at -1, database 0
		t.Fatal(err)
	}
	if err := l.AdmitIn(ctx, Insert, Scope{DB: "d", Collection: 1, Partitions: []int64{13}}, small); err == nil || !strings.Contains(err.Error(), "[rate=2]") {
		t.Fatalf("collection rate: %v", err)
	}
	if err := l.AdmitIn(ctx, Upsert, Scope{DB: "d", Collection: 2}, small); err != nil { // database at -0.1
		t.Fatalf("another collection: %v", err)
	}
	if err := l.AdmitIn(ctx, Insert, Scope{DB: "d", Collection: 3}, small); err == nil || !strings.Contains(err.Error(), "[rate=3]") {
		t.Fatalf("database rate: %v", err)
	}
	if err := l.AdmitIn(ctx, Insert, Scope{DB: "e", Collection: 4}, mb); err != nil {
		t.Fatalf("another database: %v", err)
	}
	// The collection property overrides the configured collection rate.
	props := map[string]string{"collection.searchRate.max.vps": "10"}
	if err := l.AdmitIn(ctx, Search, Scope{DB: "e", Collection: 5, CollProps: props}, 11); err != nil {
		t.Fatal(err)
	}
	if err := l.AdmitIn(ctx, Search, Scope{DB: "e", Collection: 5, CollProps: props}, 1); err == nil || !strings.Contains(err.Error(), "[rate=10]") {
		t.Fatalf("collection property: %v", err)
	}
	c.t = c.t.Add(time.Second)
	if err := l.AdmitIn(ctx, Insert, p1, mb); err != nil {
		t.Fatalf("after a second: %v", err)
	}
}

// TestDatabaseForceDeny: database.force.deny.writing refuses inserts,
// upserts and deletes of that database; database.force.deny.reading
// searches and queries, with Milvus's reasons.
func TestDatabaseForceDeny(t *testing.T) {
	l, _ := newTestLimiter(defaults())
	ctx := context.Background()
	w := Scope{DB: "w", Collection: 1, DBProps: map[string]string{"database.force.deny.writing": "true"}}
	r := Scope{DB: "r", Collection: 2, DBProps: map[string]string{"database.force.deny.reading": "true"}}
	const denyW = "quota exceeded[reason=access has been disabled by the administrator: force deny writing in database properties]"
	const denyR = "quota exceeded[reason=access has been disabled by the administrator: force deny reading in database properties]"
	for _, k := range []Kind{Insert, Upsert, Delete} {
		if err := l.AdmitIn(ctx, k, w, 1); err == nil || err.Error() != denyW {
			t.Errorf("%v: %v", k, err)
		}
		if err := l.AdmitIn(ctx, k, r, 1); err != nil {
			t.Errorf("%v in a read-denied database: %v", k, err)
		}
	}
	for _, k := range []Kind{Search, Query} {
		if err := l.AdmitIn(ctx, k, r, 1); err == nil || err.Error() != denyR {
			t.Errorf("%v: %v", k, err)
		}
		if err := l.AdmitIn(ctx, k, w, 1); err != nil {
			t.Errorf("%v in a write-denied database: %v", k, err)
		}
	}
}

// TestRun: the center samples and the limiter fetches its verdict at once
// and on their intervals; both stop with ctx.
func TestRun(t *testing.T) {
	nodes := &fakeNodes{nodes: []NodeMemory{{Role: RoleDataNode, Used: 10, Total: 100}}}
	cc := memConfig(nodes)
	cc.CollectInterval = 10 * time.Millisecond
	center := NewCenter(cc, nil)
	cfg := defaults()
	cfg.CollectInterval, cfg.Source = 10*time.Millisecond, center
	l := New(cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { center.Run(ctx); done <- struct{}{} }()
	go func() { l.Run(ctx); done <- struct{}{} }()
	if err := l.Admit(ctx, Insert, 1, 1); err != nil {
		t.Fatal(err)
	}
	nodes.set(0, 99)
	deadline := time.Now().Add(5 * time.Second)
	for l.Admit(ctx, Insert, 1, 1) == nil {
		if time.Now().After(deadline) {
			t.Fatal("writes never refused")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	<-done
}

// TestPrune: a bucket that refilled is dropped (a new one would be the
// same), one still short is kept.
func TestPrune(t *testing.T) {
	l, c := newTestLimiter(defaults())
	ctx := context.Background()
	for coll := int64(1); coll <= 3; coll++ {
		if err := l.Admit(ctx, Flush, coll, 1); err != nil {
			t.Fatal(err)
		}
	}
	c.t = c.t.Add(5 * time.Second)
	if err := l.Admit(ctx, Flush, 4, 1); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(6 * time.Second) // 1-3 refilled, 4 not
	l.prune()
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets kept, want 1", len(l.buckets))
	}
	if err := l.Admit(ctx, Flush, 4, 1); err == nil {
		t.Fatal("the kept bucket forgot its debt")
	}
}
