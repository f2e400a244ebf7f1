package datanode

import (
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// TestImportOrder orders an imported segment's rows, gathered from
// several chunks, by primary key (Int64 and VarChar), stably; rows
// already in order need no reordering, and a segment without its
// primary-key column cannot be sorted.
func TestImportOrder(t *testing.T) {
	schema := func(pk schemapb.DataType) *schemapb.CollectionSchema {
		return &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: pk, IsPrimaryKey: true},
			{FieldID: 101, Name: "v", DataType: schemapb.DataType_Int64},
		}}
	}
	ints := func(v ...int64) column.Column { return &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: v} }
	strs := func(v ...string) column.Column {
		return &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: v}
	}
	chunk := func(pk column.Column) map[int64]column.Column {
		return map[int64]column.Column{100: pk, 101: ints(make([]int64, pk.Len())...)}
	}
	for _, tc := range []struct {
		name   string
		pk     schemapb.DataType
		chunks []map[int64]column.Column
		order  []int
		sorted bool
	}{
		{"int64 across chunks", schemapb.DataType_Int64, []map[int64]column.Column{chunk(ints(5, 3)), chunk(ints(4, 1))}, []int{3, 1, 2, 0}, true},
		{"duplicates keep input order", schemapb.DataType_Int64, []map[int64]column.Column{chunk(ints(2, 1, 2)), chunk(ints(1))}, []int{1, 3, 0, 2}, true},
		{"varchar", schemapb.DataType_VarChar, []map[int64]column.Column{chunk(strs("b", "c")), chunk(strs("a"))}, []int{2, 0, 1}, true},
		{"already in order", schemapb.DataType_Int64, []map[int64]column.Column{chunk(ints(1, 2)), chunk(ints(3))}, nil, true},
		{"no primary key column", schemapb.DataType_Int64, []map[int64]column.Column{{101: ints(2, 1)}}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order, sorted := importOrder(schema(tc.pk), tc.chunks)
			if !slices.Equal(order, tc.order) || sorted != tc.sorted {
				t.Fatalf("importOrder = %v, %v; want %v, %v", order, sorted, tc.order, tc.sorted)
			}
		})
	}
}
