package expr

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// Field IDs of the struct test schema: structA {int_val Int32, color
// VarChar, score Double, emb FloatVector}, stored flattened as the proxy
// stores it (sub-fields named structA[x], also listed in Fields).
const (
	sPK    = 100
	sDoc   = 101
	sStruc = 102
	sInt   = 103
	sColor = 104
	sScore = 105
	sEmb   = 106
)

type elem struct {
	i     int32
	color string
	score float64
}

func structSchema() *schemapb.CollectionSchema {
	sub := func(id int64, name string, t, e schemapb.DataType) *schemapb.FieldSchema {
		return &schemapb.FieldSchema{FieldID: id, Name: "structA[" + name + "]", DataType: t, ElementType: e}
	}
	subs := []*schemapb.FieldSchema{
		sub(sInt, "int_val", schemapb.DataType_Array, schemapb.DataType_Int32),
		sub(sColor, "color", schemapb.DataType_Array, schemapb.DataType_VarChar),
		sub(sScore, "score", schemapb.DataType_Array, schemapb.DataType_Double),
		sub(sEmb, "emb", schemapb.DataType_ArrayOfVector, schemapb.DataType_FloatVector),
	}
	s := &schemapb.CollectionSchema{
		Name: "s",
		Fields: []*schemapb.FieldSchema{
			{FieldID: sPK, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: sDoc, Name: "doc_int", DataType: schemapb.DataType_Int64},
		},
		StructArrayFields: []*schemapb.StructArrayFieldSchema{{FieldID: sStruc, Name: "structA", Fields: subs}},
	}
	s.Fields = append(s.Fields, subs...)
	return s
}

func structBatch(rows [][]elem) *memBatch {
	n := len(rows)
	ids := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
	doc := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
	ints := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int32}
	colors := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_VarChar}
	scores := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Double}
	embs := &column.Scalar[*schemapb.VectorField]{Type: schemapb.DataType_ArrayOfVector, ElementType: schemapb.DataType_FloatVector}
	for r, es := range rows {
		ids.Data = append(ids.Data, int64(r))
		doc.Data = append(doc.Data, int64(r%7))
		var iv []int32
		var cv []string
		var sv []float64
		var ev []float32
		for _, e := range es {
			iv, cv, sv = append(iv, e.i), append(cv, e.color), append(sv, e.score)
			ev = append(ev, float32(e.i), 1)
		}
		ints.Data = append(ints.Data, &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: iv}}})
		colors.Data = append(colors.Data, strArray(cv...))
		scores.Data = append(scores.Data, doubleArray(sv...))
		embs.Data = append(embs.Data, &schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: ev}}})
	}
	return &memBatch{n: n, cols: map[int64]column.Column{sPK: ids, sDoc: doc, sInt: ints, sColor: colors, sScore: scores, sEmb: embs}}
}

func evalIDs(t *testing.T, schema *schemapb.CollectionSchema, b *memBatch, text string) []int {
	t.Helper()
	e, err := Parse(schema, text, nil)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	// The plan must survive the trip to a query node.
	data, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	e2, err := Unmarshal(schema, data)
	if err != nil {
		t.Fatalf("unmarshal %s: %v", data, err)
	}
	if e2.String() != e.String() {
		t.Fatalf("round trip: %s != %s", e2, e)
	}
	bs, err := e2.Eval(context.Background(), b)
	if err != nil {
		t.Fatalf("eval %q: %v", text, err)
	}
	var out []int
	bs.ForEach(func(i int) { out = append(out, i) })
	return out
}

func TestElementFilterSameElement(t *testing.T) {
	schema := structSchema()
	b := structBatch([][]elem{
		{{10, "Red", 0}, {20, "Blue", 0}}, // Red and >15 on different elements
		{{20, "Red", 0}},
		{{5, "Green", 0}},
		{},
	})
	cases := map[string][]int{
		`element_filter(structA, $[color] == "Red" && $[int_val] > 15)`: {1},
		`element_filter(structA, $[int_val] > 15)`:                      {0, 1},
		`ELEMENT_FILTER(structA, $[color] in ["Green", "Blue"])`:        {0, 2},
		`MATCH_ALL(structA, $[int_val] >= 10)`:                          {0, 1, 3},
		`match_any(structA, $[color] like "R%")`:                        {0, 1},
		`MATCH_EXACT(structA, $[int_val] > 0, threshold=2)`:             {0},
		`MATCH_MOST(structA, $[int_val] > 0, threshold=1)`:              {1, 2, 3},
		`MATCH_LEAST(structA, $[int_val] > 0, THRESHOLD=1)`:             {0, 1, 2},
		`doc_int > 0 && element_filter(structA, $[color] == "Red")`:     {1},
		`not element_filter(structA, $[color] == "Red")`:                {2, 3},
		`array_contains(structA[color], "Blue")`:                        {0},
		`array_length(structA[int_val]) == 0`:                           {3},
		`element_filter(structA, 5 < $[int_val] < 20)`:                  {0},
	}
	for text, want := range cases {
		got := evalIDs(t, schema, b, text)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", text, got, want)
		}
	}
}

func TestElementFilterErrors(t *testing.T) {
	schema := structSchema()
	cases := map[string]string{
		`$[int_val] > 1`: "$[int_val] syntax can only be used inside ElementFilter or MATCH_*",
		`element_filter(structA, element_filter(structA, $[int_val] > 1))`: "nested ElementFilter is not supported, already inside ElementFilter for field: structA",
		`MATCH_ANY(structA, MATCH_ALL(structA, $[int_val] > 1))`:           "nested MATCH_ALL is not supported",
		`element_filter(structA, $[nope] > 1)`:                             "array field not found: structA[nope]",
		`element_filter(nope, $[int_val] > 1)`:                             "struct array field not found: nope",
		`MATCH_LEAST(structA, $[int_val] > 1, threshold=0)`:                "count in MATCH_LEAST must be positive, got: 0",
		`element_filter(structA, $[color] > 1)`:                            "cannot parse element expression",
		`element_filter(structA, $[emb] > 1)`:                              "element filters support only scalar sub-fields",
		`doc_int[x] > 1`:                                                   `json key must be enclosed in double quotes or single quotes, found identifier "x"`,
	}
	for text, want := range cases {
		_, err := Parse(schema, text, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want it to contain %q", text, err, want)
		}
	}
}

// TestElementFilterOracle checks random element-level filters against a
// direct evaluation of the same rules on the rows.
func TestElementFilterOracle(t *testing.T) {
	schema := structSchema()
	rng := rand.New(rand.NewPCG(9, 9))
	colors := []string{"Red", "Blue", "Green"}
	rows := make([][]elem, 300)
	for r := range rows {
		k := rng.IntN(5)
		for range k {
			rows[r] = append(rows[r], elem{int32(rng.IntN(100)), colors[rng.IntN(3)], rng.Float64()})
		}
	}
	b := structBatch(rows)
	type pred struct {
		text string
		fn   func(elem) bool
	}
	for it := 0; it < 200; it++ {
		x, y := int32(rng.IntN(100)), rng.Float64()
		c := colors[rng.IntN(3)]
		preds := []pred{
			{fmt.Sprintf("$[int_val] > %d", x), func(e elem) bool { return e.i > x }},
			{fmt.Sprintf("$[color] == %q", c), func(e elem) bool { return e.color == c }},
			{fmt.Sprintf("$[score] <= %v", y), func(e elem) bool { return e.score <= y }},
			{fmt.Sprintf("$[color] != %q && $[int_val] %% 2 == 0", c), func(e elem) bool { return e.color != c && e.i%2 == 0 }},
			{fmt.Sprintf("($[int_val] < %d || $[color] == %q)", x, c), func(e elem) bool { return e.i < x || e.color == c }},
		}
		p := preds[rng.IntN(len(preds))]
		kind := rng.IntN(6)
		thr := rng.IntN(4) + 1
		var text string
		var rule func(hits, total int) bool
		switch kind {
		case 0:
			text, rule = fmt.Sprintf("element_filter(structA, %s)", p.text), func(h, _ int) bool { return h > 0 }
		case 1:
			text, rule = fmt.Sprintf("MATCH_ANY(structA, %s)", p.text), func(h, _ int) bool { return h > 0 }
		case 2:
			text, rule = fmt.Sprintf("MATCH_ALL(structA, %s)", p.text), func(h, n int) bool { return h == n }
		case 3:
			text, rule = fmt.Sprintf("MATCH_LEAST(structA, %s, threshold=%d)", p.text, thr), func(h, _ int) bool { return h >= thr }
		case 4:
			text, rule = fmt.Sprintf("MATCH_MOST(structA, %s, threshold=%d)", p.text, thr), func(h, _ int) bool { return h <= thr }
		case 5:
			text, rule = fmt.Sprintf("MATCH_EXACT(structA, %s, threshold=%d)", p.text, thr), func(h, _ int) bool { return h == thr }
		}
		withDoc := rng.IntN(2) == 0
		if withDoc {
			text = "doc_int >= 3 and " + text
		}
		var want []int
		for r, es := range rows {
			h := 0
			for _, e := range es {
				if p.fn(e) {
					h++
				}
			}
			if rule(h, len(es)) && (!withDoc || r%7 >= 3) {
				want = append(want, r)
			}
		}
		got := evalIDs(t, schema, b, text)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s:\n got %v\nwant %v", text, got, want)
		}
	}
}

func TestElementFilterLengthMismatch(t *testing.T) {
	schema := structSchema()
	b := structBatch([][]elem{{{1, "Red", 0}}})
	b.cols[sColor] = &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_VarChar,
		Data: []*schemapb.ScalarField{strArray("Red", "Blue")}}
	e, err := Parse(schema, `element_filter(structA, $[int_val] > 0 && $[color] == "Red")`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Eval(context.Background(), b); err == nil || !strings.Contains(err.Error(), "elements where the struct has") {
		t.Fatalf("got %v", err)
	}
}

func TestElementMask(t *testing.T) {
	schema := structSchema()
	b := structBatch([][]elem{{{10, "Red", 0}, {20, "Blue", 0}}, {}, {{30, "Red", 0}}})
	e, err := Parse(schema, `doc_int >= 0 and element_filter(structA, $[color] == "Red")`, nil)
	if err != nil {
		t.Fatal(err)
	}
	offs, mask, found, err := e.ElementMask(context.Background(), b, "structA")
	if err != nil || !found {
		t.Fatalf("found %v, err %v", found, err)
	}
	var kept []int
	mask.ForEach(func(i int) { kept = append(kept, i) })
	if fmt.Sprint(offs) != "[0 2 2 3]" || fmt.Sprint(kept) != "[0 2]" {
		t.Fatalf("offs %v kept %v", offs, kept)
	}
	for _, text := range []string{`MATCH_ANY(structA, $[color] == "Red")`, `doc_int > 0 or element_filter(structA, $[color] == "Red")`} {
		e, err := Parse(schema, text, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, found, _ := e.ElementMask(context.Background(), b, "structA"); found {
			t.Fatalf("%s: an element mask", text)
		}
	}
}
