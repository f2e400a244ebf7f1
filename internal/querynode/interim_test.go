package querynode

import (
	"slices"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/segment"
)

// TestSealedInterimLifecycle: a sealed segment loaded without its index
// and holding enough rows (39 x nlist) gets an interim index built before
// it serves (its memory grows by the lists; no read sees it without
// them), and releasing the collection unmaps every file.
func TestSealedInterimLifecycle(t *testing.T) {
	e := newEnv(t)
	for lo := int64(0); lo < 6000; lo += 1000 {
		e.insert(t, keyRange(lo, lo+1000)...)
	}
	seg := e.seal(t)
	e.gated.open()
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)),
		Sealed: []contract.SegmentPlan{{Segment: seg}}, DeltaLogs: must(e.data.DeltaLogs(bg, vch))}
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
	if mem := ss.seg.MemoryBytes(); mem < 6000*2*4*2 {
		t.Fatalf("segment memory %d: no interim lists", mem)
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

// TestGrowingInterimFollowsSearches: a shard's growing segments build no
// interim index until a search names a non-FLAT index on the field (the
// proxy sends the collection's index type with every search); then the
// segment holding rows builds one (segments created later take the type
// at creation), and a search naming no index frees it.
func TestGrowingInterimFollowsSearches(t *testing.T) {
	cfg := segment.DefaultInterimIndexConfig()
	cfg.NList, cfg.NProbe, cfg.BuildRatio = 8, 8, 0
	e := newEnv(t, func(d *Deps) { d.Interim = &cfg })
	e.gated.open()
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch))}
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
	search := func(typ string) []int64 {
		t.Helper()
		res, err := e.qn.Search(e.ctx, &contract.SearchRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: e.now(t),
			Search: segment.SearchRequest{FieldID: 101, IndexType: typ, Queries: index.Dataset{Dim: dim, Float: []float32{2.2, 1}},
				Metric: index.L2, Params: index.SearchParams{K: 3, Params: map[string]string{"nprobe": "8"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.IntPKs, []int64{2, 3, 1}) {
			t.Fatalf("%q: search %v", typ, res.IntPKs)
		}
		return res.IntPKs
	}
	search("FLAT")
	g := growing()
	if g == nil {
		t.Fatal("no growing segment")
	}
	base := g.MemoryBytes()
	time.Sleep(50 * time.Millisecond)
	if mem := g.MemoryBytes(); mem != base {
		t.Fatalf("FLAT: growing memory %d -> %d: an interim index was built", base, mem)
	}
	// 2,048 full-chunk rows x 2 floats copied into the lists.
	search("HNSW")
	eventually(t, "interim index built", func() bool { return g.MemoryBytes() >= base+2048*2*4 })
	search("HNSW")
	search("")
	if mem := g.MemoryBytes(); mem != base {
		t.Fatalf("index dropped: growing memory %d, want %d", mem, base)
	}
}
