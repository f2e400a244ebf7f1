package segment

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
)

// normCache holds a per-row number computed on the first search that needs
// it and extended as a growing segment grows: the L2 norm of a float-like
// vector (COSINE) or the length of a sparse term-frequency row (BM25). Published norms never change, so readers use a slice
// capped at their snapshot without the lock.
type normCache struct {
	mu    sync.Mutex
	norms []float32
}

// upTo returns the values of rows [0, n) of col, computing missing ones.
func (nc *normCache) upTo(col column.Column, n int) []float32 {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	if len(nc.norms) < n {
		var buf []float32
		for i := len(nc.norms); i < n; i++ {
			if sp, ok := col.(*column.SparseVector); ok {
				var sum float32
				row := sp.Rows[i]
				for j := 0; j+8 <= len(row); j += 8 {
					sum += math.Float32frombits(binary.LittleEndian.Uint32(row[j+4:]))
				}
				nc.norms = append(nc.norms, sum)
				continue
			}
			var v []float32
			v, buf = rowFloats(col, i, buf)
			nc.norms = append(nc.norms, float32(math.Sqrt(float64(distance.Dot(v, v)))))
		}
	}
	return nc.norms[:n:n]
}

// rowFloats returns row i of a float-like vector column (contiguous or a
// growing segment's chunks) as float32s, converting float16, bfloat16 and
// int8 into buf (grown as needed).
func rowFloats(col column.Column, i int, buf []float32) ([]float32, []float32) {
	run, base, _ := vectorRun(col, i)
	switch v := run.(type) {
	case *column.FloatVector:
		return v.Row(i - base), buf
	case *column.ByteVector:
		if cap(buf) < v.Dim {
			buf = make([]float32, v.Dim)
		}
		buf = buf[:v.Dim]
		convertRow(v, i-base, buf)
		return buf, buf
	}
	return nil, buf
}

// convertRow writes row i of a float16, bfloat16 or int8 vector column
// into dst (len Dim) as float32s.
func convertRow(v *column.ByteVector, i int, dst []float32) {
	row := v.Row(i)
	switch v.Type {
	case schemapb.DataType_Float16Vector:
		distance.Float16sToFloat32s(dst, row)
	case schemapb.DataType_BFloat16Vector:
		distance.BFloat16sToFloat32s(dst, row)
	default: // Int8Vector
		for j, b := range row {
			dst[j] = float32(int8(b))
		}
	}
}
