package proxy

import (
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// TestInsertColumnsNullableShape: a nullable (or defaulted) scalar column
// carries values for its valid rows only; one slot per row with nulls in
// place is refused as Milvus's fillWithNullValueImpl /
// fillWithDefaultValueImpl refuse it (internal/proxy/validate_util.go:748-772).
func TestInsertColumnsNullableShape(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) {
		s.Fields = append(s.Fields,
			&schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Int64, Nullable: true},
			&schemapb.FieldSchema{Name: "d", DataType: schemapb.DataType_Int64,
				DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: 7}}})
	})
	withValid := func(fd *schemapb.FieldData, valid ...bool) *schemapb.FieldData {
		fd.ValidData = valid
		return fd
	}
	base := func() []*schemapb.FieldData {
		return []*schemapb.FieldData{longs("id", 1, 2, 3), strs("title", "a", "b", "c"), floats("vec", 4, make([]float32, 12)...)}
	}

	full := append(base(), withValid(longs("n", 10, 0, 30), true, false, true))
	_, err := insertColumns(s, full, 3, false)
	checkErr(t, err, 1100, "the length of field is wrong", "[expected=2][actual=3]")

	fullDefault := append(base(), withValid(longs("d", 10, 0, 30), true, false, true))
	_, err = insertColumns(s, fullDefault, 3, false)
	checkErr(t, err, 1100, "the length of field is wrong", "[expected=2][actual=3]")

	cols, err := insertColumns(s, append(base(),
		withValid(longs("n", 10, 30), true, false, true), withValid(longs("d", 10, 30), true, false, true)), 3, false)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int64{}
	for _, f := range s.Fields {
		byName[f.GetName()] = f.GetFieldID()
	}
	n := cols[byName["n"]].(*column.Scalar[int64])
	if !reflect.DeepEqual(n.Valid, []bool{true, false, true}) || n.Data[0] != 10 || n.Data[2] != 30 {
		t.Fatalf("n: %+v", n)
	}
	d := cols[byName["d"]].(*column.Scalar[int64])
	if !reflect.DeepEqual(d.Data, []int64{10, 7, 30}) {
		t.Fatalf("d: %+v", d)
	}

	// Every row valid: the one form both take.
	if _, err := insertColumns(s, append(base(), withValid(longs("n", 1, 2, 3), true, true, true)), 3, false); err != nil {
		t.Fatal(err)
	}
}
