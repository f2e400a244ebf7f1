package proxy

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
)

// insertSchema is a decoded dynamic collection: id (pk), title VarChar(16),
// vec FloatVector(4), $meta.
func insertSchema(t testing.TB, mod func(s *schemapb.CollectionSchema)) *schemapb.CollectionSchema {
	t.Helper()
	s := testSchema("c")
	s.EnableDynamicField = true
	if mod != nil {
		mod(s)
	}
	got, _, err := decodeCreateCollectionSchema("c", mustMarshal(t, s), 1)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func longs(name string, v ...int64) *schemapb.FieldData {
	return column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: v},
		&schemapb.FieldSchema{Name: name, DataType: schemapb.DataType_Int64})
}

func strs(name string, v ...string) *schemapb.FieldData {
	return column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: v},
		&schemapb.FieldSchema{Name: name, DataType: schemapb.DataType_VarChar})
}

func floats(name string, dim int, v ...float32) *schemapb.FieldData {
	return column.ToFieldData(&column.FloatVector{Dim: dim, Data: v},
		&schemapb.FieldSchema{Name: name, DataType: schemapb.DataType_FloatVector})
}

// dynamicRows is the column the SDK builds from dynamic keys: no name, IsDynamic.
func dynamicRows(rows ...string) *schemapb.FieldData {
	b := make([][]byte, len(rows))
	for i, r := range rows {
		b[i] = []byte(r)
	}
	fd := column.ToFieldData(&column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: b},
		&schemapb.FieldSchema{DataType: schemapb.DataType_JSON})
	fd.IsDynamic = true
	return fd
}

func vec2(n int) []float32 {
	out := make([]float32, 4*n)
	for i := range out {
		out[i] = float32(i)
	}
	return out
}

func TestInsertColumnsHappyPath(t *testing.T) {
	s := insertSchema(t, nil)
	cols, err := insertColumns(s, []*schemapb.FieldData{
		longs("id", 1, 2), strs("title", "a", "b"), floats("vec", 4, vec2(2)...), dynamicRows(`{"x":1}`, `{}`),
	}, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 4 {
		t.Fatalf("%d columns", len(cols))
	}
	if got := cols[100].(*column.Scalar[int64]).Data; !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Errorf("id %v", got)
	}
	if got := cols[102].(*column.FloatVector); got.Dim != 4 || got.Len() != 2 {
		t.Errorf("vec %+v", got)
	}
	meta := cols[103].(*column.Scalar[[]byte])
	if string(meta.Data[0]) != `{"x":1}` || meta.Valid != nil {
		t.Errorf("meta %q valid %v", meta.Data, meta.Valid)
	}
	// Round trip through the wire form.
	back, err := column.FromFieldData(column.ToFieldData(cols[101], s.Fields[1]))
	if err != nil || !reflect.DeepEqual(back, cols[101]) {
		t.Errorf("round trip %v: %+v vs %+v", err, back, cols[101])
	}
}

func TestInsertColumnsDynamicDefaults(t *testing.T) {
	s := insertSchema(t, nil)
	cols, err := insertColumns(s, []*schemapb.FieldData{longs("id", 1, 2), strs("title", "a", "b"), floats("vec", 4, vec2(2)...)}, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	meta := cols[103].(*column.Scalar[[]byte])
	if len(meta.Data) != 2 || string(meta.Data[1]) != "{}" {
		t.Errorf("meta %q", meta.Data)
	}
}

func TestInsertColumnsAutoID(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) { s.Fields[0].AutoID = true })
	cols, err := insertColumns(s, []*schemapb.FieldData{strs("title", "a"), floats("vec", 4, vec2(1)...)}, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cols[100]; ok {
		t.Error("auto_id insert returned a primary key column")
	}
	_, err = insertColumns(s, []*schemapb.FieldData{longs("id", 7), strs("title", "a"), floats("vec", 4, vec2(1)...)}, 1, false)
	checkErr(t, err, 1100, "more fieldData has pass in: invalid parameter[expected=4][actual=5]")
	// Upsert must carry the key, even with auto_id.
	cols, err = insertColumns(s, []*schemapb.FieldData{longs("id", 7), strs("title", "a"), floats("vec", 4, vec2(1)...)}, 1, true)
	if err != nil || cols[100] == nil {
		t.Fatalf("auto_id upsert: %v", err)
	}
	_, err = insertColumns(s, []*schemapb.FieldData{strs("title", "a"), floats("vec", 4, vec2(1)...)}, 1, true)
	checkErr(t, err, 1100, "must assign pk when checking duplicates, primary field: id: invalid parameter")
}

func TestInsertColumnsNullableAndDefault(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) {
		s.Fields = append(s.Fields,
			&schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Int32, Nullable: true},
			&schemapb.FieldSchema{Name: "d", DataType: schemapb.DataType_Double, DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_DoubleData{DoubleData: 2.5}}},
			&schemapb.FieldSchema{Name: "nd", DataType: schemapb.DataType_VarChar, Nullable: true, TypeParams: kv("max_length", "8"),
				DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: "dflt"}}},
		)
	})
	base := []*schemapb.FieldData{longs("id", 1, 2, 3), strs("title", "a", "b", "c"), floats("vec", 4, vec2(3)...)}

	// All three missing.
	cols, err := insertColumns(s, base, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	n := cols[103].(*column.Scalar[int32])
	if !reflect.DeepEqual(n.Valid, []bool{false, false, false}) {
		t.Errorf("missing nullable: valid %v", n.Valid)
	}
	d := cols[104].(*column.Scalar[float64])
	if !reflect.DeepEqual(d.Data, []float64{2.5, 2.5, 2.5}) || d.Valid != nil {
		t.Errorf("missing default: %v %v", d.Data, d.Valid)
	}
	nd := cols[105].(*column.Scalar[string])
	if !reflect.DeepEqual(nd.Data, []string{"dflt", "dflt", "dflt"}) || !reflect.DeepEqual(nd.Valid, []bool{true, true, true}) {
		t.Errorf("missing nullable default: %v %v", nd.Data, nd.Valid)
	}

	// Compact nullable data (as the SDK sends it) and nulls replaced by defaults.
	nFD := column.ToFieldData(&column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{7}}, s.Fields[3])
	nFD.ValidData = []bool{false, true, false}
	dFD := column.ToFieldData(&column.Scalar[float64]{Type: schemapb.DataType_Double, Data: []float64{1}}, s.Fields[4])
	dFD.ValidData = []bool{false, true, false}
	cols, err = insertColumns(s, append(append([]*schemapb.FieldData{}, base...), nFD, dFD), 3, false)
	if err != nil {
		t.Fatal(err)
	}
	n = cols[103].(*column.Scalar[int32])
	if !reflect.DeepEqual(n.Data, []int32{0, 7, 0}) || !reflect.DeepEqual(n.Valid, []bool{false, true, false}) {
		t.Errorf("compact nullable: %v %v", n.Data, n.Valid)
	}
	d = cols[104].(*column.Scalar[float64])
	if !reflect.DeepEqual(d.Data, []float64{2.5, 1, 2.5}) || d.Valid != nil {
		t.Errorf("defaults: %v %v", d.Data, d.Valid)
	}
	if !reflect.DeepEqual(dFD.ValidData, []bool{false, true, false}) {
		t.Errorf("request modified: %v", dFD.ValidData)
	}

	// Nulls for a field that is neither nullable nor defaulted.
	bad := strs("title", "a", "c")
	bad.ValidData = []bool{true, false, true}
	_, err = insertColumns(s, []*schemapb.FieldData{longs("id", 1, 2, 3), bad, floats("vec", 4, vec2(3)...)}, 3, false)
	checkErr(t, err, 1100, "the length of valid_data of field(title) is wrong: invalid parameter[expected=0][actual=3]")
	// A validity mask of the wrong length.
	nFD.ValidData = []bool{true}
	_, err = insertColumns(s, append(append([]*schemapb.FieldData{}, base...), nFD), 3, false)
	checkErr(t, err, 1100, "the length of valid_data of field(n) is wrong: invalid parameter[expected=3][actual=1]")
}

func TestInsertColumnsRules(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) {
		s.Fields = append(s.Fields,
			&schemapb.FieldSchema{Name: "small", DataType: schemapb.DataType_Int8, Nullable: true},
			&schemapb.FieldSchema{Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_VarChar,
				Nullable: true, TypeParams: kv("max_capacity", "2", "max_length", "3")},
			&schemapb.FieldSchema{Name: "doc", DataType: schemapb.DataType_JSON, Nullable: true},
		)
	})
	f := func(name string, data []*schemapb.FieldData, numRows int, code int32, fragments ...string) {
		t.Helper()
		_, err := insertColumns(s, data, numRows, false)
		t.Run(name, func(t *testing.T) { checkErr(t, err, code, fragments...) })
	}
	ok := func() []*schemapb.FieldData {
		return []*schemapb.FieldData{longs("id", 1, 2), strs("title", "a", "b"), floats("vec", 4, vec2(2)...)}
	}
	with := func(extra ...*schemapb.FieldData) []*schemapb.FieldData { return append(ok(), extra...) }

	f("empty payload", []*schemapb.FieldData{longs("id", 1, 2), {FieldName: "title"}, floats("vec", 4, vec2(2)...)}, 2, 1100,
		"varchar field 'title' is illegal, array type mismatch")
	f("empty bool payload", with(&schemapb.FieldData{FieldName: "small"}), 2, 1100,
		"the num_rows (0) of field (small) is not equal to passed num_rows (2)")
	f("zero rows", []*schemapb.FieldData{longs("id"), strs("title"), floats("vec", 4)}, 0, 1100,
		"num_rows should be greater than 0: invalid parameter[expected=invalid num_rows][actual=0]")
	f("missing field", []*schemapb.FieldData{longs("id", 1, 2), floats("vec", 4, vec2(2)...)}, 2, 1100,
		"fieldSchema(title) has no corresponding fieldData pass in: invalid parameter")
	f("duplicate field", with(strs("title", "a", "b")), 2, 1100, "duplicated field title found: invalid parameter")
	f("unknown field", with(longs("nope", 1, 2)), 2, 1100, "more fieldData has pass in: invalid parameter[expected=7][actual=8]")
	f("row count", []*schemapb.FieldData{longs("id", 1, 2), strs("title", "a"), floats("vec", 4, vec2(2)...)}, 2, 1100,
		"the num_rows (1) of field (title) is not equal to passed num_rows (2): invalid parameter[expected=2][actual=1]")
	f("dim", []*schemapb.FieldData{longs("id", 1, 2), strs("title", "a", "b"), floats("vec", 8, vec2(2)...)}, 2, 1100,
		"the dim (8) of field data(vec) is not equal to schema dim (4): invalid parameter[expected=4][actual=8]")
	f("float data not divisible", []*schemapb.FieldData{longs("id", 1, 2), strs("title", "a", "b"), floats("vec", 4, 1, 2, 3, 4, 5)}, 2, 65535,
		"the length(5) of float data should divide the dim(4)")
	f("NaN", []*schemapb.FieldData{longs("id", 1), strs("title", "a"), floats("vec", 4, 1, float32(math.NaN()), 3, 4)}, 1, 65535,
		"value 'NaN' is not a number or infinity")
	f("varchar too long", []*schemapb.FieldData{longs("id", 1, 2), strs("title", "a", strings.Repeat("x", 17)), floats("vec", 4, vec2(2)...)}, 2, 1100,
		"length of varchar field title exceeds max length, row number: 1, length: 17, max length: 16: invalid parameter")
	f("wrong payload type", []*schemapb.FieldData{longs("id", 1, 2), longs("title", 1, 2), floats("vec", 4, vec2(2)...)}, 2, 1100,
		"varchar field 'title' is illegal, array type mismatch: invalid parameter[expected=need string array][actual=got nil]")
	f("int8 overflow", with(&schemapb.FieldData{FieldName: "small", Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
		Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: []int32{1, 300}}}}}}), 2, 1100,
		"the 1th element (300) out of range: [-128, 127]: invalid parameter[expected=integer doesn't overflow][actual=out of range]")
	arr := func(rows ...*schemapb.ScalarField) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "tags", Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
			Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{Data: rows}}}}}
	}
	sa := func(v ...string) *schemapb.ScalarField {
		return &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: v}}}
	}
	f("array capacity", with(arr(sa("a"), sa("a", "b", "c"))), 2, 1100,
		"the length (3) of 1th array exceeds max capacity (2): invalid parameter[expected=valid length array][actual=array length exceeds max capacity]")
	f("array element length", with(arr(sa("a"), sa("abcd"))), 2, 1100,
		`length of Array array field "tags" exceeds max length, row number: 1, array index: 0, length: 4, max length: 3`)
	f("array element type", with(arr(sa("a"), &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: []int64{1}}}})), 2, 1100,
		"insert data does not match: invalid parameter[expected=string array][actual=*schemapb.ScalarField_LongData array]")
	jsonCol := func(rows ...string) *schemapb.FieldData {
		fd := dynamicRows(rows...)
		fd.IsDynamic = false
		fd.FieldName = "doc"
		return fd
	}
	f("json too long", with(jsonCol(`{}`, `"`+strings.Repeat("x", 65536)+`"`)), 2, 1100,
		"the length (65538) of json field (doc) exceeds max length (65536): invalid parameter[expected=valid length json string][actual=length exceeds max length]")
	f("json invalid", with(jsonCol(`{}`, `{`)), 2, 1001, "IO failed: unexpected end of JSON input")
	f("dynamic not an object", with(dynamicRows(`{}`, `[1]`)), 2, 1100, "invalid dynamic field data, only json map is supported")
	f("dynamic $meta key", with(dynamicRows(`{}`, `{"$meta":1}`)), 2, 1100, "cannot set json key to: $meta: invalid parameter")
	f("dynamic static key", with(dynamicRows(`{}`, `{"title":1}`)), 2, 1100, "dynamic field name cannot include the static field name: title: invalid parameter")
	f("dynamic too long", with(dynamicRows(`{}`, `{"k":"`+strings.Repeat("x", 65536)+`"}`)), 2, 1100,
		"the length (65544) of dynamic field exceeds max length (65536): invalid parameter[expected=valid length dynamic field][actual=length exceeds max length]")

	_, err := insertColumns(s, []*schemapb.FieldData{longs("id", 1, 1), strs("title", "a", "b"), floats("vec", 4, vec2(2)...)}, 2, true)
	checkErr(t, err, 1100, "duplicate primary keys are not allowed in the same batch")
	_, err = insertColumns(s, []*schemapb.FieldData{strs("title", "a", "b"), floats("vec", 4, vec2(2)...)}, 2, true)
	checkErr(t, err, 1100, "must assign pk when checking duplicates, primary field: id")
	_, err = insertColumns(s, []*schemapb.FieldData{strs("id", "a", "b"), strs("title", "a", "b"), floats("vec", 4, vec2(2)...)}, 2, true)
	checkErr(t, err, 1100, "field 'id' is illegal, array type mismatch: invalid parameter[expected=need long int array][actual=got nil]")
	_, err = insertColumns(s, []*schemapb.FieldData{floats("id", 4, vec2(2)...), strs("title", "a", "b"), floats("vec", 4, vec2(2)...)}, 2, true)
	checkErr(t, err, 1100, "primary field must be scalar type")
}

func TestInsertColumnsNonDynamicMeta(t *testing.T) {
	s := testSchema("c")
	got, _, err := decodeCreateCollectionSchema("c", mustMarshal(t, s), 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = insertColumns(got, []*schemapb.FieldData{longs("id", 1), strs("title", "a"), floats("vec", 4, vec2(1)...), dynamicRows(`{"a":1}`)}, 1, false)
	checkErr(t, err, 1100, "more fieldData has pass in")
}

func TestInsertColumnsVectorTypes(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) {
		s.Fields = append(s.Fields,
			&schemapb.FieldSchema{Name: "bin", DataType: schemapb.DataType_BinaryVector, TypeParams: kv("dim", "16")},
			&schemapb.FieldSchema{Name: "sp", DataType: schemapb.DataType_SparseFloatVector},
			&schemapb.FieldSchema{Name: "half", DataType: schemapb.DataType_Float16Vector, TypeParams: kv("dim", "2")},
		)
	})
	sparse := func(rows ...[]byte) *schemapb.FieldData {
		return column.ToFieldData(&column.SparseVector{Dim: 10, Rows: rows}, s.Fields[4])
	}
	row := func(pairs ...float32) []byte {
		out := make([]byte, 0, 4*len(pairs))
		for i := 0; i+1 < len(pairs); i += 2 {
			idx := uint32(pairs[i])
			v := math.Float32bits(pairs[i+1])
			out = append(out, byte(idx), byte(idx>>8), byte(idx>>16), byte(idx>>24), byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		}
		return out
	}
	bin := column.ToFieldData(&column.ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 16, Data: []byte{1, 2}}, s.Fields[3])
	half := column.ToFieldData(&column.ByteVector{Type: schemapb.DataType_Float16Vector, Dim: 2, Data: []byte{0, 0x3c, 0, 0x3c}}, s.Fields[5])
	base := []*schemapb.FieldData{longs("id", 1), strs("title", "a"), floats("vec", 4, vec2(1)...), bin, half}
	cols, err := insertColumns(s, append(base, sparse(row(1, 0.5, 7, 1))), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if cols[103].Len() != 1 || cols[104].Len() != 1 || cols[105].Len() != 1 {
		t.Errorf("lens %d %d %d", cols[103].Len(), cols[104].Len(), cols[105].Len())
	}
	_, err = insertColumns(s, append(base, sparse(row(7, 0.5, 1, 1))), 1, false)
	checkErr(t, err, 65535, "unsorted or same indices in sparse float vector")
	_, err = insertColumns(s, append(base, sparse(row(1, -1))), 1, false)
	checkErr(t, err, 65535, "negative value in sparse float vector")
	_, err = insertColumns(s, append(base, sparse([]byte{1, 2, 3})), 1, false)
	checkErr(t, err, 65535, "invalid data length in sparse float vector: 3")
	badHalf := column.ToFieldData(&column.ByteVector{Type: schemapb.DataType_Float16Vector, Dim: 2, Data: []byte{0, 0x7e, 0, 0x3c}}, s.Fields[5])
	_, err = insertColumns(s, []*schemapb.FieldData{longs("id", 1), strs("title", "a"), floats("vec", 4, vec2(1)...), bin, badHalf, sparse(row(1, 1))}, 1, false)
	checkErr(t, err, 65535, "float16 vector contain nan or infinity value.") // typeutil.VerifyFloats16's text
	// +Inf as a bfloat16 (0x7f80) and a float16 (0x7c00): VerifyBFloats16's and VerifyFloats16's texts.
	checkErr(t, verifyHalfs([]byte{0, 0x3f, 0x80, 0x7f}, distance.BFloat16ToFloat32, "bfloat16"), 65535, "bfloat16 vector contain nan or infinity value.")
	checkErr(t, verifyHalfs([]byte{0, 0x3c, 0, 0x7c}, distance.Float16ToFloat32, "float16"), 65535, "float16 vector contain nan or infinity value.")
	badBin := column.ToFieldData(&column.ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 8, Data: []byte{1}}, s.Fields[3])
	_, err = insertColumns(s, []*schemapb.FieldData{longs("id", 1), strs("title", "a"), floats("vec", 4, vec2(1)...), badBin, half, sparse(row(1, 1))}, 1, false)
	checkErr(t, err, 1100, "the dim (8) of field data(bin) is not equal to schema dim (16)")
}

func FuzzInsertColumns(f *testing.F) {
	f.Add([]byte(`{"a":1}`), "title", int64(3), 4, uint8(2))
	f.Add([]byte(`[`), "", int64(-1), 0, uint8(0))
	s := insertSchema(f, func(s *schemapb.CollectionSchema) {
		s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Int16, Nullable: true})
	})
	f.Fuzz(func(t *testing.T, meta []byte, name string, id int64, dim int, rows uint8) {
		n := int(rows % 4)
		data := []*schemapb.FieldData{longs("id", id), strs(name, "x"), floats("vec", dim, vec2(1)...), dynamicRows(string(meta))}
		nFD := &schemapb.FieldData{FieldName: "n", ValidData: make([]bool, n), Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
			Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: make([]int32, n/2)}}}}}
		data = append(data, nFD)
		cols, err := insertColumns(s, data, n, rows%2 == 0)
		if err != nil {
			return
		}
		for id, c := range cols {
			if c.Len() != n {
				t.Fatalf("field %d has %d rows, want %d", id, c.Len(), n)
			}
		}
	})
}

// BenchmarkInsertColumns measures the validation and conversion of one
// SDK-sized batch: 1,000 rows of 768-d vectors with dynamic keys.
func BenchmarkInsertColumns(b *testing.B) {
	s := insertSchema(b, func(s *schemapb.CollectionSchema) { s.Fields[2].TypeParams = kv("dim", "768") })
	n := 1000
	ids := make([]int64, n)
	titles := make([]string, n)
	meta := make([]string, n)
	for i := range ids {
		ids[i] = int64(i)
		titles[i] = "t"
		meta[i] = `{"color":"red","n":12}`
	}
	vec := make([]float32, 768*n)
	data := []*schemapb.FieldData{longs("id", ids...), strs("title", titles...), floats("vec", 768, vec...), dynamicRows(meta...)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := insertColumns(s, data, n, false); err != nil {
			b.Fatal(err)
		}
	}
}
