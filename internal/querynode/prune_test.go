package querynode

import (
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/clusterkey"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/segment"
)

func pruneSchema() *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, IsClusteringKey: true,
			TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}},
	}}
}

// pruneSegments returns sealed segments of rows rows each: nine in
// partition 1 with centroids (x, 0) for x = 0, 10, ..., 80 (IDs 0-8), one
// in partition 1 without a centroid (ID 9), and three in partition 2 with
// centroids (x, 0) for x = 100, 110, 120 (IDs 10-12).
func pruneSegments(t *testing.T, rows int) ([]segment.Segment, []*sealedSegment) {
	t.Helper()
	var segs []segment.Segment
	var sealed []*sealedSegment
	add := func(id, part int64, cent []float32) {
		ts := make([]uint64, rows)
		pks := make([]int64, rows)
		for i := range pks {
			pks[i] = id*1000 + int64(i)
			ts[i] = 1
		}
		s, err := segment.NewSealed(id, part, pruneSchema(), ts, map[int64]column.Column{
			100: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: pks},
			101: &column.FloatVector{Dim: 2, Data: make([]float32, 2*rows)},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ss := &sealedSegment{seg: s}
		if cent != nil {
			ss.centroids = map[int64][][]float32{101: {cent}}
		}
		segs, sealed = append(segs, s), append(sealed, ss)
	}
	for i := range 9 {
		add(int64(i), 1, []float32{float32(10 * i), 0})
	}
	add(9, 1, nil)
	for i := range 3 {
		add(int64(10+i), 2, []float32{float32(100 + 10*i), 0})
	}
	return segs, sealed
}

func ids(segs []segment.Segment) []int64 {
	var out []int64
	for _, s := range segs {
		out = append(out, s.ID())
	}
	slices.Sort(out)
	return out
}

// TestPruneByCentroids checks Milvus's rule: per partition, each query
// keeps the int(sqrt(n) * ratio) segments with the nearest centroids
// (farthest by IP: highest) and more until they hold topk rows; segments
// without a centroid always stay; off, or for another field or metric,
// nothing is pruned.
func TestPruneByCentroids(t *testing.T) {
	segs, sealed := pruneSegments(t, 10)
	on := PruneConfig{Enable: true, FilterRatio: 1, Key: clusterkey.Options{EnableVectorKey: true}}
	req := func(metric index.Metric, k int, qs ...float32) *segment.SearchRequest {
		return &segment.SearchRequest{FieldID: 101, Metric: metric, Queries: index.Dataset{Dim: 2, Float: qs},
			Params: index.SearchParams{K: k}}
	}
	for _, c := range []struct {
		name string
		cfg  PruneConfig
		req  *segment.SearchRequest
		want []int64
	}{
		// Partition 1: sqrt(9) = 3 segments; partition 2: int(sqrt(3)) = 1.
		{"L2 near 0", on, req(index.L2, 5, 1, 0), []int64{0, 1, 2, 9, 10}},
		{"L2 near 55", on, req(index.L2, 5, 55, 0), []int64{4, 5, 6, 9, 10}},
		// topk 45 needs 5 segments of 10 rows in each partition (all 3 of 2).
		{"L2 topk", on, req(index.L2, 45, 1, 0), []int64{0, 1, 2, 3, 4, 9, 10, 11, 12}},
		// Two queries: the union.
		{"L2 two queries", on, req(index.L2, 5, 1, 0, 79, 0), []int64{0, 1, 2, 6, 7, 8, 9, 10}},
		// IP with (1, 0): the largest x first.
		{"IP", on, req(index.IP, 5, 1, 0), []int64{6, 7, 8, 9, 12}},
		{"ratio 2", PruneConfig{Enable: true, FilterRatio: 2, Key: on.Key}, req(index.L2, 5, 1, 0), []int64{0, 1, 2, 3, 4, 5, 9, 10, 11, 12}},
		{"off", PruneConfig{FilterRatio: 1, Key: on.Key}, req(index.L2, 5, 1, 0), ids(segs)},
		{"vector key not enabled", PruneConfig{Enable: true, FilterRatio: 1}, req(index.L2, 5, 1, 0), ids(segs)},
		{"hamming", on, req(index.Hamming, 5, 1, 0), ids(segs)},
	} {
		got := ids(pruneByCentroids(c.cfg, pruneSchema(), c.req, segs, sealed))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: searched %v, want %v", c.name, got, c.want)
		}
	}
	other := req(index.L2, 5, 1, 0)
	other.FieldID = 102
	if got := pruneByCentroids(on, pruneSchema(), other, segs, sealed); len(got) != len(segs) {
		t.Errorf("another field: %d of %d segments searched", len(got), len(segs))
	}
}
