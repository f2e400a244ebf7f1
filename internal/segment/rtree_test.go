package segment

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/geometry"
)

// TestSpatialCandidates checks a sealed segment's R-tree returns exactly
// the valid rows whose bounding box meets the query box, and that growing
// segments decline (they are scanned).
func TestSpatialCandidates(t *testing.T) {
	schema := &schemapb.CollectionSchema{Name: "g", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "geo", DataType: schemapb.DataType_Geometry, Nullable: true},
		{FieldID: 102, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}},
	}}
	r := rand.New(rand.NewPCG(8, 9))
	const n = 2000
	ids := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	geo := &column.Scalar[[]byte]{Type: schemapb.DataType_Geometry, Data: make([][]byte, n), Valid: make([]bool, n)}
	vec := &column.FloatVector{Dim: 2, Data: make([]float32, 2*n)}
	ts := make([]uint64, n)
	type box struct{ x0, y0, x1, y1 float64 }
	boxes := make([]box, n)
	for i := range n {
		ids.Data[i], ts[i] = int64(i), 1
		x, y := r.Float64()*100, r.Float64()*100
		b := box{x, y, x + r.Float64()*3, y + r.Float64()*3}
		wkt := fmt.Sprintf("LINESTRING(%g %g, %g %g)", b.x0, b.y0, b.x1, b.y1)
		if i%4 == 0 {
			b = box{x, y, x, y}
			wkt = fmt.Sprintf("POINT(%g %g)", x, y)
		}
		boxes[i] = b
		geo.Data[i], _ = geometry.WKTToWKB(wkt)
		geo.Valid[i] = i%10 != 3
	}
	seg, err := NewSealed(1, 1, schema, ts, map[int64]column.Column{100: ids, 101: geo, 102: vec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []box{{10, 10, 20, 20}, {0, 0, 100, 100}, {50, 50, 50, 50}, {-5, -5, -1, -1}} {
		got, ok := seg.SpatialCandidates(101, q.x0, q.y0, q.x1, q.y1)
		if !ok {
			t.Fatal("sealed segment declined")
		}
		for i, b := range boxes {
			want := geo.Valid[i] && b.x0 <= q.x1 && q.x0 <= b.x1 && b.y0 <= q.y1 && q.y0 <= b.y1
			if got.Test(i) != want {
				t.Fatalf("box %v row %d %v: got %v", q, i, b, got.Test(i))
			}
		}
	}
	if _, ok := seg.SpatialCandidates(102, 0, 0, 1, 1); ok {
		t.Fatal("a vector field has an R-tree")
	}
	g, err := NewGrowing(2, 1, schema)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.SpatialCandidates(101, 0, 0, 1, 1); ok {
		t.Fatal("a growing segment has an R-tree")
	}
}
