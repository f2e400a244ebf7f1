package storage

import (
	"fmt"
	"unsafe"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// Fixed field IDs of Milvus's system fields, stored as ordinary Int64
// binlogs.
const (
	RowIDField     int64 = 0
	TimestampField int64 = 1
)

// Timestamps views the decoded timestamp column (field 1, Int64 holding
// uint64 hybrid timestamps) as []uint64 without copying: the result shares
// memory with c, and so with the mapping c was decoded from.
func Timestamps(c column.Column) ([]uint64, error) {
	s, ok := c.(*column.Scalar[int64])
	if !ok || s.Type != schemapb.DataType_Int64 {
		return nil, fmt.Errorf("storage: timestamps: %s column, want Int64", c.DataType())
	}
	if s.Valid != nil {
		return nil, fmt.Errorf("storage: timestamps: column is nullable")
	}
	if len(s.Data) == 0 {
		return nil, nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&s.Data[0])), len(s.Data)), nil
}
