package datanode

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
)

// BenchmarkSortCompaction rewrites one segment of 1M rows (Int64 key,
// 4-dim vector, VarChar) with its keys in random order (a sort
// compaction) and already in order (a compaction that sorts nothing):
// the cost of sorting on top of reading and writing the segment.
//
//	go test ./internal/datanode -run X -bench SortCompaction -benchtime 3x
func BenchmarkSortCompaction(b *testing.B) {
	const n = 1_000_000
	for _, shuffled := range []bool{true, false} {
		b.Run(fmt.Sprintf("shuffled=%v", shuffled), func(b *testing.B) {
			objs := objstore.NewMemory()
			coll := testCollection()
			s := New(Deps{Objects: objs, IDs: &seqIDs{next: 5000}})
			pks := make([]int64, n)
			ts := make([]uint64, n)
			tags := make([]string, n)
			for i := range pks {
				pks[i], ts[i], tags[i] = int64(i), uint64(100+i), fmt.Sprint("tag", i%1000)
			}
			if shuffled {
				r := rand.New(rand.NewPCG(1, 1))
				r.Shuffle(n, func(i, j int) { pks[i], pks[j] = pks[j], pks[i] })
			}
			seg := putSegment(b, objs, coll, 1, pks, ts, tags)
			b.ResetTimer()
			for i := range b.N {
				res, err := s.Compact(context.Background(), contract.CompactionTask{PlanID: int64(i), Collection: coll,
					Segments: []model.Segment{seg}, TargetID: int64(100 + i)})
				if err != nil || res.Segment.NumRows != n {
					b.Fatal(err, res.Segment.NumRows)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
