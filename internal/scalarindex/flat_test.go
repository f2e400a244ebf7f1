package scalarindex_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/scalarindex"
)

// The JSON flat index (json_cast_type JSON) against the scan: random
// nested documents, random filters on paths under the index's prefix.

// flatBatch offers flat indexes as the segment does: a flat index on a
// prefix of the filter's path answers through Sub.
type flatBatch struct {
	*batch
	idx  []*scalarindex.Index
	used *int
}

func (b *flatBatch) ScalarIndex(fieldID int64, path []string) expr.ScalarIndex {
	for _, x := range b.idx {
		p := x.Path()
		if x.FieldID() != fieldID || path == nil || len(p) > len(path) || !slices.Equal(p, path[:len(p)]) {
			continue
		}
		if sub := x.Sub(path[len(p):]); sub != nil {
			return &countingAny{sub, b.used}
		}
	}
	return nil
}

type countingAny struct {
	expr.ScalarIndex
	used *int
}

func (c *countingAny) Rows(lo, hi expr.Bound, out *bitset.Set) {
	*c.used++
	c.ScalarIndex.Rows(lo, hi, out)
}

func (c *countingAny) RowsPrefix(p string, out *bitset.Set) {
	*c.used++
	c.ScalarIndex.RowsPrefix(p, out)
}

func flatScalar(r *rand.Rand) string {
	switch r.IntN(7) {
	case 0:
		return strconv.Quote(randWord(r))
	case 1:
		return strconv.FormatBool(r.IntN(2) == 0)
	case 2:
		return "null"
	case 3:
		return strconv.FormatFloat(float64(r.IntN(20))/4-1, 'g', -1, 64)
	case 4:
		return strconv.Quote(strconv.Itoa(r.IntN(5)))
	}
	return strconv.Itoa(r.IntN(12) - 3)
}

var flatKeys = []string{"a", "b", "c", "0", "x/y", "t~"}

func flatValue(r *rand.Rand, depth int) string {
	switch n := r.IntN(6); {
	case depth > 0 && n == 0:
		var parts []string
		for range r.IntN(4) {
			parts = append(parts, strconv.Quote(flatKeys[r.IntN(len(flatKeys))])+": "+flatValue(r, depth-1))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case depth > 0 && n == 1:
		var parts []string
		for range r.IntN(4) {
			parts = append(parts, flatValue(r, depth-1))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return flatScalar(r)
}

func flatDoc(r *rand.Rand) []byte {
	var parts []string
	for range 1 + r.IntN(4) {
		parts = append(parts, strconv.Quote(flatKeys[r.IntN(len(flatKeys))])+": "+flatValue(r, 3))
	}
	if r.IntN(30) == 0 {
		return []byte(flatValue(r, 2))
	}
	return []byte("{" + strings.Join(parts, ", ") + "}")
}

func flatPathExpr(r *rand.Rand) string {
	p := "j"
	for range 1 + r.IntN(3) {
		p += "[" + strconv.Quote(flatKeys[r.IntN(len(flatKeys))]) + "]"
	}
	if r.IntN(8) == 0 {
		p += "[" + strconv.Itoa(r.IntN(2)) + "]"
	}
	return p
}

func flatLeaf(r *rand.Rand) string {
	p := flatPathExpr(r)
	ops := []string{"==", "!=", "<", "<=", ">", ">="}
	num := func() string { return strconv.FormatFloat(float64(r.IntN(20))/4-1, 'g', -1, 64) }
	switch r.IntN(8) {
	case 0, 1:
		return p + " " + ops[r.IntN(len(ops))] + " " + num()
	case 2:
		return p + " " + ops[r.IntN(len(ops))] + " " + strconv.Quote(randWord(r))
	case 3:
		return p + " " + []string{"==", "!="}[r.IntN(2)] + " " + []string{"true", "false"}[r.IntN(2)]
	case 4:
		return p + " " + []string{"in", "not in"}[r.IntN(2)] + " [" + num() + ", " + strconv.Quote(randWord(r)) + ", true]"
	case 5:
		return num() + " <= " + p + " < " + num()
	case 6:
		return p + " like " + strconv.Quote([]string{randWord(r) + "%", randWord(r), "%" + randWord(r)}[r.IntN(3)])
	}
	return []string{"json_contains", "json_contains_any", "json_contains_all"}[r.IntN(3)] + "(" + p + ", [" + num() + ", " + strconv.Quote(randWord(r)) + "])"
}

func buildFlat(t *testing.T, b *batch, path string) *scalarindex.Index {
	t.Helper()
	x, err := scalarindex.Build(context.Background(), map[string]string{"index_type": "INVERTED", "json_path": path, "json_cast_type": "json"}, b.cols[fJSON])
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	y, err := scalarindex.Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !y.Flat() || y.FlatPaths() != x.FlatPaths() {
		t.Fatalf("flat index of %d paths loads as %d", x.FlatPaths(), y.FlatPaths())
	}
	y.SetFieldID(fJSON)
	return y
}

func TestFlatIndexEqualsScan(t *testing.T) {
	schema := oracleSchema()
	ctx := context.Background()
	used, evaluated := 0, 0
	for seed := range uint64(5) {
		r := rand.New(rand.NewPCG(seed, 13))
		n := []int{1, 200, 3000, 6000, 700}[seed]
		plain := randBatch(r, n)
		j := plain.cols[fJSON].(*column.Scalar[[]byte])
		for i := range j.Data {
			j.Data[i] = flatDoc(r)
		}
		prefix := []string{"", "/a", "/b/c", ""}[seed%4]
		fb := &flatBatch{batch: plain, idx: []*scalarindex.Index{buildFlat(t, plain, prefix)}, used: &used}
		for range 500 {
			text := flatLeaf(r)
			switch r.IntN(4) {
			case 0:
				text = "(" + text + ") and (" + flatLeaf(r) + ")"
			case 1:
				text = "not (" + text + ") or (" + flatLeaf(r) + ")"
			}
			e, err := expr.Parse(schema, text, nil)
			if err != nil {
				continue // an empty range the generator wrote
			}
			evaluated++
			want, err := e.Eval(ctx, plain)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(ctx, fb)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(want.Words(), got.Words()) {
				for i := range n {
					if want.Test(i) != got.Test(i) {
						t.Fatalf("seed %d prefix %q: %s: row %d (%s): scan %v, indexed %v", seed, prefix, text, i, j.Data[i], want.Test(i), got.Test(i))
					}
				}
			}
		}
	}
	if used < evaluated/5 {
		t.Fatalf("%d filters, flat index read %d times", evaluated, used)
	}
	t.Logf("%d filters, %d index reads", evaluated, used)
}

func TestFlatIndexServes(t *testing.T) {
	docs := []string{`{"a": {"b": 3, "c": "x"}}`, `{"a": {"b": "3"}}`, `{"a": [1, {"b": 3}]}`, `{"a": {"b": [3, 4]}}`, `{"z": 1}`}
	j := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON}
	for _, d := range docs {
		j.Data = append(j.Data, []byte(d))
	}
	plain := &batch{n: len(docs), cols: map[int64]column.Column{fJSON: j}}
	x := buildFlat(t, plain, "")
	if x.Sub([]string{"a", "0"}) != nil || x.Sub([]string{"a", "1", "b"}) != nil {
		t.Error("a decimal key (maybe an array index) must not be served")
	}
	used := 0
	fb := &flatBatch{batch: plain, idx: []*scalarindex.Index{x}, used: &used}
	for _, c := range []struct {
		filter string
		want   int
		index  bool
	}{
		{`j["a"]["b"] == 3`, 1, true}, {`j["a"]["b"] == "3"`, 1, true}, {`j["a"]["c"] like "x%"`, 1, true},
		{`json_contains(j["a"]["b"], 4)`, 1, true}, {`j["z"] > 0`, 1, true}, {`j["a"][1]["b"] == 3`, 1, false},
	} {
		e, err := expr.Parse(oracleSchema(), c.filter, nil)
		if err != nil {
			t.Fatal(err)
		}
		before := used
		res, err := e.Eval(context.Background(), fb)
		if err != nil {
			t.Fatal(err)
		}
		if res.Count() != c.want || (used > before) != c.index {
			t.Errorf("%s: %d rows (want %d), index read %v (want %v)", c.filter, res.Count(), c.want, used > before, c.index)
		}
	}
}
