package querynode

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/segment"
)

// hnswOn101 is an HNSW index definition on the test collection's vector
// field.
var hnswOn101 = []model.IndexDef{{ID: 1, CollectionID: collID, FieldID: 101, Name: "v",
	IndexParams: map[string]string{"index_type": "HNSW", "metric_type": "L2"}}}

// TestSealedInterimLifecycle: a sealed segment loaded without its index
// (the collection's index, named in the plan, is HNSW) and holding enough
// rows (39 x nlist) gets an interim index built before it serves (its memory grows by the lists; no read sees it without
// them), and releasing the collection unmaps every file.
func TestSealedInterimLifecycle(t *testing.T) {
	e := newEnv(t)
	for lo := int64(0); lo < 6000; lo += 1000 {
		e.insert(t, keyRange(lo, lo+1000)...)
	}
	seg := e.seal(t)
	e.gated.open()
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)),
		Sealed: []contract.SegmentPlan{{Segment: seg}}, DeltaLogs: must(e.data.DeltaLogs(bg, vch)), Indexes: hnswOn101}
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
	d := e.delegator(t)
	d.mu.RLock()
	ss := d.sealed[seg.ID]
	d.mu.RUnlock()
	if ss == nil {
		t.Fatalf("segment %d not loaded", seg.ID)
	}
	// 6,000 rows x 2 floats: the lists hold a copy of every vector.
	if mem := ss.seg.MemoryBytes(); mem < 6000*2*4*2 || ss.seg.InterimRows(101) != 6000 {
		t.Fatalf("segment memory %d, %d rows indexed: no interim lists", mem, ss.seg.InterimRows(101))
	}
	// Searched through the interim index (an HNSW field), the nearest rows
	// of (0, 1)-spaced vectors (pk, 1) to (2.2, 1) are 2, 3, 1.
	res, err := e.qn.Search(e.ctx, &contract.SearchRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: e.now(t),
		Search: segment.SearchRequest{FieldID: 101, IndexType: "HNSW", Queries: index.Dataset{Dim: dim, Float: []float32{2.2, 1}},
			Metric: index.L2, Params: index.SearchParams{K: 3, Params: map[string]string{"nprobe": "128"}}}})
	if err != nil || !slices.Equal(res.IntPKs, []int64{2, 3, 1}) {
		t.Fatalf("search: %v %v", res, err)
	}
	mustDo(e.qn.ReleaseCollection(bg, collID))
	if got := e.objects.open.Load(); got != 0 {
		t.Fatalf("%d mappings open after release", got)
	}
}

// TestSealedInterimNeedsIndexDef: a sealed segment loaded without its
// index builds no interim index when the plan names no index on the field,
// or a FLAT one (as Milvus: exact searches need none).
func TestSealedInterimNeedsIndexDef(t *testing.T) {
	for _, defs := range [][]model.IndexDef{nil, {{ID: 1, CollectionID: collID, FieldID: 101, Name: "v",
		IndexParams: map[string]string{"index_type": "FLAT", "metric_type": "L2"}}}} {
		e := newEnv(t)
		for lo := int64(0); lo < 6000; lo += 1000 {
			e.insert(t, keyRange(lo, lo+1000)...)
		}
		seg := e.seal(t)
		e.gated.open()
		plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)),
			Sealed: []contract.SegmentPlan{{Segment: seg}}, DeltaLogs: must(e.data.DeltaLogs(bg, vch)), Indexes: defs}
		if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
		d := e.delegator(t)
		d.mu.RLock()
		ss := d.sealed[seg.ID]
		d.mu.RUnlock()
		if rows := ss.seg.InterimRows(101); rows != 0 {
			t.Fatalf("index %v: an interim index of %d rows was built", defs, rows)
		}
	}
}

// TestGrowingInterimFollowsIndexes: the index definitions a load carries
// reach the shard's growing segments, so rows inserted into a loaded
// collection are indexed before any search, and the first search is
// answered from the interim index; an index dropped while loaded frees it
// (UpdateIndexes), a FLAT one builds none, one created builds it again
// over the rows held. A search naming another index type changes nothing:
// the definitions come from the coordinator only.
func TestGrowingInterimFollowsIndexes(t *testing.T) {
	cfg := segment.DefaultInterimIndexConfig()
	cfg.NList, cfg.NProbe, cfg.BuildRatio = 8, 8, 0
	e := newEnv(t, func(d *Deps) { d.Interim = &cfg })
	e.gated.open()
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)), Indexes: hnswOn101}
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	for lo := int64(0); lo < 3000; lo += 1000 {
		e.insert(t, keyRange(lo, lo+1000)...)
	}
	d := e.delegator(t)
	growing := func() *segment.Growing {
		d.mu.RLock()
		defer d.mu.RUnlock()
		for _, g := range d.growing {
			return g
		}
		return nil
	}
	eventually(t, "rows arrive", func() bool { g := growing(); return g != nil && g.NumRows() == 3000 })
	g := growing()
	// The 2,048 full-chunk rows are indexed with no search yet.
	eventually(t, "interim index built before any search", func() bool { return g.InterimRows(101) == 2048 })
	search := func(typ string, nprobe int) []int64 {
		t.Helper()
		res, err := e.qn.Search(e.ctx, &contract.SearchRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: e.now(t),
			Search: segment.SearchRequest{FieldID: 101, IndexType: typ, Queries: index.Dataset{Dim: dim, Float: []float32{2.2, 1}},
				Metric: index.L2, Params: index.SearchParams{K: 3, Params: map[string]string{"nprobe": strconv.Itoa(nprobe)}}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.IntPKs
	}
	if got := search("HNSW", 8); !slices.Equal(got, []int64{2, 3, 1}) {
		t.Fatalf("first search: %v", got)
	}
	// A search naming no index does not free it.
	search("", 8)
	built := g.MemoryBytes()
	if g.InterimRows(101) != 2048 {
		t.Fatalf("a search changed the interim index: %d rows", g.InterimRows(101))
	}
	// Dropped: freed (the lists' row offsets, 4 bytes a row, at least).
	// FLAT: none. Created again: rebuilt over the rows held.
	mustDo(e.qn.UpdateIndexes(bg, collID, nil))
	base := g.MemoryBytes()
	if rows := g.InterimRows(101); rows != 0 || base > built-2048*4 {
		t.Fatalf("index dropped: %d rows indexed, growing memory %d (built %d)", rows, base, built)
	}
	mustDo(e.qn.UpdateIndexes(bg, collID, []model.IndexDef{{ID: 2, CollectionID: collID, FieldID: 101,
		IndexParams: map[string]string{"index_type": "FLAT"}}}))
	time.Sleep(50 * time.Millisecond)
	if rows := g.InterimRows(101); rows != 0 {
		t.Fatalf("FLAT: %d rows indexed", rows)
	}
	mustDo(e.qn.UpdateIndexes(bg, collID, hnswOn101))
	eventually(t, "interim index rebuilt", func() bool { return g.InterimRows(101) == 2048 })
	if got := search("HNSW", 8); !slices.Equal(got, []int64{2, 3, 1}) {
		t.Fatalf("search after the rebuild: %v", got)
	}
	// A segment created later takes the shard's index types at creation.
	e.insert(t, keyRange(1<<20, 1<<20+2100)...)
	eventually(t, "later rows indexed", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		indexed := 0
		for _, og := range d.growing {
			indexed += og.InterimRows(101)
		}
		return indexed >= 4096
	})
}
