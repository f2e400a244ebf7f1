package scalarindex_test

import (
	"bytes"
	"context"
	"fmt"
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

// The oracle test evaluates random filters over random rows (nulls, JSON
// of mixed types, arrays) twice: on a plain batch (the scan, itself checked
// against a reference interpreter in internal/expr) and on a batch that
// offers scalar indexes of every kind, serialized and loaded back. The
// results must be identical, and the indexes must actually be used.

const (
	fPK   = 100
	fI8   = 101
	fI64  = 102
	fF32  = 103
	fF64  = 104
	fBool = 105
	fStr  = 106
	fText = 107
	fJSON = 108
	fArr  = 109
)

func oracleSchema() *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
		{FieldID: fPK, Name: "pk", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: fI8, Name: "i8", DataType: schemapb.DataType_Int8, Nullable: true},
		{FieldID: fI64, Name: "i64", DataType: schemapb.DataType_Int64},
		{FieldID: fF32, Name: "f32", DataType: schemapb.DataType_Float},
		{FieldID: fF64, Name: "f64", DataType: schemapb.DataType_Double, Nullable: true},
		{FieldID: fBool, Name: "b", DataType: schemapb.DataType_Bool, Nullable: true},
		{FieldID: fStr, Name: "s", DataType: schemapb.DataType_VarChar, Nullable: true},
		{FieldID: fText, Name: "t", DataType: schemapb.DataType_VarChar},
		{FieldID: fJSON, Name: "j", DataType: schemapb.DataType_JSON, Nullable: true},
		{FieldID: fArr, Name: "arr", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64},
	}}
}

type batch struct {
	n    int
	cols map[int64]column.Column
}

func (b *batch) Len() int { return b.n }
func (b *batch) Column(id int64) (column.Column, error) {
	c, ok := b.cols[id]
	if !ok {
		return nil, fmt.Errorf("no field %d", id)
	}
	return c, nil
}

// indexedBatch offers indexes and counts how often the engine reads one.
type indexedBatch struct {
	*batch
	idx  []*scalarindex.Index
	used *int
}

func (b *indexedBatch) ScalarIndex(fieldID int64, path []string) expr.ScalarIndex {
	for _, x := range b.idx {
		if x.FieldID() == fieldID && slices.Equal(x.Path(), path) {
			return &counting{x, b.used}
		}
	}
	return nil
}

type counting struct {
	*scalarindex.Index
	used *int
}

func (c *counting) Rows(lo, hi expr.Bound, out *bitset.Set) {
	*c.used++
	c.Index.Rows(lo, hi, out)
}

func (c *counting) RowsPrefix(p string, out *bitset.Set) {
	*c.used++
	c.Index.RowsPrefix(p, out)
}

func (c *counting) NgramRows(lits []string, out *bitset.Set) bool {
	ok := c.Index.NgramRows(lits, out)
	if ok {
		*c.used++
	}
	return ok
}

var words = []string{"", "a", "ab", "abc", "abcd", "b", "ba", "bab", "xyz", "xabcy", "日本", "日本語", "%", "a_b", "héllo"}

func randWord(r *rand.Rand) string {
	w := words[r.IntN(len(words))]
	if r.IntN(4) == 0 {
		w += words[r.IntN(len(words))]
	}
	return w
}

func randJSON(r *rand.Rand) []byte {
	var parts []string
	if r.IntN(5) != 0 {
		switch r.IntN(6) {
		case 0:
			parts = append(parts, `"a": "`+strconv.Itoa(r.IntN(5))+`"`)
		case 1:
			parts = append(parts, `"a": `+strconv.FormatFloat(float64(r.IntN(40))/4, 'g', -1, 64))
		case 2:
			parts = append(parts, `"a": true`)
		case 3:
			parts = append(parts, `"a": [1, 2]`)
		default:
			parts = append(parts, `"a": `+strconv.Itoa(r.IntN(20)-5))
		}
	}
	if r.IntN(5) != 0 {
		if r.IntN(6) == 0 {
			parts = append(parts, `"b": `+strconv.Itoa(r.IntN(3)))
		} else {
			parts = append(parts, `"b": "`+randWord(r)+`"`)
		}
	}
	if r.IntN(3) != 0 {
		parts = append(parts, `"c": `+strconv.FormatBool(r.IntN(2) == 0))
	}
	if r.IntN(3) == 0 {
		parts = append(parts, `"d": {"e": `+strconv.Itoa(r.IntN(6))+`}`)
	}
	if r.IntN(3) == 0 {
		parts = append(parts, `"l": [`+strconv.Itoa(r.IntN(4))+`, 2.5, "x", [3]]`)
	} else if r.IntN(3) == 0 {
		parts = append(parts, `"l": `+strconv.Itoa(r.IntN(4)))
	}
	if r.IntN(2) == 0 {
		parts = append(parts, `"m": ["`+randWord(r)+`", "y", 1, ["x"]]`)
	}
	if r.IntN(20) == 0 {
		return []byte(`[1, 2, 3]`)
	}
	return []byte("{" + strings.Join(parts, ", ") + "}")
}

func randBatch(r *rand.Rand, n int) *batch {
	valid := func() []bool {
		v := make([]bool, n)
		for i := range v {
			v[i] = r.IntN(6) != 0
		}
		return v
	}
	pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	i8 := &column.Scalar[int8]{Type: schemapb.DataType_Int8, Data: make([]int8, n), Valid: valid()}
	i64 := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	f32 := &column.Scalar[float32]{Type: schemapb.DataType_Float, Data: make([]float32, n)}
	f64 := &column.Scalar[float64]{Type: schemapb.DataType_Double, Data: make([]float64, n), Valid: valid()}
	b := &column.Scalar[bool]{Type: schemapb.DataType_Bool, Data: make([]bool, n), Valid: valid()}
	s := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: make([]string, n), Valid: valid()}
	t := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: make([]string, n)}
	j := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: make([][]byte, n), Valid: valid()}
	arr := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64, Data: make([]*schemapb.ScalarField, n)}
	for i := range n {
		pk.Data[i] = int64(i)
		i8.Data[i] = int8(r.IntN(256) - 128)
		if r.IntN(2) == 0 {
			i8.Data[i] = int8(r.IntN(10))
		}
		i64.Data[i] = int64(r.IntN(200)) - 100
		if r.IntN(50) == 0 {
			i64.Data[i] = r.Int64() - 1<<62
		}
		f32.Data[i] = float32(r.IntN(100)) / 8
		if r.IntN(20) == 0 {
			f32.Data[i] = 0.1 * float32(r.IntN(5))
		}
		f64.Data[i] = float64(r.IntN(100))/4 - 5
		b.Data[i] = r.IntN(2) == 0
		s.Data[i] = randWord(r)
		t.Data[i] = randWord(r) + randWord(r) + randWord(r)
		j.Data[i] = randJSON(r)
		var l []int64
		for range r.IntN(4) {
			l = append(l, int64(r.IntN(8)))
		}
		arr.Data[i] = &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: l}}}
	}
	return &batch{n: n, cols: map[int64]column.Column{fPK: pk, fI8: i8, fI64: i64, fF32: f32, fF64: f64, fBool: b, fStr: s, fText: t, fJSON: j, fArr: arr}}
}

// buildAll builds one index per field (of a random fitting type) and the
// JSON path indexes, each through WriteTo and Load.
func buildAll(t *testing.T, r *rand.Rand, b *batch) []*scalarindex.Index {
	pick := func(types ...string) string { return types[r.IntN(len(types))] }
	specs := []struct {
		field  int64
		params map[string]string
	}{
		{fI8, map[string]string{"index_type": pick("INVERTED", "BITMAP", "STL_SORT")}},
		{fI64, map[string]string{"index_type": pick("INVERTED", "STL_SORT")}},
		{fF32, map[string]string{"index_type": pick("INVERTED", "STL_SORT")}},
		{fF64, map[string]string{"index_type": pick("INVERTED", "STL_SORT")}},
		{fBool, map[string]string{"index_type": pick("INVERTED", "BITMAP")}},
		{fStr, map[string]string{"index_type": pick("INVERTED", "BITMAP", "STL_SORT", "TRIE")}},
		{fText, map[string]string{"index_type": "NGRAM", "min_gram": strconv.Itoa(1 + r.IntN(2)), "max_gram": strconv.Itoa(2 + r.IntN(3))}},
		{fArr, map[string]string{"index_type": pick("INVERTED", "BITMAP")}},
		{fJSON, map[string]string{"index_type": "INVERTED", "json_path": "/a", "json_cast_type": "DOUBLE"}},
		{fJSON, map[string]string{"index_type": "INVERTED", "json_path": "/b", "json_cast_type": "VARCHAR"}},
		{fJSON, map[string]string{"index_type": "INVERTED", "json_path": "/c", "json_cast_type": "BOOL"}},
		{fJSON, map[string]string{"index_type": "INVERTED", "json_path": "/d/e", "json_cast_type": "DOUBLE"}},
		{fJSON, map[string]string{"index_type": "INVERTED", "json_path": "/l", "json_cast_type": "ARRAY_DOUBLE"}},
		{fJSON, map[string]string{"index_type": "INVERTED", "json_path": "/m", "json_cast_type": "ARRAY_VARCHAR"}},
	}
	var out []*scalarindex.Index
	for _, s := range specs {
		x, err := scalarindex.Build(context.Background(), s.params, b.cols[s.field])
		if err != nil {
			t.Fatalf("build %v: %v", s.params, err)
		}
		var buf bytes.Buffer
		if _, err := x.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		y, err := scalarindex.Load(buf.Bytes())
		if err != nil {
			t.Fatalf("load %v: %v", s.params, err)
		}
		y.SetFieldID(s.field)
		out = append(out, y)
	}
	return out
}

func randNum(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return strconv.FormatFloat(float64(r.IntN(80))/8-2, 'f', -1, 64) + ".0"[:2*btoi(r.IntN(2) == 0)]
	case 1:
		return strconv.FormatFloat(0.1*float64(r.IntN(5)), 'g', -1, 64)
	case 2:
		return strconv.Itoa(r.IntN(400) - 200)
	}
	return strconv.Itoa(r.IntN(20) - 5)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func quoteStr(s string) string { return strconv.Quote(s) }

func randLeaf(r *rand.Rand) string {
	ops := []string{"==", "!=", "<", "<=", ">", ">="}
	op := ops[r.IntN(len(ops))]
	numField := []string{"i8", "i64", "f32", "f64", `j["a"]`, `j["d"]["e"]`}[r.IntN(6)]
	strField := []string{"s", `j["b"]`, "t"}[r.IntN(3)]
	switch r.IntN(12) {
	case 0, 1:
		return numField + " " + op + " " + randNum(r)
	case 2:
		return randNum(r) + " < " + numField + " <= " + randNum(r)
	case 3:
		var vals []string
		for range 1 + r.IntN(4) {
			vals = append(vals, randNum(r))
		}
		neg := []string{"in", "not in"}[r.IntN(2)]
		return numField + " " + neg + " [" + strings.Join(vals, ", ") + "]"
	case 4:
		return strField + " " + op + " " + quoteStr(randWord(r))
	case 5:
		var vals []string
		for range 1 + r.IntN(3) {
			vals = append(vals, quoteStr(randWord(r)))
		}
		neg := []string{"in", "not in"}[r.IntN(2)]
		return strField + " " + neg + " [" + strings.Join(vals, ", ") + "]"
	case 6, 7:
		pats := []string{randWord(r) + "%", "%" + randWord(r) + "%", "%" + randWord(r), randWord(r), randWord(r) + "_" + randWord(r) + "%", "%" + randWord(r) + "%" + randWord(r) + "%"}
		return strField + " like " + quoteStr(pats[r.IntN(len(pats))])
	case 8:
		f := []string{"b", `j["c"]`}[r.IntN(2)]
		return f + " " + []string{"==", "!="}[r.IntN(2)] + " " + []string{"true", "false"}[r.IntN(2)]
	case 9:
		return []string{"i8", "f64", "s", "b", "j"}[r.IntN(5)] + " is " + []string{"", "not "}[r.IntN(2)] + "null"
	case 10:
		return `j["a"] ` + op + " " + quoteStr(strconv.Itoa(r.IntN(5)))
	}
	switch r.IntN(4) {
	case 0:
		return "array_contains(arr, " + randNum(r) + ")"
	case 1:
		return []string{"array_contains_any", "array_contains_all"}[r.IntN(2)] + "(arr, [" + strconv.Itoa(r.IntN(9)) + ", " + randNum(r) + "])"
	case 2:
		return []string{"json_contains", "json_contains_any", "json_contains_all"}[r.IntN(3)] + `(j["l"], ` + []string{"[1, 2.5]", "[\"x\"]", "[3]"}[r.IntN(3)] + ")"
	}
	return "json_contains" + `(j["m"], ` + []string{`"x"`, `"y"`, "1", `["x"]`}[r.IntN(4)] + ")"
}

func randExpr(r *rand.Rand, depth int) string {
	if depth == 0 || r.IntN(3) == 0 {
		return randLeaf(r)
	}
	switch r.IntN(3) {
	case 0:
		return "not (" + randExpr(r, depth-1) + ")"
	case 1:
		return "(" + randExpr(r, depth-1) + ") and (" + randExpr(r, depth-1) + ")"
	}
	return "(" + randExpr(r, depth-1) + ") or (" + randExpr(r, depth-1) + ")"
}

func TestOracleIndexedEqualsScan(t *testing.T) {
	schema := oracleSchema()
	ctx := context.Background()
	used, evaluated := 0, 0
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 7))
		n := []int{1, 70, 1000, 4000, 129, 2500}[seed]
		plain := randBatch(r, n)
		ib := &indexedBatch{batch: plain, idx: buildAll(t, r, plain), used: &used}
		for range 600 {
			text := randExpr(r, 3)
			e, err := expr.Parse(schema, text, nil)
			if err != nil {
				continue // a type error the generator did not avoid
			}
			evaluated++
			want, err := e.Eval(ctx, plain)
			if err != nil {
				t.Fatalf("scan %s: %v", text, err)
			}
			got, err := e.Eval(ctx, ib)
			if err != nil {
				t.Fatalf("indexed %s: %v", text, err)
			}
			if !slices.Equal(want.Words(), got.Words()) {
				for i := range n {
					if want.Test(i) != got.Test(i) {
						t.Fatalf("seed %d: %s: row %d: scan %v, indexed %v (i8=%v f32=%v f64=%v s=%q t=%q j=%s)", seed, text, i, want.Test(i), got.Test(i),
							plain.cols[fI8].(*column.Scalar[int8]).Data[i], plain.cols[fF32].(*column.Scalar[float32]).Data[i],
							plain.cols[fF64].(*column.Scalar[float64]).Data[i], plain.cols[fStr].(*column.Scalar[string]).Data[i],
							plain.cols[fText].(*column.Scalar[string]).Data[i], plain.cols[fJSON].(*column.Scalar[[]byte]).Data[i])
					}
				}
			}
		}
	}
	if evaluated < 2000 || used < evaluated/4 {
		t.Fatalf("%d filters evaluated, indexes read %d times: the generator or the cost model is off", evaluated, used)
	}
	t.Logf("%d filters, %d index reads", evaluated, used)
}

// Fixed filters, one per index use, each of which must read an index and
// agree with the scan.
func TestIndexedLeavesReadIndexes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	plain := randBatch(r, 5000)
	used := 0
	ib := &indexedBatch{batch: plain, idx: buildAll(t, r, plain), used: &used}
	for _, f := range []string{
		`i8 == 3`, `i64 in [1, 2, 3]`, `-3 < f64 <= -2`, `f32 == 0.1`, `s == "ab"`, `s like "xa%"`,
		`t like "%abcd%"`, `j["a"] == 7`, `j["a"] != 7`, `j["b"] in ["ab", "ba"]`, `j["c"] == false`, `j["d"]["e"] < 1`,
		`array_contains(arr, 3)`, `array_contains_all(arr, [1, 2])`, `json_contains(j["l"], 2.5)`, `json_contains_any(j["m"], ["y", "ab"])`,
	} {
		e, err := expr.Parse(oracleSchema(), f, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want, err := e.Eval(context.Background(), plain)
		if err != nil {
			t.Fatal(err)
		}
		before := used
		got, err := e.Eval(context.Background(), ib)
		if err != nil {
			t.Fatal(err)
		}
		if used == before {
			t.Errorf("%s: no index read", f)
		}
		if !slices.Equal(want.Words(), got.Words()) {
			t.Errorf("%s: indexed result differs from the scan", f)
		}
	}
}
