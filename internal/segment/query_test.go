package segment

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
)

// shuffled returns r's rows in a random order.
func shuffled(rng *rand.Rand, r rows) rows {
	perm := rng.Perm(r.n)
	out := rows{n: r.n, ts: make([]uint64, r.n), cols: map[int64]column.Column{}}
	for j, i := range perm {
		out.ts[j] = r.ts[i]
	}
	for id, c := range r.cols {
		out.cols[id] = c.Take(perm)
	}
	return out
}

func TestQueryOrderAndLimit(t *testing.T) {
	for _, pkType := range []schemapb.DataType{schemapb.DataType_Int64, schemapb.DataType_VarChar} {
		rng := rand.New(rand.NewPCG(21, 22))
		r := shuffled(rng, genRows(rng, pkType, 0, 300, 7))
		ages := r.cols[fAge].(*column.Scalar[int64]).Data
		segs := map[string]Segment{
			"growing": newGrowingWith(t, pkType, r),
			"sealed":  newSealedWith(t, pkType, r, nil),
		}
		for name, seg := range segs {
			f := func(filter Filter, limit int, keep func(i int) bool) {
				t.Helper()
				res, err := seg.Query(context.Background(), &QueryRequest{Filter: filter, MVCCTs: 7, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				// Reference: matching keys sorted.
				var want []int64
				for i := range r.n {
					if keep(i) {
						want = append(want, int64(i))
					}
				}
				pkOf := func(off int64) string {
					if pkType == schemapb.DataType_VarChar {
						return r.cols[fPK].(*column.Scalar[string]).Data[off]
					}
					return pkString(r.cols[fPK].(*column.Scalar[int64]).Data[off])
				}
				slices.SortFunc(want, func(a, b int64) int {
					pa, pb := pkOf(a), pkOf(b)
					if pa < pb {
						return -1
					} else if pa > pb {
						return 1
					}
					return 0
				})
				if limit > 0 && len(want) > limit {
					want = want[:limit]
				}
				if !slices.Equal(res.Offsets, want) {
					t.Fatalf("%s %s limit %d: offsets %v, want %v", name, pkType, limit, res.Offsets, want)
				}
				for i, off := range res.Offsets {
					if pkType == schemapb.DataType_VarChar && res.StrPKs[i] != pkOf(off) ||
						pkType == schemapb.DataType_Int64 && pkString(res.IntPKs[i]) != pkOf(off) {
						t.Fatalf("%s: pk of slot %d is wrong", name, i)
					}
				}
			}
			all := func(int) bool { return true }
			f(nil, 0, all)
			f(nil, 5, all)
			f(nil, 1000, all)
			f(&ageFilter{keep: func(a int64) bool { return a%3 == 0 }}, 0, func(i int) bool { return ages[i]%3 == 0 })
			f(&ageFilter{keep: func(a int64) bool { return a%3 == 0 }}, 7, func(i int) bool { return ages[i]%3 == 0 })
			f(&ageFilter{keep: func(a int64) bool { return false }}, 7, func(i int) bool { return false })
		}
	}
}

func TestPrimaryKeyFilterUsesIndex(t *testing.T) {
	for _, pkType := range []schemapb.DataType{schemapb.DataType_Int64, schemapb.DataType_VarChar} {
		rng := rand.New(rand.NewPCG(23, 24))
		r := genRows(rng, pkType, 100, 50, 3)
		for _, seg := range []Segment{newGrowingWith(t, pkType, r), newSealedWith(t, pkType, r, nil)} {
			filt := &pkFilter{ints: []int64{120, 105, 999}, strs: []string{pkString(120), pkString(105), "nope"}}
			res, err := seg.Query(context.Background(), &QueryRequest{Filter: filt, MVCCTs: 3})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Offsets, []int64{5, 20}) {
				t.Fatalf("%s: pk in [...] -> %v, want [5 20]", pkType, res.Offsets)
			}
			if n, _ := seg.Count(context.Background(), filt, 2); n != 0 {
				t.Fatalf("count before insert ts: %d", n)
			}
			if filt.evals.Load() != 0 {
				t.Fatal("a primary-key filter was evaluated instead of using the PK index")
			}
		}
	}
}

func TestCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	r := genRows(rng, schemapb.DataType_Int64, 0, 1000, 3)
	ages := r.cols[fAge].(*column.Scalar[int64]).Data
	eachKind(t, r, func(t *testing.T, seg Segment) {
		want := 0
		for _, a := range ages {
			if a < 30 {
				want++
			}
		}
		n, err := seg.Count(context.Background(), &ageFilter{keep: func(a int64) bool { return a < 30 }}, 3)
		if err != nil || int(n) != want {
			t.Fatalf("count: %d, %v; want %d", n, err, want)
		}
		seg.Delete([]int64{0, 1, 2, 3}, nil, []uint64{4, 4, 4, 4})
		if n, _ := seg.Count(context.Background(), nil, 4); n != 996 {
			t.Fatalf("count after 4 deletes: %d", n)
		}
		if n, _ := seg.Count(context.Background(), nil, 3); n != 1000 {
			t.Fatalf("count before the deletes: %d", n)
		}
	})
}

func TestPruning(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	r := genRows(rng, schemapb.DataType_Int64, 0, 100, 3)
	s := newSealedWith(t, schemapb.DataType_Int64, r, nil)
	filt := &prunedFilter{ageFilter: ageFilter{keep: func(int64) bool { return true }}}
	if n, _ := s.Count(context.Background(), filt, 3); n != 100 || filt.evals.Load() != 1 {
		t.Fatalf("no stats: count %d evals %d", n, filt.evals.Load())
	}
	s.SetStats(fAge, int64(0), int64(99))
	if n, _ := s.Count(context.Background(), filt, 3); n != 0 || filt.evals.Load() != 1 {
		t.Fatalf("pruned: count %d evals %d, want 0 and no evaluation", n, filt.evals.Load())
	}
	filt.mayMatch = true
	if n, _ := s.Count(context.Background(), filt, 3); n != 100 {
		t.Fatalf("may match: count %d", n)
	}
}

func TestFetch(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	r := genRows(rng, schemapb.DataType_Int64, 0, 40, 9)
	ids := []int64{fPK, fAge, fName, fScore, fFlag, fTags, fDoc, fMeta, fI8, fI16, fI32, fF32, fVec, fBin, fSparse, fF16, fBF16, fI8Vec}
	offsets := []int64{39, 0, 17, 17, 3}
	idx := []int{39, 0, 17, 17, 3}
	eachKind(t, r, func(t *testing.T, seg Segment) {
		got, err := seg.Fetch(context.Background(), offsets, append(ids, TimestampFieldID))
		if err != nil {
			t.Fatal(err)
		}
		schema := seg.Schema()
		for _, id := range ids {
			var fs *schemapb.FieldSchema
			for _, f := range schema.GetFields() {
				if f.GetFieldID() == id {
					fs = f
				}
			}
			want := column.ToFieldData(r.cols[id].Take(idx), fs)
			have := column.ToFieldData(got[id], fs)
			if want.String() != have.String() {
				t.Fatalf("field %d: got %v\nwant %v", id, have, want)
			}
		}
		ts := got[TimestampFieldID].(*column.Scalar[int64]).Data
		if len(ts) != 5 || ts[0] != 9 {
			t.Fatalf("timestamps %v", ts)
		}
		if _, err := seg.Fetch(context.Background(), []int64{40}, ids); !errors.Is(err, errs.ErrParameterInvalid) {
			t.Fatalf("offset out of range: %v", err)
		}
		if _, err := seg.Fetch(context.Background(), []int64{1}, []int64{555}); !errors.Is(err, errs.ErrFieldNotFound) {
			t.Fatalf("unknown field: %v", err)
		}
	})
}

func TestQueryDuplicatesWithLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const n = 400
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 0)
	keys := r.cols[fPK].(*column.Scalar[int64]).Data
	for i := range n {
		keys[i] = int64(rng.IntN(60)) // many duplicates
		r.ts[i] = uint64(1 + rng.IntN(5))
	}
	eachKind(t, r, func(t *testing.T, seg Segment) {
		for _, limit := range []int{0, 1, 3, 10, 59, 60, 100} {
			res, err := seg.Query(context.Background(), &QueryRequest{MVCCTs: 4, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			// Reference: per key the visible row with max (ts, offset).
			best := map[int64]int{}
			for i := range n {
				if r.ts[i] > 4 {
					continue
				}
				if b, ok := best[keys[i]]; !ok || r.ts[i] >= r.ts[b] {
					best[keys[i]] = i
				}
			}
			var ks []int64
			for k := range best {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			if limit > 0 && len(ks) > limit {
				ks = ks[:limit]
			}
			if len(res.Offsets) != len(ks) {
				t.Fatalf("limit %d: %d rows, want %d", limit, len(res.Offsets), len(ks))
			}
			for i, k := range ks {
				if res.IntPKs[i] != k || res.Offsets[i] != int64(best[k]) {
					t.Fatalf("limit %d slot %d: pk %d off %d, want pk %d off %d", limit, i, res.IntPKs[i], res.Offsets[i], k, best[k])
				}
			}
		}
	})
}
