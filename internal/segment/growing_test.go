package segment

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

func TestAppendValidation(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	g := newGrowingWith(t, schemapb.DataType_Int64)
	f := func(what string, mutate func(r *rows), want error) {
		t.Helper()
		r := genRows(rng, schemapb.DataType_Int64, 0, 4, 1)
		mutate(&r)
		err := g.Append(r.ts, r.cols)
		if want == nil {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return
		}
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
		if g.NumRows() != 0 {
			t.Fatalf("%s: a failed append published %d rows", what, g.NumRows())
		}
	}
	f("missing vector", func(r *rows) { delete(r.cols, fVec) }, errs.ErrFieldNotFound)
	f("unknown field", func(r *rows) { r.cols[999] = r.cols[fAge] }, errs.ErrFieldNotFound)
	f("wrong dim", func(r *rows) { r.cols[fVec] = &column.FloatVector{Dim: 8, Data: make([]float32, 32)} }, errs.ErrParameterInvalid)
	f("wrong binary dim", func(r *rows) {
		r.cols[fBin] = &column.ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 32, Data: make([]byte, 16)}
	}, errs.ErrParameterInvalid)
	f("wrong length", func(r *rows) { r.ts = r.ts[:3] }, errs.ErrParameterInvalid)
	f("wrong type", func(r *rows) {
		r.cols[fAge] = &column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: make([]int32, 4)}
	}, errs.ErrParameterInvalid)
	f("wrong Go shape", func(r *rows) {
		r.cols[fAge] = &column.Scalar[int32]{Type: schemapb.DataType_Int64, Data: make([]int32, 4)}
	}, errs.ErrParameterInvalid)
	f("null in non-nullable", func(r *rows) { r.cols[fAge].(*column.Scalar[int64]).Valid = []bool{true, false, true, true} }, errs.ErrParameterInvalid)
	f("bad sparse row", func(r *rows) { r.cols[fSparse].(*column.SparseVector).Rows[2] = []byte{1, 2, 3} }, errs.ErrParameterInvalid)
	f("wrong array element", func(r *rows) {
		r.cols[fTags].(*column.Scalar[*schemapb.ScalarField]).ElementType = schemapb.DataType_VarChar
	}, errs.ErrParameterInvalid)

	// The dynamic field and nullable fields may be left out.
	f("defaults", func(r *rows) { delete(r.cols, fMeta); delete(r.cols, fName); delete(r.cols, fDoc) }, nil)
	got, err := g.Fetch(context.Background(), []int64{0, 3}, []int64{fMeta, fName, fDoc})
	if err != nil {
		t.Fatal(err)
	}
	if m := got[fMeta].(*column.Scalar[[]byte]).Data; string(m[1]) != "{}" {
		t.Fatalf("$meta default %q", m[1])
	}
	if !got[fName].IsNull(0) || !got[fDoc].IsNull(1) {
		t.Fatal("left-out nullable fields should be null")
	}
	if err := g.Append(nil, nil); err != nil {
		t.Fatalf("empty append: %v", err)
	}
}

func TestColumnsSnapshot(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	a := genRows(rng, schemapb.DataType_Int64, 0, 10, 1)
	g := newGrowingWith(t, schemapb.DataType_Int64, a)
	ts, cols := g.Columns()
	if err := g.Append(genRows(rng, schemapb.DataType_Int64, 10, 5, 2).ts, genRows(rng, schemapb.DataType_Int64, 10, 5, 2).cols); err != nil {
		t.Fatal(err)
	}
	if len(ts) != 10 || len(cols) != len(a.cols) {
		t.Fatalf("snapshot has %d ts, %d cols", len(ts), len(cols))
	}
	for id, c := range cols {
		if c.Len() != 10 {
			t.Fatalf("field %d: %d rows after a later append", id, c.Len())
		}
	}
	// A sealed segment built from the snapshot answers like the growing one at ts 1.
	s, err := NewSealed(9, 3, g.Schema(), ts, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range []Segment{g, s} {
		if n, _ := seg.Count(context.Background(), nil, 1); n != 10 {
			t.Fatalf("count at 1: %d", n)
		}
	}
	if g.Len() != 15 || g.NumRows() != 15 {
		t.Fatalf("Len %d", g.Len())
	}
}

// TestConcurrentAppendSearch runs appends, deletes and every read path at
// once; run it with -race.
func TestConcurrentAppendSearch(t *testing.T) {
	const (
		batches = 60
		batch   = 50
	)
	rng := rand.New(rand.NewPCG(35, 36))
	data := make([]rows, batches)
	for b := range data {
		data[b] = genRows(rng, schemapb.DataType_Int64, int64(b*batch), batch, uint64(b+1))
	}
	g := newGrowingWith(t, schemapb.DataType_Int64)
	ctx := context.Background()
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		defer done.Store(true)
		for b, r := range data {
			if err := g.Append(r.ts, maps.Clone(r.cols)); err != nil {
				t.Error(err)
				return
			}
			if b%5 == 4 {
				// Delete the first key of the batch, later than its insert.
				g.Delete([]int64{int64(b * batch)}, nil, []uint64{uint64(b + 2)})
			}
		}
	})
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			filt := &ageFilter{keep: func(a int64) bool { return a%2 == 0 }}
			for !done.Load() {
				ts := uint64(rng.IntN(batches + 2))
				res, err := g.Search(ctx, &SearchRequest{FieldID: fVec, Queries: queriesFor(rng, fVec, 2), Metric: index.IP,
					Params: index.SearchParams{K: 5}, Filter: filt, MVCCTs: ts})
				if err != nil {
					t.Error(err)
					return
				}
				for i, off := range res.Offsets {
					// Key k sits at offset k and was inserted at k/batch+1.
					if off >= 0 && (res.IntPKs[i] != off || res.Timestamps[i] > ts || res.Timestamps[i] != uint64(off/batch+1)) {
						t.Errorf("hit %d: pk %d ts %d at read ts %d", off, res.IntPKs[i], res.Timestamps[i], ts)
						return
					}
				}
				q, err := g.Query(ctx, &QueryRequest{MVCCTs: ts, Limit: 10})
				if err != nil {
					t.Error(err)
					return
				}
				n, err := g.Count(ctx, nil, ts)
				if err != nil {
					t.Error(err)
					return
				}
				if int(n) < q.Len() {
					t.Errorf("count %d < query rows %d", n, q.Len())
					return
				}
				if _, err := g.Fetch(ctx, q.Offsets, []int64{fVec, fMeta, fName}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if g.NumRows() != batches*batch {
		t.Fatalf("NumRows %d", g.NumRows())
	}
	if n, _ := g.Count(ctx, nil, 1<<40); n != batches*batch-batches/5 {
		t.Fatalf("final count %d, want %d", n, batches*batch-batches/5)
	}
}

// TestGrowingVectorChunks: a growing segment keeps its fixed-width vector
// columns in chunks that never move once full, holding at most one chunk
// more than its rows, and reads back every row as appended.
func TestGrowingVectorChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	g := newGrowingWith(t, schemapb.DataType_Int64)
	var all []rows
	var firstChunk *float32
	for i := range 30 {
		r := genRows(rng, schemapb.DataType_Int64, int64(i*170), 170, uint64(i+1))
		if err := g.Append(r.ts, r.cols); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
		ch := g.cols[fVec].(*column.Chunked)
		if ch.CapRows() > g.NumRows()+growingChunkRows {
			t.Fatalf("%d rows hold room for %d", g.NumRows(), ch.CapRows())
		}
		if g.NumRows() >= growingChunkRows {
			c, _, _ := ch.Run(0)
			if p := &c.(*column.FloatVector).Data[0]; firstChunk == nil {
				firstChunk = p
			} else if p != firstChunk {
				t.Fatal("the full first chunk moved")
			}
		}
	}
	want := concat(all...)
	offs := make([]int64, g.NumRows())
	for i := range offs {
		offs[i] = int64(len(offs) - 1 - i)
	}
	got, err := g.Fetch(context.Background(), offs, []int64{fVec, fBin})
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, len(offs))
	for i, o := range offs {
		idx[i] = int(o)
	}
	for _, f := range []int64{fVec, fBin} {
		if w := want.cols[f].Take(idx); !reflect.DeepEqual(got[f], w) {
			t.Fatalf("field %d: fetched rows differ from the appended ones", f)
		}
	}
}
