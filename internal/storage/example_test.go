package storage_test

import (
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/storage"
)

func ExampleEncodeColumn() {
	c := &column.FloatVector{Dim: 2, Data: []float32{1, 2, 3, 4}}
	file, err := storage.EncodeColumn(c)
	if err != nil {
		panic(err)
	}
	// In a query node, file would be an objstore.Mapping's Bytes(), kept
	// open while the column is in use.
	got, err := storage.DecodeColumn(file)
	if err != nil {
		panic(err)
	}
	fmt.Println(storage.InsertLogPath(1, 2, 3, 101, 9), len(file), got.Len(), got.(*column.FloatVector).Row(1))
	// Output: insert_log/1/2/3/101/9 80 2 [3 4]
}

func ExampleBuildStats() {
	pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{10, 20, 30}}
	age := &column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{41, 17, 65}}
	st := storage.BuildStats(pk, map[int64]column.Column{102: age})
	fmt.Println(st.MayContainInt(20), st.MayContainInt(31), st.Fields[102].MinInt, st.Fields[102].MaxInt)
	// Output: true false 17 65
}
