package segment

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

// fakeIndex is an exact L2 index that records the skip bitsets it is given.
type fakeIndex struct {
	vecs     []float32
	dim      int
	searches atomic.Int32
	skipped  atomic.Int64 // set bits of the last filter
	leak     bool         // ignore the filter
}

func (f *fakeIndex) Spec() index.Spec {
	return index.Spec{Type: "FAKE", Metric: index.L2, Dim: f.dim}
}
func (f *fakeIndex) Len() int { return len(f.vecs) / f.dim }
func (f *fakeIndex) Build(_ context.Context, d index.Dataset) error {
	f.vecs, f.dim = d.Float, d.Dim
	return nil
}
func (f *fakeIndex) WriteTo(io.Writer) (int64, error) { return 0, nil }
func (f *fakeIndex) MemoryBytes() int64               { return 0 }
func (f *fakeIndex) Search(_ context.Context, q index.Dataset, p index.SearchParams) (*index.Result, error) {
	f.searches.Add(1)
	if f.leak {
		p.Filter = nil // a broken index that ignores the filter
	}
	if p.Filter != nil {
		f.skipped.Store(int64(p.Filter.Count()))
	}
	nq := len(q.Float) / f.dim
	res := &index.Result{NQ: nq, K: p.K, Labels: make([]int64, nq*p.K), Distances: make([]float32, nq*p.K)}
	for qi := range nq {
		tk := index.NewTopK(p.K)
		for i := range f.Len() {
			if p.Filter != nil && p.Filter.Test(i) {
				continue
			}
			tk.Push(int64(i), distance.L2Sq(q.Float[qi*f.dim:(qi+1)*f.dim], f.vecs[i*f.dim:(i+1)*f.dim]))
		}
		tk.Drain(res.Labels[qi*p.K:(qi+1)*p.K], res.Distances[qi*p.K:(qi+1)*p.K])
	}
	return res, nil
}

func TestSealedIndexPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const n = 6000
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 5)
	vec := r.cols[fVec].(*column.FloatVector)
	fi := &fakeIndex{}
	if err := fi.Build(context.Background(), index.Dataset{Dim: testDim, Float: vec.Data}); err != nil {
		t.Fatal(err)
	}
	s := newSealedWith(t, schemapb.DataType_Int64, r, map[int64]index.Index{fVec: fi})
	if !s.HasIndex(fVec) || s.HasIndex(fBin) {
		t.Fatal("HasIndex")
	}
	s.Delete([]int64{1, 2, 3}, nil, []uint64{6, 6, 6})
	ages := r.cols[fAge].(*column.Scalar[int64]).Data
	pks := r.cols[fPK].(*column.Scalar[int64]).Data
	f := func(keepAge func(int64) bool, wantIndex bool) {
		t.Helper()
		before := fi.searches.Load()
		qs := queriesFor(rng, fVec, 2)
		res, err := s.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: qs, Params: index.SearchParams{K: 10},
			Filter: &ageFilter{keep: keepAge}, MVCCTs: 6})
		if err != nil {
			t.Fatal(err)
		}
		if used := fi.searches.Load() > before; used != wantIndex {
			t.Fatalf("index used %v, want %v", used, wantIndex)
		}
		keep := func(i int) bool { return keepAge(ages[i]) && (i < 1 || i > 3) }
		if wantIndex {
			allowed := 0
			for i := range n {
				if keep(i) {
					allowed++
				}
			}
			if got := fi.skipped.Load(); got != int64(n-allowed) {
				t.Fatalf("index skip bitset has %d bits, want %d (NOT allowed)", got, n-allowed)
			}
		}
		checkSearch(t, res, vec, index.L2, qs, keep, n, pks)
	}
	f(func(int64) bool { return true }, true)
	f(func(a int64) bool { return a != 0 }, true)
	f(func(a int64) bool { return a < 50 }, false) // ~3000 rows: brute force
	f(func(a int64) bool { return a == 7 }, false)

	// An index that ignores the filter cannot leak filtered or deleted rows.
	fi.leak = true
	res, err := s.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: queriesFor(rng, fVec, 4), Params: index.SearchParams{K: 50},
		Filter: &ageFilter{keep: func(a int64) bool { return a%2 == 0 }}, MVCCTs: 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range res.Offsets {
		if off >= 0 && (ages[off]%2 != 0 || (off >= 1 && off <= 3)) {
			t.Fatalf("a leaking index returned row %d", off)
		}
	}
	fi.leak = false

	_, err = s.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: queriesFor(rng, fVec, 1), Metric: index.IP, Params: index.SearchParams{K: 3}, MVCCTs: 6})
	if !errors.Is(err, errs.ErrParameterInvalid) {
		t.Fatalf("metric mismatch with the index: %v", err)
	}
	if _, err := NewSealed(1, 1, testSchema(schemapb.DataType_Int64), r.ts[:10], sliceRows(r, 10), map[int64]index.Index{fVec: fi}); !errors.Is(err, errs.ErrSegmentLoadFailed) {
		t.Fatalf("index of the wrong size: %v", err)
	}
}

func sliceRows(r rows, n int) map[int64]column.Column {
	out := map[int64]column.Column{}
	for id, c := range r.cols {
		out[id] = c.Slice(0, n)
	}
	return out
}

// TestSealedFlatIndex checks that a sealed segment searched through the
// FLAT index answers like brute force.
func TestSealedFlatIndex(t *testing.T) {
	if !slices.Contains(index.Types(), index.TypeFlat) {
		t.Skip("FLAT is not registered in internal/index yet")
	}
	rng := rand.New(rand.NewPCG(43, 44))
	const n = 2000
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 5)
	vec := r.cols[fVec].(*column.FloatVector)
	ages := r.cols[fAge].(*column.Scalar[int64]).Data
	pks := r.cols[fPK].(*column.Scalar[int64]).Data
	for _, m := range []index.Metric{index.L2, index.IP, index.Cosine} {
		idx, err := index.New(index.Spec{Type: index.TypeFlat, Metric: m, Dim: testDim})
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Build(context.Background(), index.Dataset{Dim: testDim, Float: vec.Data}); err != nil {
			t.Fatal(err)
		}
		s := newSealedWith(t, schemapb.DataType_Int64, r, map[int64]index.Index{fVec: idx})
		s.indexMinAllowed = 0
		g := newGrowingWith(t, schemapb.DataType_Int64, r)
		for _, seg := range []Segment{s, g} {
			seg.Delete([]int64{10, 20}, nil, []uint64{6, 6})
		}
		for _, sel := range []int64{100, 99} {
			qs := queriesFor(rng, fVec, 3)
			req := &SearchRequest{FieldID: fVec, Queries: qs, Metric: m, Params: index.SearchParams{K: 10},
				Filter: &ageFilter{keep: func(a int64) bool { return a < sel }}, MVCCTs: 6}
			rs, err := s.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			rg, err := g.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			keep := func(i int) bool { return ages[i] < sel && i != 10 && i != 20 }
			checkSearch(t, rs, vec, m, qs, keep, n, pks)
			checkSearch(t, rg, vec, m, qs, keep, n, pks)
			for i := range rs.Offsets {
				if rs.Offsets[i] != rg.Offsets[i] {
					t.Logf("%s slot %d: index offset %d, brute force %d (a tie?)", m, i, rs.Offsets[i], rg.Offsets[i])
				}
			}
		}
	}
}

func TestVisibilityCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	g := newGrowingWith(t, schemapb.DataType_Int64, genRows(rng, schemapb.DataType_Int64, 0, 100, 5))
	a := g.visible(100, 10)
	if b := g.visible(100, 10); a != b {
		t.Fatal("same (n, ts, deletes) should hit the cache")
	}
	g.Delete([]int64{1}, nil, []uint64{7})
	c := g.visible(100, 10)
	if c == a || c.Count() != 99 || a.Count() != 100 {
		t.Fatalf("after a delete: cached %d, fresh %d", a.Count(), c.Count())
	}
	if d := g.visible(100, 6); d.Count() != 100 {
		t.Fatalf("before the delete: %d", d.Count())
	}
	// Past every insert and delete, an advancing read timestamp reuses one set.
	if e, f := g.visible(100, 100), g.visible(100, 200); e != f || e.Count() != 99 {
		t.Fatalf("reads past the last write: shared %v, count %d", e == f, e.Count())
	}
	var _ *bitset.Set = a
}

func TestVisibilityIncremental(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	g := newGrowingWith(t, schemapb.DataType_Int64, genRows(rng, schemapb.DataType_Int64, 0, 70, 5))
	g.Delete([]int64{3}, nil, []uint64{6})
	a := g.visible(70, 10)
	more := genRows(rng, schemapb.DataType_Int64, 70, 100, 8)
	if err := g.Append(more.ts, more.cols); err != nil {
		t.Fatal(err)
	}
	b := g.visible(170, 10) // extends a
	if b.Count() != 169 || !b.Test(69) || b.Test(3) || !b.Test(169) || a.Len() != 70 {
		t.Fatalf("extended visibility: count %d", b.Count())
	}
	if c := g.visible(170, 7); c.Count() != 69 {
		t.Fatalf("at 7: %d visible, want 69", c.Count())
	}
	if g.MemoryBytes() <= 0 {
		t.Fatal("MemoryBytes")
	}
}

// TestSealedIndexTypes runs sealed segments over every kind of registered
// index: exact ones must match the reference, approximate ones must recall
// most of it.
func TestSealedIndexTypes(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	const n = 1500
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 5)
	ages := r.cols[fAge].(*column.Scalar[int64]).Data
	pks := r.cols[fPK].(*column.Scalar[int64]).Data
	f := func(typ string, fieldID int64, m index.Metric, params map[string]string, exact bool) {
		t.Helper()
		if !slices.Contains(index.Types(), typ) {
			t.Logf("%s is not registered; skipped", typ)
			return
		}
		col := r.cols[fieldID]
		spec := index.Spec{Type: typ, Metric: m, Params: params}
		var data index.Dataset
		switch v := col.(type) {
		case *column.FloatVector:
			spec.Dim, data = v.Dim, index.Dataset{Dim: v.Dim, Float: v.Data}
		case *column.ByteVector:
			spec.Dim, data = v.Dim, index.Dataset{Dim: v.Dim, Binary: v.Data}
		case *column.SparseVector:
			data = index.Dataset{Sparse: v.Rows}
		}
		idx, err := index.New(spec)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if err := idx.Build(context.Background(), data); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		s := newSealedWith(t, schemapb.DataType_Int64, r, map[int64]index.Index{fieldID: idx})
		s.indexMinAllowed = 0 // always through the index
		s.Delete([]int64{10, 20}, nil, []uint64{6, 6})
		keep := func(i int) bool { return ages[i] != 0 && i != 10 && i != 20 }
		qs := queriesFor(rng, fieldID, 4)
		res, err := s.Search(context.Background(), &SearchRequest{FieldID: fieldID, Queries: qs, Metric: m,
			Params: index.SearchParams{K: 10, Params: params}, Filter: &ageFilter{keep: func(a int64) bool { return a != 0 }}, MVCCTs: 6})
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if exact {
			checkSearch(t, res, col, m, qs, keep, n, pks)
			return
		}
		// Approximate: every hit allowed, recall@10 against brute force.
		g := newSealedWith(t, schemapb.DataType_Int64, r, nil)
		g.Delete([]int64{10, 20}, nil, []uint64{6, 6})
		want, err := g.Search(context.Background(), &SearchRequest{FieldID: fieldID, Queries: qs, Metric: m,
			Params: index.SearchParams{K: 10}, Filter: &ageFilter{keep: func(a int64) bool { return a != 0 }}, MVCCTs: 6})
		if err != nil {
			t.Fatal(err)
		}
		truth := map[int64]bool{}
		for _, off := range want.Offsets {
			truth[off] = true
		}
		found := 0
		for _, off := range res.Offsets {
			if off >= 0 && !keep(int(off)) {
				t.Fatalf("%s returned a filtered or deleted row %d", typ, off)
			}
			if truth[off] {
				found++
			}
		}
		if recall := float64(found) / float64(len(want.Offsets)); recall < 0.8 {
			t.Fatalf("%s %s: recall@10 %.2f", typ, m, recall)
		}
	}
	f(index.TypeFlat, fVec, index.Cosine, nil, true)
	f(index.TypeBinFlat, fBin, index.Hamming, nil, true)
	f(index.TypeBinFlat, fBin, index.Jaccard, nil, true)
	f(index.TypeSparseInv, fSparse, index.IP, nil, true)
	f(index.TypeIVFFlat, fVec, index.L2, map[string]string{"nlist": "16", "nprobe": "16"}, true)
	f(index.TypeHNSW, fVec, index.L2, map[string]string{"M": "16", "efConstruction": "100", "ef": "100"}, false)
}

// TestSealedAddedField: a segment written before a field was added loads
// with the field's default, or nulls.
func TestSealedAddedField(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	r := genRows(rng, schemapb.DataType_Int64, 0, 5, 1)
	schema := testSchema(schemapb.DataType_Int64)
	schema.Fields = append(schema.Fields,
		&schemapb.FieldSchema{FieldID: 200, Name: "added", DataType: schemapb.DataType_Int32, Nullable: true,
			DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_IntData{IntData: 42}}},
		&schemapb.FieldSchema{FieldID: 201, Name: "added_null", DataType: schemapb.DataType_VarChar, Nullable: true})
	s, err := NewSealed(1, 1, schema, r.ts, r.cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Fetch(context.Background(), []int64{0, 4}, []int64{200, 201})
	if err != nil {
		t.Fatal(err)
	}
	if d := got[200].(*column.Scalar[int32]).Data; d[0] != 42 || d[1] != 42 {
		t.Fatalf("default: %v", d)
	}
	if !got[201].IsNull(0) || !got[201].IsNull(1) {
		t.Fatal("added nullable field should read as null")
	}
}

// TestFetchOwnsVariableRows: rows fetched from a sealed segment stay intact
// when the memory the segment's columns alias is reused, as a mapping is
// unmapped once the segment leaves the shard while results are still being
// sent.
func TestFetchOwnsVariableRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	r := genRows(rng, schemapb.DataType_Int64, 0, 40, 1)
	s, err := NewSealed(1, 1, testSchema(schemapb.DataType_Int64), r.ts, r.cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	offs := []int64{0, 7, 13, 39}
	got, err := s.Fetch(context.Background(), offs, []int64{fDoc, fMeta, fSparse})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][][]byte{}
	for fid, c := range got {
		var rows [][]byte
		switch c := c.(type) {
		case *column.Scalar[[]byte]:
			rows = c.Data
		case *column.SparseVector:
			rows = c.Rows
		default:
			t.Fatalf("field %d: unexpected column %T", fid, c)
		}
		for _, row := range rows {
			want[fid] = append(want[fid], append([]byte(nil), row...))
		}
	}
	// Reuse the segment's memory, as an unmapped and remapped file would.
	for _, fid := range []int64{fDoc, fMeta} {
		for _, row := range r.cols[fid].(*column.Scalar[[]byte]).Data {
			for i := range row {
				row[i] = 0xFF
			}
		}
	}
	for _, row := range r.cols[fSparse].(*column.SparseVector).Rows {
		for i := range row {
			row[i] = 0xFF
		}
	}
	nonNull := 0
	for fid, c := range got {
		var rows [][]byte
		switch c := c.(type) {
		case *column.Scalar[[]byte]:
			rows = c.Data
		case *column.SparseVector:
			rows = c.Rows
		}
		for i, row := range rows {
			if len(row) > 0 {
				nonNull++
			}
			if !bytes.Equal(row, want[fid][i]) {
				t.Fatalf("field %d row %d changed with the segment's memory: %x, want %x", fid, i, row, want[fid][i])
			}
		}
	}
	if nonNull == 0 {
		t.Fatal("no non-empty rows fetched: the test checks nothing")
	}
}
