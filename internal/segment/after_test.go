package segment

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// TestSearchAfter pages through a segment the way a search iterator does:
// K hits at a time, each page after the previous page's last score, with
// Exact set so that an indexed (HNSW) sealed segment scans. The pages
// together must be every allowed row, each once, in the order of one
// exact search for all of them (random vectors: no ties at page ends).
func TestSearchAfter(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 600
	data := genRows(rng, schemapb.DataType_Int64, 0, n, 10)
	vecs := data.cols[fVec].(*column.FloatVector)
	ages := data.cols[fAge].(*column.Scalar[int64]).Data
	for _, m := range []index.Metric{index.L2, index.IP, index.Cosine} {
		idx, err := index.New(index.Spec{Type: index.TypeHNSW, Metric: m, Dim: testDim, Params: map[string]string{"M": "8", "efConstruction": "32"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Build(context.Background(), index.Dataset{Dim: testDim, Float: vecs.Data}); err != nil {
			t.Fatal(err)
		}
		segs := map[string]Segment{
			"growing": newGrowingWith(t, schemapb.DataType_Int64, data),
			"sealed":  newSealedWith(t, schemapb.DataType_Int64, data, map[int64]index.Index{fVec: idx}),
		}
		segs["sealed"].(*Sealed).indexMinAllowed = 0 // the index would serve any plain search
		for name, seg := range segs {
			for _, sel := range []int{100, 30} {
				qs := queriesFor(rng, fVec, 1)
				keep := func(i int) bool { return ages[i] < int64(sel) }
				// One search for every row gives the order the pages must follow.
				full := &SearchRequest{FieldID: fVec, Queries: qs, Metric: m, Params: index.SearchParams{K: n}, MVCCTs: 10, Exact: true}
				if sel < 100 {
					full.Filter = &ageFilter{keep: func(a int64) bool { return a < int64(sel) }}
				}
				all, err := seg.Search(context.Background(), full)
				if err != nil {
					t.Fatal(err)
				}
				var want []int64
				for _, off := range all.Offsets {
					if off >= 0 {
						if !keep(int(off)) {
							t.Fatalf("row %d does not pass the filter", off)
						}
						want = append(want, off)
					}
				}
				if wantN := countKept(n, keep); len(want) != wantN {
					t.Fatalf("%s %s: full search found %d rows, want %d", name, m, len(want), wantN)
				}
				var got []int64
				var after *float32
				for page := 0; ; page++ {
					req := &SearchRequest{FieldID: fVec, Queries: qs, Metric: m, Params: index.SearchParams{K: 37},
						MVCCTs: 10, Exact: true, After: after}
					if sel < 100 {
						req.Filter = &ageFilter{keep: func(a int64) bool { return a < int64(sel) }}
					}
					res, err := seg.Search(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					last := -1
					for i, off := range res.Offsets {
						if off >= 0 {
							got = append(got, off)
							last = i
						}
					}
					if last < 0 {
						break
					}
					b := res.Scores[last]
					after = &b
					if page > n {
						t.Fatalf("%s %s: the pages never end", name, m)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s %s sel %d: pages give %d rows %v..., want %d %v...", name, m, sel, len(got), got[:min(8, len(got))], len(want), want[:min(8, len(want))])
				}
			}
		}
	}
}

func countKept(n int, keep func(int) bool) int {
	c := 0
	for i := range n {
		if keep(i) {
			c++
		}
	}
	return c
}

// TestSearchAfterTies pages through rows with many equal scores (only 20
// distinct vectors): with AfterTies listing the keys already returned at
// the bound, every row comes back once; without it, rows tied at a page's
// end are skipped, as in Milvus.
func TestSearchAfterTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const n = 300
	data := genRows(rng, schemapb.DataType_Int64, 0, n, 10)
	vecs := data.cols[fVec].(*column.FloatVector)
	for i := 20; i < n; i++ {
		copy(vecs.Row(i), vecs.Row(i%20))
	}
	seg := newGrowingWith(t, schemapb.DataType_Int64, data)
	qs := queriesFor(rng, fVec, 1)
	pks := data.cols[fPK].(*column.Scalar[int64]).Data
	iterate := func(ties bool) []int64 {
		var got []int64
		var after *float32
		var seen *PKSet
		for range n + 1 {
			req := &SearchRequest{FieldID: fVec, Queries: qs, Metric: index.L2, Params: index.SearchParams{K: 7},
				MVCCTs: 10, Exact: true, After: after}
			if ties {
				req.AfterTies = seen
			}
			res, err := seg.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			last := -1
			for i, off := range res.Offsets {
				if off >= 0 {
					got = append(got, pks[off])
					last = i
				}
			}
			if last < 0 {
				return got
			}
			b := res.Scores[last]
			next := &PKSet{}
			if after != nil && *after == b && seen != nil {
				next.Ints = append(next.Ints, seen.Ints...)
			}
			for i := 0; i <= last; i++ {
				if res.Scores[i] == b {
					next.Ints = append(next.Ints, res.IntPKs[i])
				}
			}
			after, seen = &b, next
		}
		t.Fatal("the pages never end")
		return nil
	}
	got := iterate(true)
	if len(got) != n {
		t.Fatalf("with ties: %d rows, want %d", len(got), n)
	}
	once := map[int64]bool{}
	for _, k := range got {
		if once[k] {
			t.Fatalf("key %d returned twice", k)
		}
		once[k] = true
	}
	if strict := iterate(false); len(strict) >= n {
		t.Fatalf("without ties: %d rows, want fewer than %d (ties at page ends are skipped)", len(strict), n)
	}
}

// TestRankingTail: a ranking built over a growing segment's first rows
// still answers exactly after rows are appended (scanned as a tail, or
// ranked again once they are many): the same hits as a plain scan.
func TestRankingTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	g := newGrowingWith(t, schemapb.DataType_Int64, genRows(rng, schemapb.DataType_Int64, 0, 300, 10))
	qs := queriesFor(rng, fVec, 1)
	check := func(what string, ts uint64, k int) {
		t.Helper()
		for _, m := range []index.Metric{index.L2, index.Cosine} {
			ranked, err := g.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: qs, Metric: m, Params: index.SearchParams{K: k}, MVCCTs: ts, Exact: true})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := g.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: qs, Metric: m, Params: index.SearchParams{K: k}, MVCCTs: ts})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ranked.Offsets, plain.Offsets) || !slices.Equal(ranked.Scores, plain.Scores) {
				t.Fatalf("%s %s: ranked %v, scanned %v", what, m, ranked.Offsets[:10], plain.Offsets[:10])
			}
		}
	}
	check("first rows", 10, 50)
	if len(g.ranked.entries) != 2 {
		t.Fatalf("%d rankings kept, want 2", len(g.ranked.entries))
	}
	if err := g.Append(genRows(rng, schemapb.DataType_Int64, 300, 200, 20).ts, genRows(rng, schemapb.DataType_Int64, 300, 200, 20).cols); err != nil {
		t.Fatal(err)
	}
	check("appended rows, read before them", 10, 50)
	check("appended rows", 20, 80)
	if g.ranked.entries[0].n != 300 {
		t.Fatalf("ranking of %d rows, want the first 300 (a tail of 200 is scanned)", g.ranked.entries[0].n)
	}
	more := genRows(rng, schemapb.DataType_Int64, 500, 5000, 30)
	if err := g.Append(more.ts, more.cols); err != nil {
		t.Fatal(err)
	}
	check("many appended rows", 30, 100)
	for _, r := range g.ranked.entries {
		if r.n != 5500 {
			t.Fatalf("ranking of %d rows, want all 5500 after a rebuild", r.n)
		}
	}
}

// TestRankingParallel builds a ranking large enough to be scored by
// several goroutines and checks it against a plain scan.
func TestRankingParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("70k rows")
	}
	const n, d = 70000, 8
	schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: fPK, Name: "pk", IsPrimaryKey: true, DataType: schemapb.DataType_Int64},
		{FieldID: fVec, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: dimParam(d)},
	}}
	g, err := NewGrowing(1, 1, schema)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(17, 18))
	pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	vec := &column.FloatVector{Dim: d, Data: make([]float32, n*d)}
	ts := make([]uint64, n)
	for i := range n {
		pk.Data[i], ts[i] = int64(i), 1
	}
	for i := range vec.Data {
		vec.Data[i] = rng.Float32()
	}
	if err := g.Append(ts, map[int64]column.Column{fPK: pk, fVec: vec}); err != nil {
		t.Fatal(err)
	}
	q := index.Dataset{Dim: d, Float: []float32{0.5, 0.1, 0.9, 0.3, 0.5, 0.5, 0.2, 0.7}}
	for _, m := range []index.Metric{index.L2, index.IP} {
		ranked, err := g.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: q, Metric: m, Params: index.SearchParams{K: 100}, MVCCTs: 1, Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := g.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: q, Metric: m, Params: index.SearchParams{K: 100}, MVCCTs: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ranked.Offsets, plain.Offsets) || !slices.Equal(ranked.Scores, plain.Scores) {
			t.Fatalf("%s: ranked %v, scanned %v", m, ranked.Offsets[:10], plain.Offsets[:10])
		}
	}
}
