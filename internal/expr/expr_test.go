package expr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
)

// smallBatch has 6 rows with hand-picked values.
func smallBatch() *memBatch {
	return &memBatch{n: 6, cols: map[int64]column.Column{
		fID:  &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2, 3, 4, 5, 6}},
		fI8:  &column.Scalar[int8]{Type: schemapb.DataType_Int8, Data: []int8{-3, -1, 0, 1, 100, 127}},
		fI32: &column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{10, 20, 0, 40, 50, 60}, Valid: []bool{true, true, false, true, true, true}},
		fI64: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{5, 4, 3, 2, 1, 0}},
		fF:   &column.Scalar[float32]{Type: schemapb.DataType_Float, Data: []float32{0.1, 0.5, 1.5, 2, 2.5, -1}},
		fD:   &column.Scalar[float64]{Type: schemapb.DataType_Double, Data: []float64{1.5, 2.5, 3.5, 0, 5.5, 6.5}, Valid: []bool{true, true, true, false, true, true}},
		fB:   &column.Scalar[bool]{Type: schemapb.DataType_Bool, Data: []bool{true, false, true, false, true, false}},
		fS:   &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"apple", "banana", "", "cherry", "apricot", "a%b"}, Valid: []bool{true, true, false, true, true, true}},
		fJ: &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: [][]byte{
			[]byte(`{"a": 1, "b": {"c": "x"}, "tags": [1, 2, 3]}`),
			[]byte(`{"a": 2.5, "b": {"c": "y"}, "tags": ["x", "y"]}`),
			[]byte(`{"a": "1", "tags": []}`),
			[]byte(`{"a": true, "b": null}`),
			nil,
			[]byte(`{"a": [1, 2], "b": {"c": "xx"}, "tags": [2, 3]}`),
		}, Valid: []bool{true, true, true, true, false, true}},
		fAI: &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64, Data: []*schemapb.ScalarField{
			longArray(1, 2, 3), longArray(), longArray(3), longArray(4, 5), longArray(1), longArray(2, 1),
		}},
		fAS: &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_VarChar, Data: []*schemapb.ScalarField{
			strArray("red", "green"), strArray("blue"), nil, strArray(), strArray("red"), strArray("green", "blue"),
		}, Valid: []bool{true, true, false, true, true, true}},
		fAD: &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Double, Data: []*schemapb.ScalarField{
			doubleArray(1.5), doubleArray(), doubleArray(2, 3), doubleArray(1.5, 1.5), doubleArray(0), doubleArray(-1),
		}},
		fMeta: &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: [][]byte{
			[]byte(`{"color": "red", "n": 1}`),
			[]byte(`{"color": "blue", "n": 2}`),
			[]byte(`{}`),
			[]byte(`{"color": "red", "n": 3.5}`),
			[]byte(`{"n": null}`),
			[]byte(`{"color": "Red", "n": -1}`),
		}},
	}}
}

func rows(t *testing.T, text string) []int {
	t.Helper()
	e, err := Parse(testSchema(), text, nil)
	if err != nil {
		t.Fatalf("Parse(%s): %v", text, err)
	}
	bs, err := e.Eval(context.Background(), smallBatch())
	if err != nil {
		t.Fatalf("Eval(%s): %v", text, err)
	}
	var got []int
	bs.ForEach(func(i int) { got = append(got, i) })
	// The canonical form must parse back into the same plan and rows.
	e2, err := Parse(testSchema(), e.String(), nil)
	if err != nil {
		t.Fatalf("re-Parse(%s) of %s: %v", e, text, err)
	}
	if e2.String() != e.String() {
		t.Fatalf("canonical form not stable: %s -> %s", e, e2)
	}
	return got
}

func TestEval(t *testing.T) {
	f := func(text string, want ...int) {
		t.Helper()
		got := rows(t, text)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got rows %v, want %v", text, got, want)
		}
	}
	f(`id > 3`, 3, 4, 5)
	f(`id == 2`, 1)
	f(`id != 2`, 0, 2, 3, 4, 5)
	f(`3 < id`, 3, 4, 5)
	f(`id in [1, 3, 99]`, 0, 2)
	f(`id not in [1, 3, 99]`, 1, 3, 4, 5)
	f(`1 < id <= 3`, 1, 2)
	f(`5 > id >= 3`, 2, 3)
	f(`i8 < 1000`, 0, 1, 2, 3, 4, 5)
	f(`i8 >= -1.5`, 1, 2, 3, 4, 5)
	f(`i8 == 0.5`)
	f(`i8 < 0.5`, 0, 1, 2)
	f(`i32 > 15`, 1, 3, 4, 5)
	f(`i32 is null`, 2)
	f(`i32 IS NOT NULL`, 0, 1, 3, 4, 5)
	f(`not (i32 > 15)`, 0)
	f(`i32 > 15 or id == 3`, 1, 2, 3, 4, 5)
	f(`f == 0.1`, 0)
	f(`f > 1`, 2, 3, 4)
	f(`d <= 2.5`, 0, 1)
	f(`b == true`, 0, 2, 4)
	f(`b != True`, 1, 3, 5)
	f(`s == "apple"`, 0)
	f(`s like "ap%"`, 0, 4)
	f(`s like "%an%"`, 1)
	f(`s like "%y"`, 3)
	f(`s like "_pple"`, 0)
	f(`s like "a\\%b"`, 5)
	f(`s like "a%b"`, 5)
	f(`s in ["banana", "cherry"]`, 1, 3)
	f(`s > "b"`, 1, 3)
	f(`id > 1 && id < 4 || id == 6`, 1, 2, 5)
	f(`!(id > 1)`, 0)
	f(`id + 1 == 3`, 1)
	f(`id * 2 > 8`, 4, 5)
	f(`id % 2 == 0`, 1, 3, 5)
	f(`id - 1 <= 1`, 0, 1)
	f(`id / 2 == 1`, 1, 2)
	f(`2 * id == 4`, 1)
	f(`id > i64`, 3, 4, 5)
	f(`id == i64 + 0`[:len("id == i64")], 2)
	f(`i32 > d`, 0, 1, 4, 5)
	f(`j["a"] == 1`, 0)
	f(`j["a"] > 1`, 1)
	f(`j["a"] == "1"`, 2)
	f(`j["a"] == true`, 3)
	f(`j["a"] != 1`, 1, 2, 3, 5)
	f(`j["b"]["c"] == "x"`, 0)
	f(`j["b"]["c"] like "x%"`, 0, 5)
	f(`j["tags"][0] == 1`, 0)
	f(`j["a"] == [1, 2]`, 5)
	f(`j["tags"] != [2, 3]`, 0, 1, 2) // != an array holds only for other arrays (segcore); row 3 has none
	f(`j["a"] in [1, "1"]`, 0, 2)
	f(`exists j["b"]`, 0, 1, 3, 5)
	f(`j["b"] is null`, 2, 4) // not exists, always valid: the null row 4 too
	f(`j is null`, 4)
	f(`json_contains(j["tags"], 2)`, 0, 5)
	f(`json_contains_all(j["tags"], [2, 3])`, 0, 5)
	f(`json_contains_any(j["tags"], ["y", 1])`, 0, 1)
	f(`array_length(j["tags"]) == 2`, 1, 5)
	f(`array_length(j["tags"]) == 0`, 2, 3) // an empty array, and (as segcore) a missing path, have length 0; row 4 is null
	f(`color == "red"`, 0, 3)
	f(`$meta["color"] == "red"`, 0, 3)
	f(`n > 0`, 0, 1, 3)
	f(`exists color`, 0, 1, 3, 5)
	f(`color is null`, 2, 4)
	f(`color like "r%"`, 0, 3)
	f(`array_contains(ai, 1)`, 0, 4, 5)
	f(`array_contains_all(ai, [1, 2])`, 0, 5)
	f(`array_contains_any(ai, [4, 3])`, 0, 2, 3)
	f(`array_length(ai) == 1`, 2, 4)
	f(`ai[0] == 1`, 0, 4)
	f(`ai[1] > 1`, 0, 3)
	f(`ai == [1, 2, 3]`, 0)
	f(`as[0] == "red"`, 0, 4)
	f(`array_contains(as, "blue")`, 1, 5)
	f(`as is null`, 2)
	f(`not array_contains(as, "blue")`, 0, 3, 4)
	f(`ad[0] == 1.5`, 0, 3)
	f(`array_contains(ad, 2)`, 2)
	f(`true`, 0, 1, 2, 3, 4, 5)
	f(`1 > 2`)
	f(`id in {tpl}`[:0]+`id in [0x2, 0b11, 04]`, 1, 2, 3)
	f(`id > 1e0 and id < 2.5e0`, 1)
	f(`(id == 1 or id == 2) and not (id == 2)`, 0)
	f(`  `, 0, 1, 2, 3, 4, 5)
}

func TestAlwaysTrue(t *testing.T) {
	for text, want := range map[string]bool{``: true, ` `: true, `true`: true, `1 < 2`: true, `false`: false, `id > 1`: false} {
		e, err := Parse(testSchema(), text, nil)
		if err != nil {
			t.Fatal(err)
		}
		if e.AlwaysTrue() != want {
			t.Errorf("AlwaysTrue(%q) = %v, want %v", text, !want, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	f := func(text, want string) {
		t.Helper()
		_, err := Parse(testSchema(), text, nil)
		if err == nil {
			t.Fatalf("Parse(%s): no error, want %q", text, want)
		}
		if !errors.Is(err, errs.ErrParameterInvalid) || errs.CodeOf(err) != 1100 {
			t.Errorf("Parse(%s): %v is not ErrParameterInvalid", text, err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s): %q does not contain %q", text, err, want)
		}
	}
	f(`s > 1`, "comparisons between VarChar and Int64 are not supported")
	f(`id == "a"`, "comparisons between Int64 and VarChar are not supported")
	f(`id >`, "unexpected end of expression (at column 5)")
	f(`id == 1)`, "unexpected ')' (at column 8)")
	f(`vec > 1`, "comparisons between FloatVector and Int64 are not supported")
	f(`txt == "a"`, "filter on text field (txt) is not supported yet")
	f(`id`, "predicate is not a boolean expression: id, data type: Int64")
	f(`not id`, "not op can only be applied on boolean expression")
	f(`id / 0 == 1`, "division or modulus by zero")
	f(`f % 2 == 1`, "modulo can only apply on integer types")
	f(`3 < id < 1`, "invalid range: lowerbound is greater than upperbound")
	f(`ai > 1`, "can not comparisons array fields directly")
	f(`ai["a"] == 1`, "can only access array field with integer index")
	f(`id["a"] == 1`, "Int64 data type not supported accessed with []")
	f(`id + i64 == 1`, "not supported to do arithmetic operations between multiple fields")
	f(`j == i64`, "two column comparison with JSON type is not supported")
	f(`json_contains(id, 1)`, "contains operation are only supported on json or array fields now")
	f(`array_contains(ai)`, "array_contains takes 2 arguments, got 1")
	f(`foo(id)`, "function foo(int64_t) not found.")
	f(`id in 1`, "the right-hand side of 'in' must be a list")
	f(`s in [1]`, "value '1' in list cannot be casted to VarChar")
	f(`id like "a%"`, "like operation on non-string or no-json field is unsupported")
	f(`exists id`, "exists operations are only supportted on json field")
	f(`id == {x}`, "the value of expression template variable name {x} is not found")
	f(`id = 1`, "did you mean '=='?")
	f(`s == "abc`, "unterminated string")
	f(strings.Repeat("(", 300)+"id > 1"+strings.Repeat(")", 300), "nested deeper than 256 levels")
	f(`id > 1 and 2`, "'and' can only be used between boolean expressions")
	f(`id & 1 == 1`, "BitAnd is not supported")
	f(`id == 99999999999999999999`, "out of range")
}

func TestTemplates(t *testing.T) {
	tpl := map[string]*schemapb.TemplateValue{
		"lo":   {Val: &schemapb.TemplateValue_Int64Val{Int64Val: 2}},
		"ids":  {Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: &schemapb.TemplateArrayValue{Data: &schemapb.TemplateArrayValue_LongData{LongData: &schemapb.LongArray{Data: []int64{1, 5}}}}}},
		"name": {Val: &schemapb.TemplateValue_StringVal{StringVal: "apple"}},
	}
	e, err := Parse(testSchema(), `id > {lo} and (id in {ids} or s == {name})`, tpl)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.String(), `(id > 2 and (id in [1, 5] or s == "apple"))`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func TestPrimaryKeyIn(t *testing.T) {
	f := func(text string, want []int64, wantOK bool) {
		t.Helper()
		e, err := Parse(testSchema(), text, nil)
		if err != nil {
			t.Fatal(err)
		}
		ints, _, ok := e.PrimaryKeyIn()
		if ok != wantOK || !slices.Equal(ints, want) {
			t.Errorf("%s: PrimaryKeyIn = %v, %v; want %v, %v", text, ints, ok, want, wantOK)
		}
	}
	f(`id == 7`, []int64{7}, true)
	f(`id in [1, 2, 3]`, []int64{1, 2, 3}, true)
	f(`id not in [1]`, nil, false)
	f(`id > 1`, nil, false)
	f(`id in [1] and i64 > 0`, nil, false)
	f(`i64 in [1]`, nil, false)
}

func TestFields(t *testing.T) {
	e, err := Parse(testSchema(), `i64 > 1 and (color == "x" or id in [1]) and j["a"] == 1 and i64 < 5`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Fields(), []int64{fID, fI64, fJ, fMeta}; !slices.Equal(got, want) {
		t.Errorf("Fields() = %v, want %v", got, want)
	}
}

// TestConcurrentEval runs one plan from many goroutines (run with -race).
func TestConcurrentEval(t *testing.T) {
	e, err := Parse(testSchema(), `(id in [1, 2, 3, 4, 5, 6, 7, 8, 9] or s like "a%p%") and json_contains_any(j["tags"], [1, "x"]) or array_contains(ai, 3)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.Eval(context.Background(), smallBatch())
	if err != nil {
		t.Fatal(err)
	}
	batch := smallBatch()
	done := make(chan error)
	for range 8 {
		go func() {
			for range 50 {
				got, err := e.Eval(context.Background(), batch)
				if err != nil {
					done <- err
					return
				}
				if got.Count() != want.Count() {
					done <- errors.New("concurrent Eval disagrees")
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestTemplateErrors follows Milvus's client tests (TestQueryWithTemplateParamInvalid).
func TestTemplateErrors(t *testing.T) {
	i64 := func(v int64) *schemapb.TemplateValue {
		return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_Int64Val{Int64Val: v}}
	}
	str := func(v string) *schemapb.TemplateValue {
		return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_StringVal{StringVal: v}}
	}
	arr := &schemapb.TemplateValue{Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: &schemapb.TemplateArrayValue{
		Data: &schemapb.TemplateArrayValue_LongData{LongData: &schemapb.LongArray{Data: []int64{0, 1, 3}}}}}}
	f := func(text string, tpl map[string]*schemapb.TemplateValue, want string) {
		t.Helper()
		_, err := Parse(testSchema(), text, tpl)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want %q", text, err, want)
		}
	}
	// Milvus 2.6 fills a like pattern from a template (fill_expression_value.go).
	if _, err := Parse(testSchema(), `s like {key1}`, map[string]*schemapb.TemplateValue{"key1": str("a%")}); err != nil {
		t.Errorf("like {key1} with a string: %v", err)
	}
	f(`s like {key1}`, map[string]*schemapb.TemplateValue{"key1": i64(10)}, "the value of like expression template variable {key1} is not string")
	f(`s like {key1}`, nil, "the value of expression template variable name {key1} is not found")
	f(`id in {key1}`, nil, "the value of expression template variable name {key1} is not found")
	f(`{field} < 10`, map[string]*schemapb.TemplateValue{"field": str("id")}, "cannot parse expression")
	f(`{field} < {v}`, map[string]*schemapb.TemplateValue{"field": str("id"), "v": i64(10)}, "placeholder was not supported between two constants with operator")
	f(`exists {x}`, map[string]*schemapb.TemplateValue{"x": str("j")}, "exists operations are only supported on single fields now")
	f(`{k1} < id < {k2}`, map[string]*schemapb.TemplateValue{"k1": i64(10)}, "the upper value of expression template variable name {k2} is not found")
	f(`id < {k1}`, map[string]*schemapb.TemplateValue{"k1": arr}, "cannot cast value to Int64")
	f(`id < {k1}`, map[string]*schemapb.TemplateValue{"k1": str("10")}, "cannot cast value to Int64")
	f(`{name} == 'O'Reilly'`, map[string]*schemapb.TemplateValue{"name": str("s")}, "cannot parse expression")
	f(`{_123} > 10`, map[string]*schemapb.TemplateValue{"_123": str("id")}, "cannot parse expression")

	// Milvus converts every template value once the expression parsed
	// (plan_parser_v2.go:144-147, ConvertToGenericValue and
	// convertArrayValue): its texts, whole, used or not.
	exact := func(text string, tpl map[string]*schemapb.TemplateValue, want string) {
		t.Helper()
		_, err := Parse(testSchema(), text, tpl)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%s) = %v, want %q", text, err, want)
		}
	}
	empty := &schemapb.TemplateValue{}
	noData := &schemapb.TemplateValue{Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: &schemapb.TemplateArrayValue{}}}
	badJSON := &schemapb.TemplateValue{Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: &schemapb.TemplateArrayValue{
		Data: &schemapb.TemplateArrayValue_JsonData{JsonData: &schemapb.JSONArray{Data: [][]byte{[]byte("{")}}}}}}
	exact(`id < {k1}`, map[string]*schemapb.TemplateValue{"k1": empty}, "expression elements can only be scalars: invalid parameter")
	exact(`id < 10`, map[string]*schemapb.TemplateValue{"unused": empty}, "expression elements can only be scalars: invalid parameter")
	exact(`id in {k1}`, map[string]*schemapb.TemplateValue{"k1": noData}, "unknown template variable value type: <nil>: invalid parameter")
	exact(`id < 10`, map[string]*schemapb.TemplateValue{"k1": nil}, "expression template variable value is nil, template name: {k1}: invalid parameter")
	exact(`id in {k1}`, map[string]*schemapb.TemplateValue{"k1": badJSON}, "unexpected EOF: invalid parameter")
	// A filter that does not parse fails first, as Milvus's visitor runs before the conversion.
	f(`id <`, map[string]*schemapb.TemplateValue{"k1": empty}, "cannot parse expression")
	f(`id in {k1}`, map[string]*schemapb.TemplateValue{"k1": i64(3)}, "the value of term expression template variable {k1} is not array")
}

// TestMilvusClientExpressions follows InvalidExpressions in Milvus's Go
// client tests (tests/go_client/common): error or not, and the substring.
func TestMilvusClientExpressions(t *testing.T) {
	f := func(text string, errNil bool, want string) {
		t.Helper()
		_, err := Parse(testSchema(), text, nil)
		if errNil {
			if err != nil {
				t.Errorf("Parse(%s): %v", text, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want %q", text, err, want)
		}
	}
	f(`nope in [0]`, true, "")
	f(`i64 in not [0]`, false, "cannot parse expression")
	f(`i64 < vec`, false, "not supported")
	f(`vec in [0]`, false, "cannot be casted to FloatVector")
	f(`j == 1`, true, "")
	f(`j like 'a%' `, true, "")
	f("j like `a%` ", false, "cannot parse expression")
	f(`$meta > 1`, true, "")
	f(`$meta["dynamicList"] == [2, 3]`, true, "")
	f(`j['a'] == [2, 3]`, true, "")
	f(`j[0] == [2, 3]`, true, "")
	f(`json_contains (j['number'], 2)`, true, "")
	f(`json_contains (j['list'], [2])`, true, "")
	f(`json_contains_all (j['list'], 2)`, false, "operation element must be an array")
	f(`JSON_CONTAINS_ANY (j['list'], 2)`, false, "operation element must be an array")
	f(`json_contains_aby (j['list'], 2)`, false, "function json_contains_aby(json, int64_t) not found.")
	f(`ai[-1] > 100`, false, "cannot parse expression")
	f(`j[-1] > 1`, false, "invalid expression")
}

func TestPrimaryKeyInVarChar(t *testing.T) {
	schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "pk", DataType: schemapb.DataType_VarChar, IsPrimaryKey: true,
			TypeParams: []*commonpb.KeyValuePair{{Key: "max_length", Value: "64"}}},
		{FieldID: 101, Name: "n", DataType: schemapb.DataType_Int64},
	}}
	e, err := Parse(schema, `pk in ["a", "b\"c"]`, nil)
	if err != nil {
		t.Fatal(err)
	}
	ints, strs, ok := e.PrimaryKeyIn()
	if !ok || ints != nil || !slices.Equal(strs, []string{"a", `b"c`}) {
		t.Errorf("PrimaryKeyIn = %v, %q, %v", ints, strs, ok)
	}
	e, err = Parse(schema, `pk == "x"`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, strs, ok := e.PrimaryKeyIn(); !ok || !slices.Equal(strs, []string{"x"}) {
		t.Errorf("PrimaryKeyIn(pk == x) = %q, %v", strs, ok)
	}
	if _, err := Parse(schema, `pk > 1`, nil); err == nil || !strings.Contains(err.Error(), "comparisons between VarChar and Int64 are not supported") {
		t.Errorf("pk > 1: %v", err)
	}
	if _, err := Parse(schema, `color == "red"`, nil); err == nil || !strings.HasSuffix(err.Error(), "error: field color not exist: invalid parameter") {
		t.Errorf("unknown field without dynamic field: %v", err)
	}
}

func TestTemplateArrays(t *testing.T) {
	jsonArr := &schemapb.TemplateValue{Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: &schemapb.TemplateArrayValue{
		Data: &schemapb.TemplateArrayValue_JsonData{JsonData: &schemapb.JSONArray{Data: [][]byte{[]byte(`1`), []byte(`"x"`), []byte(`[1, 2]`), []byte(`2.5`)}}}}}}
	nested := &schemapb.TemplateValue{Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: &schemapb.TemplateArrayValue{
		Data: &schemapb.TemplateArrayValue_ArrayData{ArrayData: &schemapb.TemplateArrayValueArray{Data: []*schemapb.TemplateArrayValue{
			{Data: &schemapb.TemplateArrayValue_LongData{LongData: &schemapb.LongArray{Data: []int64{1, 2}}}},
			{Data: &schemapb.TemplateArrayValue_StringData{StringData: &schemapb.StringArray{Data: []string{"a"}}}},
		}}}}}}
	strs := &schemapb.TemplateValue{Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: &schemapb.TemplateArrayValue{
		Data: &schemapb.TemplateArrayValue_StringData{StringData: &schemapb.StringArray{Data: []string{"apple", "cherry"}}}}}}
	f := func(text string, tpl map[string]*schemapb.TemplateValue, canon string, want ...int) {
		t.Helper()
		e, err := Parse(testSchema(), text, tpl)
		if err != nil {
			t.Fatalf("Parse(%s): %v", text, err)
		}
		if e.String() != canon {
			t.Errorf("String() = %s, want %s", e, canon)
		}
		bs, err := e.Eval(context.Background(), smallBatch())
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		bs.ForEach(func(i int) { got = append(got, i) })
		if !slices.Equal(got, want) {
			t.Errorf("%s: rows %v, want %v", text, got, want)
		}
	}
	f(`j["a"] in {v}`, map[string]*schemapb.TemplateValue{"v": jsonArr}, `j["a"] in [1, "x", [1, 2], 2.5]`, 0, 1, 5)
	f(`json_contains_any(j["tags"], {v})`, map[string]*schemapb.TemplateValue{"v": jsonArr}, `json_contains_any(j["tags"], [1, "x", [1, 2], 2.5])`, 0, 1)
	f(`j["a"] in {v}`, map[string]*schemapb.TemplateValue{"v": nested}, `j["a"] in [[1, 2], ["a"]]`, 5)
	f(`s in {v}`, map[string]*schemapb.TemplateValue{"v": strs}, `s in ["apple", "cherry"]`, 0, 3)
}

// TestArrayElementTypes covers Array fields of every element type.
func TestArrayElementTypes(t *testing.T) {
	arr := func(name string, id int64, elem schemapb.DataType) *schemapb.FieldSchema {
		return &schemapb.FieldSchema{FieldID: id, Name: name, DataType: schemapb.DataType_Array, ElementType: elem,
			TypeParams: []*commonpb.KeyValuePair{{Key: "max_capacity", Value: "8"}}}
	}
	schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: 1, Name: "pk", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		arr("ab", 2, schemapb.DataType_Bool), arr("a8", 3, schemapb.DataType_Int8), arr("a16", 4, schemapb.DataType_Int16),
		arr("a32", 5, schemapb.DataType_Int32), arr("af", 6, schemapb.DataType_Float), arr("as", 7, schemapb.DataType_VarChar),
	}}
	bools := func(xs ...bool) *schemapb.ScalarField {
		return &schemapb.ScalarField{Data: &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: xs}}}
	}
	ints := func(xs ...int32) *schemapb.ScalarField {
		return &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: xs}}}
	}
	floats := func(xs ...float32) *schemapb.ScalarField {
		return &schemapb.ScalarField{Data: &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: xs}}}
	}
	col := func(elem schemapb.DataType, rows ...*schemapb.ScalarField) column.Column {
		return &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: elem, Data: rows}
	}
	batch := &memBatch{n: 3, cols: map[int64]column.Column{
		1: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2, 3}},
		2: col(schemapb.DataType_Bool, bools(true), bools(false, false), bools()),
		3: col(schemapb.DataType_Int8, ints(-1, 5), ints(127), ints()),
		4: col(schemapb.DataType_Int16, ints(300), ints(-300, 1), ints(2)),
		5: col(schemapb.DataType_Int32, ints(1<<20), ints(7), ints(7, 8)),
		6: col(schemapb.DataType_Float, floats(0.1, 2), floats(1.5), floats()),
		7: col(schemapb.DataType_VarChar, strArray("x"), strArray("y", "z"), strArray()),
	}}
	f := func(text string, want ...int) {
		t.Helper()
		e, err := Parse(schema, text, nil)
		if err != nil {
			t.Fatalf("Parse(%s): %v", text, err)
		}
		bs, err := e.Eval(context.Background(), batch)
		if err != nil {
			t.Fatalf("Eval(%s): %v", text, err)
		}
		var got []int
		bs.ForEach(func(i int) { got = append(got, i) })
		if !slices.Equal(got, want) {
			t.Errorf("%s: rows %v, want %v", text, got, want)
		}
	}
	f(`array_contains(ab, false)`, 1)
	f(`ab[0] == true`, 0)
	f(`array_length(ab) == 2`, 1)
	f(`array_contains_any(a8, [5, 127])`, 0, 1)
	f(`a8[0] < 0`, 0)
	f(`a16[0] in [300, 2]`, 0, 2)
	f(`array_contains_all(a16, [1, -300])`, 1)
	f(`a32[1] == 8`, 2)
	f(`array_contains(a32, 1048576)`, 0)
	f(`af[0] == 0.1`, 0)
	f(`array_contains(af, 1.5)`, 1)
	f(`af[1] > 1`, 0)
	f(`as[1] like "z%"`, 1)
	f(`array_contains_any(as, ["x", "z"])`, 0, 1)
	f(`a8 == [-1, 5]`, 0)
	f(`a8 != [-1, 5]`, 1, 2)
	f(`a32[0] + 1 == 8`, 1, 2)
}
