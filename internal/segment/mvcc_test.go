package segment

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/index"
)

// visiblePKs lists the keys a query at ts returns.
func visiblePKs(t *testing.T, seg Segment, ts uint64) []int64 {
	t.Helper()
	res, err := seg.Query(context.Background(), &QueryRequest{MVCCTs: ts})
	if err != nil {
		t.Fatal(err)
	}
	n, err := seg.Count(context.Background(), nil, ts)
	if err != nil {
		t.Fatal(err)
	}
	if int(n) != res.Len() {
		t.Fatalf("count %d, query %d rows at ts %d", n, res.Len(), ts)
	}
	// Search sees the same rows.
	sr, err := seg.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: index.Dataset{Dim: testDim, Float: make([]float32, testDim)},
		Metric: index.L2, Params: index.SearchParams{K: 100}, MVCCTs: ts})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for i, off := range sr.Offsets {
		if off >= 0 {
			got = append(got, sr.IntPKs[i])
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, res.IntPKs) {
		t.Fatalf("ts %d: search sees %v, query %v", ts, got, res.IntPKs)
	}
	return res.IntPKs
}

func eachKind(t *testing.T, r rows, fn func(t *testing.T, seg Segment)) {
	t.Run("growing", func(t *testing.T) { fn(t, newGrowingWith(t, schemapb.DataType_Int64, r)) })
	t.Run("sealed", func(t *testing.T) { fn(t, newSealedWith(t, schemapb.DataType_Int64, r, nil)) })
}

func TestMVCCInsertVisibility(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	r := concat(genRows(rng, schemapb.DataType_Int64, 1, 2, 10), genRows(rng, schemapb.DataType_Int64, 3, 2, 20), genRows(rng, schemapb.DataType_Int64, 5, 1, 30))
	eachKind(t, r, func(t *testing.T, seg Segment) {
		f := func(ts uint64, want ...int64) {
			t.Helper()
			if got := visiblePKs(t, seg, ts); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("ts %d: %v, want %v", ts, got, want)
			}
		}
		f(9)
		f(10, 1, 2)
		f(19, 1, 2)
		f(20, 1, 2, 3, 4)
		f(30, 1, 2, 3, 4, 5)
		f(1<<62, 1, 2, 3, 4, 5)
	})
}

func TestDeleteVisibility(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	r := concat(genRows(rng, schemapb.DataType_Int64, 1, 3, 10), genRows(rng, schemapb.DataType_Int64, 2, 1, 30))
	// Rows: pk1@10, pk2@10, pk3@10, pk2@30 (the upsert's new row).
	eachKind(t, r, func(t *testing.T, seg Segment) {
		f := func(ts uint64, want ...int64) {
			t.Helper()
			if got := visiblePKs(t, seg, ts); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("ts %d: %v, want %v", ts, got, want)
			}
		}
		// A delete at the row's own timestamp (or earlier) hits nothing.
		if hit := seg.Delete([]int64{1}, nil, []uint64{10}); hit != 0 {
			t.Fatalf("delete at insert ts hit %d rows", hit)
		}
		if hit := seg.Delete([]int64{1}, nil, []uint64{20}); hit != 1 {
			t.Fatalf("delete pk1@20 hit %d rows, want 1", hit)
		}
		// Upsert of pk2 at 30: delete and new insert share the timestamp.
		if hit := seg.Delete([]int64{2}, nil, []uint64{30}); hit != 1 {
			t.Fatalf("upsert delete hit %d rows, want 1 (the old row only)", hit)
		}
		// Unknown key.
		if hit := seg.Delete([]int64{99}, nil, []uint64{40}); hit != 0 {
			t.Fatalf("delete of unknown key hit %d", hit)
		}
		f(19, 1, 2, 3)
		f(20, 2, 3)
		f(29, 2, 3)
		f(30, 2, 3) // the new pk2 row
		res, err := seg.Query(context.Background(), &QueryRequest{MVCCTs: 30})
		if err != nil {
			t.Fatal(err)
		}
		if res.Timestamps[0] != 30 || res.Offsets[0] != 3 {
			t.Fatalf("pk2 at ts 30: offset %d ts %d, want the upserted row 3@30", res.Offsets[0], res.Timestamps[0])
		}
		// A later delete of an already deleted row changes nothing.
		if hit := seg.Delete([]int64{1}, nil, []uint64{50}); hit != 0 {
			t.Fatalf("second delete hit %d", hit)
		}
		f(19, 1, 2, 3)
		// An earlier delete (out of order) moves the row's deletion earlier.
		seg.Delete([]int64{1}, nil, []uint64{15})
		f(15, 2, 3)
		f(14, 1, 2, 3)
		if seg.NumDeleted() != 2 || seg.NumRows() != 4 {
			t.Fatalf("NumDeleted %d NumRows %d", seg.NumDeleted(), seg.NumRows())
		}
	})
}

func TestDuplicatePKs(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	// pk5 three times: @10, @20, @20; pk6 once.
	r := concat(genRows(rng, schemapb.DataType_Int64, 5, 2, 10), genRows(rng, schemapb.DataType_Int64, 5, 1, 20), genRows(rng, schemapb.DataType_Int64, 5, 1, 20))
	eachKind(t, r, func(t *testing.T, seg Segment) {
		ctx := context.Background()
		res, err := seg.Query(ctx, &QueryRequest{MVCCTs: 100})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.IntPKs, []int64{5, 6}) || res.Offsets[0] != 3 || res.Timestamps[0] != 20 {
			t.Fatalf("query: %+v, want pk5 -> row 3 (latest ts, last appended)", res)
		}
		if n, _ := seg.Count(ctx, nil, 100); n != 4 {
			t.Fatalf("count %d, want 4 physical rows", n)
		}
		if n, _ := seg.Count(ctx, &pkFilter{ints: []int64{5}}, 100); n != 3 {
			t.Fatalf("count pk in [5]: %d, want 3", n)
		}
		if hit := seg.Delete([]int64{5}, nil, []uint64{20}); hit != 1 {
			t.Fatalf("delete pk5@20 hit %d, want 1 (only the row at 10)", hit)
		}
		if hit := seg.Delete([]int64{5}, nil, []uint64{25}); hit != 2 {
			t.Fatalf("delete pk5@25 hit %d, want 2", hit)
		}
		if got := visiblePKs(t, seg, 100); !slices.Equal(got, []int64{6}) {
			t.Fatalf("after deletes: %v", got)
		}
	})
}

func TestDeleteStringPKs(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	r := genRows(rng, schemapb.DataType_VarChar, 0, 10, 5)
	for _, seg := range []Segment{newGrowingWith(t, schemapb.DataType_VarChar, r), newSealedWith(t, schemapb.DataType_VarChar, r, nil)} {
		if hit := seg.Delete(nil, []string{pkString(3), pkString(7), "absent"}, []uint64{6, 5, 6}); hit != 1 {
			t.Fatalf("hit %d, want 1 (pk 7's delete is not after its insert)", hit)
		}
		res, err := seg.Query(context.Background(), &QueryRequest{MVCCTs: 6, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{pkString(0), pkString(1), pkString(2), pkString(4), pkString(5)}
		if !slices.Equal(res.StrPKs, want) || res.IntPKs != nil {
			t.Fatalf("query: %v", res.StrPKs)
		}
		sr, err := seg.Search(context.Background(), &SearchRequest{FieldID: fVec, Queries: queriesFor(rng, fVec, 1), Params: index.SearchParams{K: 20}, MVCCTs: 6})
		if err != nil {
			t.Fatal(err)
		}
		for i, off := range sr.Offsets {
			if (off >= 0) != (sr.StrPKs[i] != "") || sr.StrPKs[i] == pkString(3) {
				t.Fatalf("slot %d: offset %d pk %q", i, off, sr.StrPKs[i])
			}
		}
	}
}

func TestCancelledContext(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	g := newGrowingWith(t, schemapb.DataType_Int64, genRows(rng, schemapb.DataType_Int64, 0, 10, 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Search(ctx, &SearchRequest{FieldID: fVec, Queries: queriesFor(rng, fVec, 1), Params: index.SearchParams{K: 1}, MVCCTs: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("search: %v", err)
	}
	if _, err := g.Query(ctx, &QueryRequest{MVCCTs: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("query: %v", err)
	}
	if _, err := g.Count(ctx, nil, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("count: %v", err)
	}
}
