package segment

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
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

// BenchmarkGrowingChunkReads covers the other readers of a growing
// segment's vectors: COSINE (the row norms), and fetching the vectors of
// 100 scattered rows as output fields.
func BenchmarkGrowingChunkReads(b *testing.B) {
	g := benchGrowing(b, 100000, 128)
	q := make([]float32, 128)
	for i := range q {
		q[i] = float32(i%7) / 7
	}
	b.Run("search/cosine", func(b *testing.B) {
		req := &SearchRequest{FieldID: fVec, Queries: index.Dataset{Dim: 128, Float: q}, Metric: index.Cosine,
			Params: index.SearchParams{K: 10}, MVCCTs: 1}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.Search(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fetch/100", func(b *testing.B) {
		offs := make([]int64, 100)
		for i := range offs {
			offs[i] = int64(i * 997)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.Fetch(context.Background(), offs, []int64{fVec}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGrowingAppend60MB appends a 60 MiB insert of 122,880 x 128
// float vectors to a growing segment in the 8 MiB log messages it arrives
// in (15,360 rows each), as a query node applies it. B/op is every byte
// allocated for it; the largest live heap seen after a GC at
// each append, less the input: what the segment holds (held-MB).
func BenchmarkGrowingAppend60MB(b *testing.B) {
	const dim, rows, batch = 128, 60 << 20 / (128 * 4), 15360
	schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: fPK, Name: "pk", IsPrimaryKey: true, DataType: schemapb.DataType_Int64},
		{FieldID: fVec, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: dimParam(dim)},
	}}
	type msg struct {
		ts   []uint64
		cols map[int64]column.Column
	}
	var msgs []msg
	for lo := 0; lo < rows; lo += batch {
		n := min(batch, rows-lo)
		pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
		for i := range n {
			pk.Data[i] = int64(lo + i)
		}
		ts := make([]uint64, n)
		for i := range ts {
			ts[i] = 1
		}
		msgs = append(msgs, msg{ts, map[int64]column.Column{fPK: pk, fVec: &column.FloatVector{Dim: dim, Data: make([]float32, n*dim)}}})
	}
	var held uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	b.ReportAllocs()
	for b.Loop() {
		g, err := NewGrowingWithInterim(1, 1, schema, InterimIndexConfig{})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			if err := g.Append(m.ts, m.cols); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			held = max(held, ms.HeapAlloc-base)
			b.StartTimer()
		}
		runtime.KeepAlive(g)
	}
	b.ReportMetric(float64(held)/(1<<20), "held-MB")
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
