package scalarindex_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/scalarindex"
)

// json_cast_function STRING_TO_DOUBLE: the index holds strings that read
// as numbers under those numbers, and the plan (WithJSONCasts) compares
// them the same way, so an indexed segment and a scanned one agree.

var castStrings = []string{"3.5", " 3.5", "3.5abc", "1e2", "0x10", "-2", "abc", "", "inf", "nan", "1e999", "7", "07.0", "2.", ".5", "+4"}

func castJSON(r *rand.Rand) []byte {
	switch r.IntN(6) {
	case 0, 1:
		return []byte(`{"a": ` + strconv.Quote(castStrings[r.IntN(len(castStrings))]) + `}`)
	case 2:
		return []byte(`{"a": ` + strconv.FormatFloat(float64(r.IntN(40))/4-2, 'g', -1, 64) + `}`)
	case 3:
		return []byte(`{"a": true}`)
	case 4:
		return []byte(`{"b": 1}`)
	}
	return []byte(`{"a": ` + strconv.Itoa(r.IntN(10)-2) + `}`)
}

func castBatch(r *rand.Rand, n int) *batch {
	b := randBatch(r, n)
	j := b.cols[fJSON].(*column.Scalar[[]byte])
	for i := range j.Data {
		j.Data[i] = castJSON(r)
	}
	return b
}

func buildCast(t *testing.T, b *batch) *scalarindex.Index {
	t.Helper()
	x, err := scalarindex.Build(context.Background(), map[string]string{
		"index_type": "INVERTED", "json_path": "/a", "json_cast_type": "DOUBLE", "json_cast_function": "string_to_double",
	}, b.cols[fJSON])
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
	if y.CastFunction() != "STRING_TO_DOUBLE" {
		t.Fatalf("cast function %q after load", y.CastFunction())
	}
	y.SetFieldID(fJSON)
	return y
}

var aCast = []expr.JSONCast{{FieldID: fJSON, Path: []string{"a"}, Function: "STRING_TO_DOUBLE"}}

func castLeaf(r *rand.Rand) string {
	ops := []string{"==", "!=", "<", "<=", ">", ">="}
	num := func() string {
		return []string{"3.5", "100", "16", "-2", "7", "0.5", "4", "2", "0", "1.25"}[r.IntN(10)]
	}
	switch r.IntN(5) {
	case 0, 1:
		return `j["a"] ` + ops[r.IntN(len(ops))] + " " + num()
	case 2:
		return num() + ` <= j["a"] < ` + num()
	case 3:
		return `j["a"] ` + []string{"in", "not in"}[r.IntN(2)] + " [" + num() + ", " + num() + `, "abc"]`
	}
	return `j["a"] ` + []string{"==", "!=", ">"}[r.IntN(3)] + " " + strconv.Quote(castStrings[r.IntN(len(castStrings))])
}

func TestStringToDoubleIndexEqualsScan(t *testing.T) {
	schema := oracleSchema()
	ctx := context.Background()
	used, evaluated := 0, 0
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 11))
		n := []int{1, 300, 3000, 5000}[seed]
		plain := castBatch(r, n)
		ib := &indexedBatch{batch: plain, idx: []*scalarindex.Index{buildCast(t, plain)}, used: &used}
		for range 400 {
			text := castLeaf(r)
			if r.IntN(3) == 0 {
				text = "(" + text + ") and (" + castLeaf(r) + ")"
			} else if r.IntN(3) == 0 {
				text = "not (" + text + ") or " + castLeaf(r)
			}
			e, err := expr.Parse(schema, text, nil)
			if err != nil {
				continue // an empty range the generator wrote
			}
			// Through the wire form, as the proxy ships it.
			wire, err := e.WithJSONCasts(aCast).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			ce, err := expr.Unmarshal(schema, wire)
			if err != nil {
				t.Fatal(err)
			}
			if len(ce.JSONCasts()) != 1 {
				t.Fatalf("%s: casts %v after the wire", text, ce.JSONCasts())
			}
			evaluated++
			want, err := ce.Eval(ctx, plain)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ce.Eval(ctx, ib)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(want.Words(), got.Words()) {
				for i := range n {
					if want.Test(i) != got.Test(i) {
						t.Fatalf("%s: row %d (%s): scan %v, indexed %v", text, i, plain.cols[fJSON].(*column.Scalar[[]byte]).Data[i], want.Test(i), got.Test(i))
					}
				}
			}
		}
	}
	if used < evaluated/4 {
		t.Fatalf("%d filters, the index read %d times", evaluated, used)
	}
	t.Logf("%d filters, %d index reads", evaluated, used)
}

// What the cast changes, row by row; and that a plan without the cast does
// not use an index built with one... the other way round: a plan with the
// cast must not use an index built without it.
func TestStringToDoubleSemantics(t *testing.T) {
	docs := []string{`{"a": "3.5"}`, `{"a": 3.5}`, `{"a": " 3.5x"}`, `{"a": "x3.5"}`, `{"a": true}`, `{"a": "1e2"}`, `{"a": "0x10"}`, `{}`}
	j := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON}
	for _, d := range docs {
		j.Data = append(j.Data, []byte(d))
	}
	plain := &batch{n: len(docs), cols: map[int64]column.Column{fJSON: j}}
	for _, c := range []struct {
		filter     string
		plain, cst string // rows matched, as 0/1 per doc
	}{
		{`j["a"] == 3.5`, "01000000", "11100000"},
		{`j["a"] == "3.5"`, "10000000", "10000000"},
		{`j["a"] != 3.5`, "10111111", "00011111"},
		{`j["a"] > 50`, "00000000", "00000100"},
		{`j["a"] in [16, 100]`, "00000000", "00000110"},
		{`j["a"] not in [16]`, "11111111", "11111101"},
		{`3 < j["a"] < 4`, "01000000", "11100000"},
	} {
		e, err := expr.Parse(oracleSchema(), c.filter, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, run := range []struct {
			e    *expr.Expr
			want string
		}{{e, c.plain}, {e.WithJSONCasts(aCast), c.cst}} {
			res, err := run.e.Eval(context.Background(), plain)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for i := range docs {
				got += strconv.Itoa(btoi(res.Test(i)))
			}
			if got != run.want {
				t.Errorf("%s (casts %v): %s, want %s", c.filter, run.e.JSONCasts(), got, run.want)
			}
		}
	}

	// An index built without the cast cannot serve a plan with it.
	x, err := scalarindex.Build(context.Background(), map[string]string{"index_type": "INVERTED", "json_path": "/a", "json_cast_type": "DOUBLE"}, j)
	if err != nil {
		t.Fatal(err)
	}
	x.SetFieldID(fJSON)
	used := 0
	ib := &indexedBatch{batch: plain, idx: []*scalarindex.Index{x}, used: &used}
	e, _ := expr.Parse(oracleSchema(), `j["a"] == 3.5`, nil)
	res, err := e.WithJSONCasts(aCast).Eval(context.Background(), ib)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count() != 3 {
		t.Errorf("cast plan over an uncast index: %d rows, want 3", res.Count())
	}
}
