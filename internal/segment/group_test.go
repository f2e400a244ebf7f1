package segment

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

// groupRef groups a full ungrouped ranking (every allowed row, best first)
// the way Milvus does: groups in order of their best hit, up to size hits
// each, k groups.
func groupRef(ranking []int64, valueOf func(off int64) any, k, size int) [][]int64 {
	var groups [][]int64
	pos := map[any]int{}
	for _, off := range ranking {
		if off < 0 {
			break
		}
		v := valueOf(off)
		g, ok := pos[v]
		if !ok {
			g = len(groups)
			pos[v] = g
			groups = append(groups, nil)
		}
		if len(groups[g]) < size {
			groups[g] = append(groups[g], off)
		}
	}
	if len(groups) > k {
		groups = groups[:k]
	}
	return groups
}

func TestGroupBySearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	const n = 800
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 1)
	ages := r.cols[fAge].(*column.Scalar[int64]).Data
	flags := r.cols[fFlag].(*column.Scalar[bool]).Data
	names := r.cols[fName].(*column.Scalar[string])
	valueOf := map[int64]func(off int64) any{
		fAge:  func(off int64) any { return ages[off] % 7 },
		fFlag: func(off int64) any { return flags[off] },
		fName: func(off int64) any {
			if names.IsNull(int(off)) {
				return nil
			}
			return names.Data[off]
		},
	}
	// Group by age%7: rewrite ages so the field has 7 values.
	for i := range ages {
		ages[i] %= 7
	}
	g := newGrowingWith(t, schemapb.DataType_Int64, r)
	ctx := context.Background()
	f := func(groupField int64, m index.Metric, k, size int) {
		t.Helper()
		qs := queriesFor(rng, fVec, 2)
		filt := &ageFilter{keep: func(a int64) bool { return a != 3 }}
		full, err := g.Search(ctx, &SearchRequest{FieldID: fVec, Queries: qs, Metric: m, Params: index.SearchParams{K: n}, Filter: filt, MVCCTs: 1})
		if err != nil {
			t.Fatal(err)
		}
		res, err := g.Search(ctx, &SearchRequest{FieldID: fVec, Queries: qs, Metric: m, Params: index.SearchParams{K: k}, Filter: filt, MVCCTs: 1,
			GroupBy: &GroupBy{FieldID: groupField, Size: size}})
		if err != nil {
			t.Fatal(err)
		}
		if res.K != k*size || res.GroupSize != size {
			t.Fatalf("K %d GroupSize %d", res.K, res.GroupSize)
		}
		for q := range 2 {
			want := groupRef(full.Offsets[q*n:(q+1)*n], valueOf[groupField], k, size)
			for gi := range k {
				for j := range size {
					slot := q*res.K + gi*size + j
					var wantOff int64 = -1
					if gi < len(want) && j < len(want[gi]) {
						wantOff = want[gi][j]
					}
					if res.Offsets[slot] != wantOff {
						t.Fatalf("field %d %s k%d size%d q%d group %d hit %d: offset %d, want %d", groupField, m, k, size, q, gi, j, res.Offsets[slot], wantOff)
					}
					if wantOff < 0 {
						continue
					}
					if gv, want := res.GroupValues[slot], valueOf[groupField](wantOff); gv != want {
						t.Fatalf("group value %v (%T), want %v (%T)", gv, gv, want, want)
					}
				}
			}
		}
	}
	f(fAge, index.L2, 3, 2)
	f(fAge, index.IP, 10, 3) // more groups asked than exist (6 after the filter)
	f(fFlag, index.Cosine, 2, 5)
	f(fName, index.L2, 5, 1) // nullable: null is a group of its own

	_, err := g.Search(ctx, &SearchRequest{FieldID: fVec, Queries: queriesFor(rng, fVec, 1), Params: index.SearchParams{K: 3}, MVCCTs: 1,
		GroupBy: &GroupBy{FieldID: fScore}})
	if !errors.Is(err, errs.ErrParameterInvalid) {
		t.Fatalf("group by a Double field: %v", err)
	}
}

// TestGroupBySearchIndex: grouping through an index finds the same groups
// as grouping a scan.
func TestGroupBySearchIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	const n = 3000
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 1)
	ages := r.cols[fAge].(*column.Scalar[int64]).Data
	for i := range ages {
		ages[i] %= 40
	}
	vec := r.cols[fVec].(*column.FloatVector)
	idx, err := index.New(index.Spec{Type: index.TypeFlat, Metric: index.L2, Dim: testDim})
	if err != nil {
		t.Skipf("FLAT: %v", err)
	}
	if err := idx.Build(context.Background(), index.Dataset{Dim: testDim, Float: vec.Data}); err != nil {
		t.Fatal(err)
	}
	s := newSealedWith(t, schemapb.DataType_Int64, r, map[int64]index.Index{fVec: idx})
	s.indexMinAllowed = 0
	g := newGrowingWith(t, schemapb.DataType_Int64, r)
	qs := queriesFor(rng, fVec, 3)
	req := &SearchRequest{FieldID: fVec, Queries: qs, Params: index.SearchParams{K: 8}, MVCCTs: 1, GroupBy: &GroupBy{FieldID: fAge, Size: 4}}
	got, err := s.Search(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want, err := g.Search(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Offsets {
		if (got.Offsets[i] < 0) != (want.Offsets[i] < 0) || math.Abs(float64(got.Scores[i]-want.Scores[i])) > 1e-4 || got.GroupValues[i] != want.GroupValues[i] {
			t.Fatalf("slot %d: index %d/%g/%v, scan %d/%g/%v", i, got.Offsets[i], got.Scores[i], got.GroupValues[i], want.Offsets[i], want.Scores[i], want.GroupValues[i])
		}
		if got.Offsets[i] >= 0 && ages[got.Offsets[i]] != got.GroupValues[i].(int64) {
			t.Fatalf("slot %d: row %d has age %d, group %v", i, got.Offsets[i], ages[got.Offsets[i]], got.GroupValues[i])
		}
	}
}

func TestPickGroups(t *testing.T) {
	// Hits best first with their group values.
	vals := []any{int64(1), "a", int64(1), nil, "a", int64(1), int64(2), nil, "a"}
	hits := make([]int, len(vals)) // hit i is index i
	for i := range hits {
		hits[i] = i
	}
	val := func(i int) any { return vals[i] }
	for _, tc := range []struct {
		skip, k, size int
		want          []int
	}{
		{0, 2, 2, []int{0, 2, 1, 4}}, // groups 1 and "a", two hits each
		{1, 2, 1, []int{1, 3}},       // offset one group: "a" and null
		{0, 10, 5, []int{0, 2, 5, 1, 4, 8, 3, 7, 6}},
		{4, 2, 1, nil},      // past the last group
		{0, 1, 0, []int{0}}, // size 0 means 1
	} {
		got := PickGroups(hits, val, tc.skip, tc.k, tc.size)
		if len(got) != len(tc.want) {
			t.Fatalf("skip=%d k=%d size=%d: %v, want %v", tc.skip, tc.k, tc.size, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("skip=%d k=%d size=%d: %v, want %v", tc.skip, tc.k, tc.size, got, tc.want)
			}
		}
	}
}
