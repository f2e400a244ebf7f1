package segment

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

// queriesFor returns nq random query vectors for a field.
func queriesFor(rng *rand.Rand, fieldID int64, nq int) index.Dataset {
	switch fieldID {
	case fBin:
		b := make([]byte, nq*testBinDim/8)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return index.Dataset{Dim: testBinDim, Binary: b}
	case fSparse:
		d := index.Dataset{}
		for range nq {
			d.Sparse = append(d.Sparse, randSparse(rng, 40, 10))
		}
		return d
	}
	f := make([]float32, nq*testDim)
	for i := range f {
		f[i] = rng.Float32()*2 - 1
		if fieldID == fI8Vec {
			f[i] *= 100
		}
	}
	return index.Dataset{Dim: testDim, Float: f}
}

func newGrowingWith(t *testing.T, pkType schemapb.DataType, parts ...rows) *Growing {
	t.Helper()
	g, err := NewGrowing(7, 3, testSchema(pkType))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if err := g.Append(p.ts, p.cols); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func newSealedWith(t *testing.T, pkType schemapb.DataType, r rows, indexes map[int64]index.Index) *Sealed {
	t.Helper()
	s, err := NewSealed(8, 3, testSchema(pkType), r.ts, r.cols, indexes)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSearchBruteForce checks every vector type and metric, growing and
// sealed, with and without filters, against a naive reference.
func TestSearchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 700
	data := genRows(rng, schemapb.DataType_Int64, 1000, n, 100)
	pks := data.cols[fPK].(*column.Scalar[int64]).Data
	ages := data.cols[fAge].(*column.Scalar[int64]).Data
	segs := map[string]Segment{
		"growing": newGrowingWith(t, schemapb.DataType_Int64, data),
		"sealed":  newSealedWith(t, schemapb.DataType_Int64, data, nil),
	}
	f := func(fieldID int64, m index.Metric) {
		t.Helper()
		for name, seg := range segs {
			for _, sel := range []int{100, 99, 50, 1} { // percent of ages kept
				qs := queriesFor(rng, fieldID, 3)
				req := &SearchRequest{FieldID: fieldID, Queries: qs, Metric: m, Params: index.SearchParams{K: 10}, MVCCTs: 100}
				var filt *ageFilter
				if sel < 100 {
					filt = &ageFilter{keep: func(a int64) bool { return a < int64(sel) }}
					req.Filter = filt
				}
				res, err := seg.Search(context.Background(), req)
				if err != nil {
					t.Fatalf("%s field %d %s sel %d: %v", name, fieldID, m, sel, err)
				}
				keep := func(i int) bool { return ages[i] < int64(sel) }
				col, _ := seg.Column(fieldID)
				checkSearch(t, res, col, m, qs, keep, n, pks)
				for i, ts := range res.Timestamps {
					if res.Offsets[i] >= 0 && ts != 100 {
						t.Fatalf("timestamp %d, want 100", ts)
					}
				}
			}
		}
	}
	f(fVec, index.L2)
	f(fVec, index.IP)
	f(fVec, index.Cosine)
	f(fBin, index.Hamming)
	f(fBin, index.Jaccard)
	f(fSparse, index.IP)
	for _, fid := range []int64{fF16, fBF16, fI8Vec} {
		f(fid, index.L2)
		f(fid, index.IP)
		f(fid, index.Cosine)
	}
}

// TestSearchLargeParallel exercises the multi-goroutine scan.
func TestSearchLargeParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 9000 // 8 queries * 9000 rows: two workers
	data := genRows(rng, schemapb.DataType_Int64, 0, n, 5)
	g := newGrowingWith(t, schemapb.DataType_Int64, data)
	qs := queriesFor(rng, fVec, 8)
	for _, m := range []index.Metric{index.L2, index.Cosine} {
		res, err := g.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: qs, Metric: m, Params: index.SearchParams{K: 20}, MVCCTs: 5})
		if err != nil {
			t.Fatal(err)
		}
		checkSearch(t, res, data.cols[fVec], m, qs, func(int) bool { return true }, n, data.cols[fPK].(*column.Scalar[int64]).Data)
	}
}

func TestSearchRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data := genRows(rng, schemapb.DataType_Int64, 0, 500, 1)
	g := newGrowingWith(t, schemapb.DataType_Int64, data)
	qs := queriesFor(rng, fVec, 2)
	f := func(m index.Metric, radius, rangeFilter string, in func(s float32) bool) {
		t.Helper()
		p := map[string]string{"radius": radius}
		if rangeFilter != "" {
			p["range_filter"] = rangeFilter
		}
		res, err := g.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: qs, Metric: m, Params: index.SearchParams{K: 50, Params: p}, MVCCTs: 1})
		if err != nil {
			t.Fatal(err)
		}
		hits := 0
		for i, off := range res.Offsets {
			if off < 0 {
				continue
			}
			hits++
			if !in(res.Scores[i]) {
				t.Fatalf("%s: score %g outside window", m, res.Scores[i])
			}
		}
		if hits == 0 {
			t.Fatalf("%s: no hits in window", m)
		}
	}
	f(index.L2, "3", "1", func(s float32) bool { return s >= 1 && s < 3 })
	f(index.IP, "0.5", "2", func(s float32) bool { return s > 0.5 && s <= 2 })
	f(index.Cosine, "0.2", "", func(s float32) bool { return s > 0.2 })

	_, err := g.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: qs, Metric: index.L2, Params: index.SearchParams{K: 5, Params: map[string]string{"radius": "1", "range_filter": "2"}}, MVCCTs: 1})
	if !errors.Is(err, errs.ErrParameterInvalid) {
		t.Fatalf("range_filter >= radius for L2: %v, want ErrParameterInvalid", err)
	}
}

func TestSearchErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := newGrowingWith(t, schemapb.DataType_Int64, genRows(rng, schemapb.DataType_Int64, 0, 10, 1))
	qs := queriesFor(rng, fVec, 1)
	f := func(req *SearchRequest, want error) {
		t.Helper()
		if _, err := g.Search(context.Background(), req); !errors.Is(err, want) {
			t.Fatalf("%+v: %v, want %v", req, err, want)
		}
	}
	f(&SearchRequest{FieldID: fVec, Queries: index.Dataset{Dim: 3, Float: []float32{1, 2, 3}}, Params: index.SearchParams{K: 1}}, errs.ErrParameterInvalid)
	f(&SearchRequest{FieldID: fVec, Queries: qs, Metric: index.Hamming, Params: index.SearchParams{K: 1}}, errs.ErrParameterInvalid)
	f(&SearchRequest{FieldID: fVec, Queries: qs, Params: index.SearchParams{K: 0}}, errs.ErrParameterInvalid)
	f(&SearchRequest{FieldID: fAge, Queries: qs, Params: index.SearchParams{K: 1}}, errs.ErrParameterInvalid)
	f(&SearchRequest{FieldID: 999, Queries: qs, Params: index.SearchParams{K: 1}}, errs.ErrFieldNotFound)
	f(&SearchRequest{FieldID: fBin, Queries: qs, Params: index.SearchParams{K: 1}}, errs.ErrParameterInvalid)

	// An empty segment answers with empty slots.
	empty, err := NewGrowing(1, 1, testSchema(schemapb.DataType_Int64))
	if err != nil {
		t.Fatal(err)
	}
	res, err := empty.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: qs, Params: index.SearchParams{K: 3}, MVCCTs: 10})
	if err != nil || len(res.Offsets) != 3 || res.Offsets[0] != -1 || res.Metric != index.L2 {
		t.Fatalf("empty search: %+v, %v", res, err)
	}
}
