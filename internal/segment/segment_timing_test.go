package segment

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// benchGrowing returns a growing segment of n rows: an Int64 key, an age
// and a float vector of dim d.
func benchGrowing(b *testing.B, n, d int) *Growing {
	b.Helper()
	schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: fPK, Name: "pk", IsPrimaryKey: true, DataType: schemapb.DataType_Int64},
		{FieldID: fAge, Name: "age", DataType: schemapb.DataType_Int64},
		{FieldID: fVec, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: dimParam(d)},
	}}
	g, err := NewGrowing(1, 1, schema)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	age := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	vec := &column.FloatVector{Dim: d, Data: make([]float32, n*d)}
	ts := make([]uint64, n)
	for i := range n {
		pk.Data[i], age.Data[i], ts[i] = int64(i), int64(rng.IntN(100)), 1
	}
	for i := range vec.Data {
		vec.Data[i] = rng.Float32()
	}
	if err := g.Append(ts, map[int64]column.Column{fPK: pk, fAge: age, fVec: vec}); err != nil {
		b.Fatal(err)
	}
	return g
}

func BenchmarkGrowingSearch(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		g := benchGrowing(b, n, 128)
		for _, c := range []struct{ nq, sel int }{{1, 100}, {1, 10}, {16, 100}} {
			nq, sel := c.nq, c.sel
			q := make([]float32, nq*128)
			for i := range q {
				q[i] = float32(i%7) / 7
			}
			b.Run(fmt.Sprintf("n=%d/nq=%d/sel=%d", n, nq, sel), func(b *testing.B) {
				req := &SearchRequest{FieldID: fVec, Queries: index.Dataset{Dim: 128, Float: q}, Metric: index.L2,
					Params: index.SearchParams{K: 10}, MVCCTs: 1}
				if sel < 100 {
					req.Filter = &ageFilter{keep: func(a int64) bool { return a < int64(sel) }}
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := g.Search(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkGrowingQueryLimit(b *testing.B) {
	g := benchGrowing(b, 100000, 8)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Query(context.Background(), &QueryRequest{MVCCTs: 1, Limit: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealedFirstDelete measures loading a sealed segment of shuffled
// Int64 keys plus the first delete, which builds the key index.
func BenchmarkSealedFirstDelete(b *testing.B) {
	const n = 1 << 20
	schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: fPK, Name: "pk", IsPrimaryKey: true, DataType: schemapb.DataType_Int64},
		{FieldID: fVec, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: dimParam(4)},
	}}
	rng := rand.New(rand.NewPCG(2, 2))
	pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	for i, p := range rng.Perm(n) {
		pk.Data[i] = int64(p)
	}
	vec := &column.FloatVector{Dim: 4, Data: make([]float32, 4*n)}
	ts := make([]uint64, n)
	b.ReportAllocs()
	for b.Loop() {
		s, err := NewSealed(1, 1, schema, ts, map[int64]column.Column{fPK: pk, fVec: vec}, nil)
		if err != nil {
			b.Fatal(err)
		}
		s.Delete([]int64{7}, nil, []uint64{1})
	}
}

// BenchmarkIterate pages through a whole 10k-row growing segment as a
// search iterator does (K rows after the previous page's last score, ties
// at it excluded by key).
func BenchmarkIterate(b *testing.B) {
	const n = 10000
	g := benchGrowing(b, n, 128)
	q := make([]float32, 128)
	for i := range q {
		q[i] = float32(i%7) / 7
	}
	for _, k := range []int{1000, 100, 10} {
		b.Run(fmt.Sprintf("n=%d/batch=%d", n, k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var after *float32
				var ties *PKSet
				rows := 0
				for {
					res, err := g.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: index.Dataset{Dim: 128, Float: q},
						Metric: index.L2, Params: index.SearchParams{K: k}, MVCCTs: 1, Exact: true, After: after, AfterTies: ties})
					if err != nil {
						b.Fatal(err)
					}
					last := -1
					for i, off := range res.Offsets {
						if off >= 0 {
							last = i
							rows++
						}
					}
					if last < 0 {
						break
					}
					s := res.Scores[last]
					next := &PKSet{}
					if after != nil && *after == s {
						next.Ints = append(next.Ints, ties.Ints...)
					}
					for i := 0; i <= last; i++ {
						if res.Scores[i] == s {
							next.Ints = append(next.Ints, res.IntPKs[i])
						}
					}
					after, ties = &s, next
				}
				if rows != n {
					b.Fatalf("%d rows, want %d", rows, n)
				}
			}
		})
	}
}
