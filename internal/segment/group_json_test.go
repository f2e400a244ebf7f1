package segment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

// jsonGroupDocs rewrites the dynamic field's documents so that key "k"
// holds, row by row, small integers, integers that wrap as Int8, strings,
// bools, floats, objects, or nothing; it returns each row's "k" literal
// ("" when absent).
func jsonGroupDocs(rng *rand.Rand, meta *column.Scalar[[]byte]) []string {
	lits := make([]string, len(meta.Data))
	for i := range meta.Data {
		var lit string
		switch rng.IntN(8) {
		case 0, 1:
			lit = fmt.Sprint(rng.IntN(6))
		case 2:
			lit = fmt.Sprint(256 + rng.IntN(3)) // Int8: 0, 1, 2 again
		case 3:
			lit = fmt.Sprintf(`"s%d"`, rng.IntN(4))
		case 4:
			lit = fmt.Sprint(rng.IntN(2) == 0)
		case 5:
			lit = fmt.Sprintf("%d.5", rng.IntN(3))
		case 6:
			lit = fmt.Sprintf(`{"a":%d}`, rng.IntN(2))
		}
		lits[i] = lit
		if lit == "" {
			meta.Data[i] = fmt.Appendf(nil, `{"other":%d}`, i%3)
		} else {
			meta.Data[i] = fmt.Appendf(nil, `{"other":%d,"k":%s}`, i%3, lit)
		}
	}
	return lits
}

// jsonGroupOracle is the group value Milvus's segcore reads from a row
// whose "k" literal is lit, for json_type t (nil: the null group),
// decoded with encoding/json rather than the scanner under test.
func jsonGroupOracle(lit string, t schemapb.DataType) any {
	if lit == "" {
		return nil
	}
	var v any
	d := json.NewDecoder(strings.NewReader(lit))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		panic(err)
	}
	switch t {
	case schemapb.DataType_None:
		return lit
	case schemapb.DataType_Bool:
		if b, ok := v.(bool); ok {
			return b
		}
	case schemapb.DataType_VarChar:
		if s, ok := v.(string); ok {
			return s
		}
	case schemapb.DataType_Int8, schemapb.DataType_Int64:
		n, ok := v.(json.Number)
		if !ok {
			return nil
		}
		i, err := n.Int64()
		if err != nil {
			return nil // a float
		}
		if t == schemapb.DataType_Int8 {
			return int64(int8(i))
		}
		return i
	}
	return nil
}

// TestGroupBySearchJSON: grouping by a key of the dynamic field, read as
// each json_type, on growing and sealed segments (scan and index), finds
// the groups of a full ranking grouped by the oracle's values.
func TestGroupBySearchJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	const n = 900
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 1)
	lits := jsonGroupDocs(rng, r.cols[fMeta].(*column.Scalar[[]byte]))
	idx, err := index.New(index.Spec{Type: index.TypeFlat, Metric: index.L2, Dim: testDim})
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Build(context.Background(), index.Dataset{Dim: testDim, Float: r.cols[fVec].(*column.FloatVector).Data}); err != nil {
		t.Fatal(err)
	}
	indexed := newSealedWith(t, schemapb.DataType_Int64, r, map[int64]index.Index{fVec: idx})
	indexed.indexMinAllowed = 0
	segs := map[string]Segment{
		"growing": newGrowingWith(t, schemapb.DataType_Int64, r),
		"sealed":  newSealedWith(t, schemapb.DataType_Int64, r, nil),
		"indexed": indexed,
	}
	ctx := context.Background()
	qs := queriesFor(rng, fVec, 2)
	for name, s := range segs {
		full, err := s.Search(ctx, &SearchRequest{FieldID: fVec, Queries: qs, Metric: index.L2, Params: index.SearchParams{K: n}, MVCCTs: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, jt := range []schemapb.DataType{schemapb.DataType_None, schemapb.DataType_Int64, schemapb.DataType_Int8,
			schemapb.DataType_VarChar, schemapb.DataType_Bool} {
			const k, size = 6, 2
			res, err := s.Search(ctx, &SearchRequest{FieldID: fVec, Queries: qs, Metric: index.L2, Params: index.SearchParams{K: k}, MVCCTs: 1,
				GroupBy: &GroupBy{FieldID: fMeta, Size: size, JSONPath: []string{"k"}, JSONType: jt}})
			if err != nil {
				t.Fatalf("%s %s: %v", name, jt, err)
			}
			valueOf := func(off int64) any { return jsonGroupOracle(lits[off], jt) }
			for q := range 2 {
				want := groupRef(full.Offsets[q*n:(q+1)*n], valueOf, k, size)
				for gi := range k {
					for j := range size {
						slot := q*res.K + gi*size + j
						var wantOff int64 = -1
						if gi < len(want) && j < len(want[gi]) {
							wantOff = want[gi][j]
						}
						if res.Offsets[slot] != wantOff {
							t.Fatalf("%s %s q%d group %d hit %d: offset %d, want %d", name, jt, q, gi, j, res.Offsets[slot], wantOff)
						}
						if wantOff >= 0 && res.GroupValues[slot] != valueOf(wantOff) {
							t.Fatalf("%s %s: group value %v (%T), want %v", name, jt, res.GroupValues[slot], res.GroupValues[slot], valueOf(wantOff))
						}
					}
				}
			}
		}
	}
}

// TestGroupBySearchJSONPaths: a JSON field's path (nullable rows group as
// null), the whole document, strict_cast and an unsupported json_type.
func TestGroupBySearchJSONPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(93, 94))
	const n = 300
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 1)
	docs := r.cols[fDoc].(*column.Scalar[[]byte])
	metas := r.cols[fMeta].(*column.Scalar[[]byte]).Data
	g := newGrowingWith(t, schemapb.DataType_Int64, r)
	ctx := context.Background()
	search := func(gb *GroupBy, k int) (*SearchResult, error) {
		return g.Search(ctx, &SearchRequest{FieldID: fVec, Queries: queriesFor(rng, fVec, 1), Metric: index.L2, Params: index.SearchParams{K: k}, MVCCTs: 1, GroupBy: gb})
	}

	res, err := search(&GroupBy{FieldID: fDoc, JSONPath: []string{"x"}, JSONType: schemapb.DataType_Int64}, 60)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[any]bool{}
	for i, off := range res.Offsets {
		if off < 0 {
			continue
		}
		var want any
		if docs.Valid[off] {
			var d struct{ X int64 }
			if err := json.Unmarshal(docs.Data[off], &d); err != nil {
				t.Fatal(err)
			}
			want = d.X
		}
		if res.GroupValues[i] != want || seen[want] {
			t.Fatalf("slot %d row %d: group %v, want %v (seen before: %v)", i, off, res.GroupValues[i], want, seen[want])
		}
		seen[want] = true
	}
	if !seen[nil] {
		t.Fatal("no null group for the null documents")
	}

	// No path: the whole document's text, one group per distinct document.
	res, err = search(&GroupBy{FieldID: fMeta}, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, off := range res.Offsets {
		if off >= 0 && res.GroupValues[i] != string(metas[off]) {
			t.Fatalf("slot %d: group %v, want the document %s", i, res.GroupValues[i], metas[off])
		}
	}

	// strict_cast: the documents have no "k", so the first row fails.
	_, err = search(&GroupBy{FieldID: fMeta, JSONPath: []string{"k"}, JSONType: schemapb.DataType_Int64, StrictCast: true}, 3)
	if err == nil || !strings.Contains(err.Error(), "failed to cast json value to int64_t, wrong json data inner type") {
		t.Fatalf("strict cast of an absent path: %v", err)
	}
	if _, err := search(&GroupBy{FieldID: fMeta, JSONPath: []string{"dyn"}, JSONType: schemapb.DataType_Int64, StrictCast: true}, 3); err != nil {
		t.Fatalf("strict cast of integers: %v", err)
	}
	_, err = search(&GroupBy{FieldID: fMeta, JSONPath: []string{"dyn"}, JSONType: schemapb.DataType_Double}, 3)
	if !errors.Is(err, errs.ErrParameterInvalid) || !strings.Contains(err.Error(), "unsupported data type JSON for group by operator") {
		t.Fatalf("json_type Double: %v", err)
	}
}
