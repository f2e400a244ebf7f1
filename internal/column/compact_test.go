package column

import (
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

func TestCompactDropsNullSlots(t *testing.T) {
	f := &schemapb.FieldSchema{Name: "s", DataType: schemapb.DataType_VarChar, Nullable: true}
	c := &Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"a", "", "c"}, Valid: []bool{true, false, true}}
	fd := ToFieldData(c, f)
	got := Compact(fd)
	if d := got.GetScalars().GetStringData().GetData(); !reflect.DeepEqual(d, []string{"a", "c"}) {
		t.Fatalf("compact data %q", d)
	}
	if !reflect.DeepEqual(got.GetValidData(), []bool{true, false, true}) || got.GetFieldName() != "s" {
		t.Fatalf("compact fd %v", got)
	}
	if d := fd.GetScalars().GetStringData().GetData(); len(d) != 3 {
		t.Fatalf("input modified: %q", d)
	}
	back, err := FromFieldData(got)
	if err != nil || !reflect.DeepEqual(back, Column(c)) {
		t.Fatalf("round trip %v: %+v", err, back)
	}
	// Compact already, or every row valid: unchanged.
	if Compact(got) != got {
		t.Fatal("compact input copied")
	}
	all := ToFieldData(&Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"a"}, Valid: []bool{true}}, f)
	if Compact(all) != all {
		t.Fatal("all-valid input copied")
	}
}
