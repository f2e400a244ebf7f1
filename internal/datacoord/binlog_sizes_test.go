package datacoord

import (
	"maps"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// recount is the sizes computed from every segment, the oracle of the
// sizes kept as segments change.
func recount(s *Server) map[int64]map[int64]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]map[int64]int64{}
	for _, seg := range s.segments {
		if seg.State == model.SegmentDropped || seg.SizeBytes == 0 {
			continue
		}
		if out[seg.CollectionID] == nil {
			out[seg.CollectionID] = map[int64]int64{}
		}
		out[seg.CollectionID][seg.PartitionID] += seg.SizeBytes
	}
	return out
}

func checkSizes(t *testing.T, s *Server, step string, total int64) {
	t.Helper()
	m := must(s.QuotaMetrics(bg))
	want := recount(s)
	if !maps.EqualFunc(m.PartitionsBinlogSize, want, maps.Equal) || m.TotalBinlogSize != total {
		t.Fatalf("%s: kept %v (total %d), recounted %v, want total %d", step, m.PartitionsBinlogSize, m.TotalBinlogSize, want, total)
	}
	for coll, parts := range want {
		var n int64
		for _, b := range parts {
			n += b
		}
		if m.CollectionBinlogSize[coll] != n {
			t.Fatalf("%s: collection %d kept %d, recounted %d", step, coll, m.CollectionBinlogSize[coll], n)
		}
	}
}

// TestBinlogSizesFollowFlushDropRestart: the sizes the quota center reads
// equal a recount of the segments after flushes, an empty flush, a
// partition and a collection drop, and a restart (loaded from the store).
func TestBinlogSizesFollowFlushDropRestart(t *testing.T) {
	store := kv.NewMemory()
	s := newCoord(t, store, smallConfig())
	flush := func(coll, part int64, vc string, rows, size int64, pos uint64) {
		t.Helper()
		a := mustAssign(t, s, coll, part, vc, max(rows, 1), 1, pos)
		must(s.SealChannel(bg, coll, vc, pos+1))
		mustDo(s.SegmentFlushed(bg, contract.FlushResult{SegmentID: a.SegmentID, NumRows: rows, SizeBytes: size,
			Binlogs: map[int64]string{100: "b"}, FlushTS: pos + 1}))
	}
	checkSizes(t, s, "empty", 0)
	flush(1, 10, "vc1", 5, 100, 1)
	flush(1, 11, "vc1", 5, 30, 3)
	flush(2, 20, "vc2", 5, 7, 5)
	mustAssign(t, s, 2, 20, "vc2", 1, 1, 7) // growing: no binlogs yet
	checkSizes(t, s, "flushed", 137)
	flush(2, 21, "vc3", 0, 0, 9) // no rows: forgotten
	checkSizes(t, s, "empty flush", 137)
	mustDo(s.DropPartition(bg, 1, 11))
	checkSizes(t, s, "partition dropped", 107)
	checkSizes(t, newCoord(t, store, smallConfig()), "restarted", 107)
	mustDo(s.DropCollection(bg, &model.Collection{ID: 1, VChannels: []string{"vc1"}}))
	checkSizes(t, s, "collection dropped", 7)
}

// TestBinlogSizesFollowCompaction: a compaction's sources leave the sizes
// and its target enters them, in the same step.
func TestBinlogSizesFollowCompaction(t *testing.T) {
	e := newLifecycle(t)
	e.flushed(t, 4, 10)
	e.flushed(t, 4, 20)
	e.flushed(t, 4, 30)
	checkSizes(t, e.s, "flushed", 12)
	id, plans, err := e.s.ManualCompaction(bg, tColl, false)
	if err != nil || plans != 1 {
		t.Fatalf("manual compaction: %d plans, %v", plans, err)
	}
	job := e.wait(t, id)
	p := job.Plans[0]
	if p.Target == 0 || len(p.Sources) < 2 {
		t.Fatalf("plan %+v", p)
	}
	// The fake data node reports no size for its output: the sources'
	// 4 bytes each are gone and the target adds none.
	checkSizes(t, e.s, "compacted", 12-4*int64(len(p.Sources)))
}
