package segment

import (
	"context"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/index"
)

// TestNullVectorsNeverSearched checks that rows with a null vector are
// never hits, whether a growing segment scans, a sealed one scans, or a
// sealed one asks an index built over the valid rows only; and that the
// hits are the exact nearest valid rows.
func TestNullVectorsNeverSearched(t *testing.T) {
	const n, dim, k = 500, 8, 20
	schema := &schemapb.CollectionSchema{Name: "nv", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: dimParam(dim), Nullable: true},
	}}
	rng := rand.New(rand.NewPCG(5, 6))
	vec := &column.FloatVector{Dim: dim, Data: make([]float32, n*dim), Valid: make([]bool, n)}
	pks := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	ts := make([]uint64, n)
	for i := range n {
		pks.Data[i], ts[i] = int64(i), 1
		vec.Valid[i] = rng.IntN(10) >= 4 // 40% null
		if vec.Valid[i] {
			for j := range dim {
				vec.Data[i*dim+j] = rng.Float32()
			}
		}
	}
	cols := map[int64]column.Column{100: pks, 101: vec}
	queries := make([]float32, 3*dim)
	for i := range queries {
		queries[i] = rng.Float32()
	}
	// The exact answer over valid rows.
	want := make([][]int64, 3)
	for q := range 3 {
		var rows []int64
		for i := range n {
			if vec.Valid[i] {
				rows = append(rows, int64(i))
			}
		}
		qv := queries[q*dim : (q+1)*dim]
		sort.SliceStable(rows, func(a, b int) bool {
			return distance.L2Sq(qv, vec.Row(int(rows[a]))) < distance.L2Sq(qv, vec.Row(int(rows[b])))
		})
		want[q] = rows[:k]
	}

	buildOverValid := func(typ string) index.Index {
		t.Helper()
		idx, err := index.New(index.Spec{Type: typ, Metric: index.L2, Dim: dim, Params: map[string]string{"M": "16", "efConstruction": "200"}})
		if err != nil {
			t.Fatal(err)
		}
		valid := vec.Take(column.ValidRows(vec)).(*column.FloatVector)
		if err := idx.Build(context.Background(), index.Dataset{Dim: dim, Float: valid.Data}); err != nil {
			t.Fatal(err)
		}
		return idx
	}
	growing, err := NewGrowing(1, 1, schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := growing.Append(ts, cols); err != nil {
		t.Fatal(err)
	}
	scanned, err := NewSealed(2, 1, schema, ts, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := NewSealed(3, 1, schema, ts, cols, map[int64]index.Index{101: buildOverValid("FLAT")})
	if err != nil {
		t.Fatal(err)
	}
	flat.indexMinAllowed = 0
	hnsw, err := NewSealed(4, 1, schema, ts, cols, map[int64]index.Index{101: buildOverValid("HNSW")})
	if err != nil {
		t.Fatal(err)
	}
	hnsw.indexMinAllowed = 0
	cases := []struct {
		name  string
		seg   Segment
		exact bool
	}{{"growing", growing, true}, {"sealed scan", scanned, true}, {"sealed FLAT", flat, true}, {"sealed HNSW", hnsw, false}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.seg.Search(context.Background(), &SearchRequest{FieldID: 101, Queries: index.Dataset{Dim: dim, Float: queries},
				Metric: index.L2, Params: index.SearchParams{K: k, Params: map[string]string{"ef": "200"}}, MVCCTs: 10})
			if err != nil {
				t.Fatal(err)
			}
			for q := range 3 {
				got := res.Offsets[q*k : (q+1)*k]
				for _, off := range got {
					if off < 0 || vec.IsNull(int(off)) {
						t.Fatalf("query %d: hit %d is null or missing (hits %v)", q, off, got)
					}
				}
				if tc.exact && !slices.Equal(got, want[q]) {
					t.Errorf("query %d: hits %v, want %v", q, got, want[q])
				}
				if !tc.exact {
					found := 0
					for _, off := range got {
						if slices.Contains(want[q], off) {
							found++
						}
					}
					if found < k*8/10 {
						t.Errorf("query %d: recall %d/%d", q, found, k)
					}
				}
			}
		})
	}

	// An index that does not hold exactly the valid rows is refused.
	all, _ := index.New(index.Spec{Type: "FLAT", Metric: index.L2, Dim: dim})
	if err := all.Build(context.Background(), index.Dataset{Dim: dim, Float: vec.Data}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSealed(5, 1, schema, ts, cols, map[int64]index.Index{101: all}); err == nil {
		t.Error("an index over every row, null ones included, was accepted")
	}
}

// TestAllNullVectorsSearch checks a segment whose vectors are all null
// (a field added after it was written): its empty index and its scan
// both find nothing.
func TestAllNullVectorsSearch(t *testing.T) {
	const n, dim = 50, 4
	schema := &schemapb.CollectionSchema{Name: "nv", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: dimParam(dim), Nullable: true},
	}}
	pks := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	ts := make([]uint64, n)
	for i := range n {
		pks.Data[i], ts[i] = int64(i), 1
	}
	empty, _ := index.New(index.Spec{Type: "HNSW", Metric: index.L2, Dim: dim})
	if err := empty.Build(context.Background(), index.Dataset{Dim: dim, Float: []float32{}}); err != nil {
		t.Fatal(err)
	}
	// No column for field 101: NewSealed fills it with nulls.
	for name, indexes := range map[string]map[int64]index.Index{"index": {101: empty}, "scan": nil} {
		s, err := NewSealed(1, 1, schema, ts, map[int64]column.Column{100: pks}, indexes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s.indexMinAllowed = 0
		res, err := s.Search(context.Background(), &SearchRequest{FieldID: 101, Queries: index.Dataset{Dim: dim, Float: []float32{1, 2, 3, 4}},
			Metric: index.L2, Params: index.SearchParams{K: 5}, MVCCTs: 10})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, off := range res.Offsets {
			if off != -1 {
				t.Errorf("%s: hit %d in a segment without vectors", name, off)
			}
		}
	}
}
