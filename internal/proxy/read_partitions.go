package proxy

import (
	"encoding/binary"
	"math"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// readPartitionIDs resolves the partition names of a Search or Query as
// Milvus does: names must not be empty or too long
// (validatePartitionTag(name, false)), and an unknown name is the plain
// error "partition name <name> not found" (search_util.go getPartitionIDs).
// No names means every partition (nil).
func readPartitionIDs(c *model.Collection, names []string) ([]int64, error) {
	for _, n := range names {
		if err := validatePartitionNameForRead(n); err != nil {
			return nil, err
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	out := make([]int64, 0, len(names))
	for _, n := range names {
		p, ok := c.PartitionByName(n)
		if !ok {
			return nil, errPlain("partition name %s not found", n)
		}
		out = append(out, p.ID)
	}
	return out, nil
}

// allEmptyRows reports whether every sparse query row has no element.
func allEmptyRows(rows [][]byte) bool {
	for _, r := range rows {
		if len(r) > 0 {
			return false
		}
	}
	return true
}

// segcoreUnexpected is the code segcore's AssertInfo failures carry to
// the client (segcore ErrorCode::UnexpectedError, merr.SegcoreError).
const segcoreUnexpected = 2001

// validateSparseQueries checks sparse query vectors as segcore does when
// it reads a search's placeholder group (CopyAndWrapSparseRow with
// validate=true, internal/core/src/common/Utils.h), with its texts.
func validateSparseQueries(rows [][]byte) error {
	fail := func(msg string) error { return &errs.Error{Code: segcoreUnexpected, Msg: msg} }
	for _, row := range rows {
		if len(row)%8 != 0 {
			return fail("Invalid size for sparse row data")
		}
		for i := 0; i < len(row)/8; i++ {
			id := binary.LittleEndian.Uint32(row[i*8:])
			v := math.Float32frombits(binary.LittleEndian.Uint32(row[i*8+4:]))
			switch {
			case math.IsNaN(float64(v)) || math.IsInf(float64(v), 0):
				return fail("Invalid sparse row: NaN or Inf value")
			case v < 0:
				return fail("Invalid sparse row: negative value")
			case id == math.MaxUint32:
				return fail("Invalid sparse row: id should be smaller than uint32 max")
			case i > 0 && binary.LittleEndian.Uint32(row[(i-1)*8:]) >= id:
				return fail("Invalid sparse row: id should be strict ascending")
			}
		}
	}
	return nil
}
