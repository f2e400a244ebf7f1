package segment

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/index"
)

// refRow returns row i of a float-like vector column as float64s.
func refRow(c column.Column, i int) []float64 {
	var out []float64
	switch v := c.(type) {
	case *column.FloatVector:
		for _, x := range v.Row(i) {
			out = append(out, float64(x))
		}
	case *column.ByteVector:
		row := v.Row(i)
		for j := range v.Dim {
			switch v.Type {
			case schemapb.DataType_Float16Vector:
				out = append(out, float64(distance.Float16ToFloat32(binary.LittleEndian.Uint16(row[2*j:]))))
			case schemapb.DataType_BFloat16Vector:
				out = append(out, float64(distance.BFloat16ToFloat32(binary.LittleEndian.Uint16(row[2*j:]))))
			default:
				out = append(out, float64(int8(row[j])))
			}
		}
	}
	return out
}

func refSparseDot(a, b []byte) float64 {
	m := map[uint32]float64{}
	for i := 0; i < len(a); i += 8 {
		m[binary.LittleEndian.Uint32(a[i:])] = float64(math.Float32frombits(binary.LittleEndian.Uint32(a[i+4:])))
	}
	s := 0.0
	for i := 0; i < len(b); i += 8 {
		s += m[binary.LittleEndian.Uint32(b[i:])] * float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i+4:])))
	}
	return s
}

// refScore is the Milvus score of row i for query q, computed naively.
func refScore(c column.Column, m index.Metric, qs index.Dataset, q, i int) float64 {
	switch v := c.(type) {
	case *column.SparseVector:
		return refSparseDot(qs.Sparse[q], v.Rows[i])
	case *column.ByteVector:
		if v.Type == schemapb.DataType_BinaryVector {
			w := v.RowBytes()
			a, b := qs.Binary[q*w:(q+1)*w], v.Row(i)
			inter, union, ham := 0, 0, 0
			for j := range a {
				inter += bits.OnesCount8(a[j] & b[j])
				union += bits.OnesCount8(a[j] | b[j])
				ham += bits.OnesCount8(a[j] ^ b[j])
			}
			if m == index.Hamming {
				return float64(ham)
			}
			if union == 0 {
				return 0
			}
			return 1 - float64(inter)/float64(union)
		}
	}
	x := refRow(c, i)
	qv := qs.Float[q*qs.Dim : (q+1)*qs.Dim]
	var dot, l2, qn, xn float64
	for j := range x {
		d := float64(qv[j]) - x[j]
		l2 += d * d
		dot += float64(qv[j]) * x[j]
		qn += float64(qv[j]) * float64(qv[j])
		xn += x[j] * x[j]
	}
	switch m {
	case index.L2:
		return l2
	case index.IP:
		return dot
	}
	if qn == 0 || xn == 0 {
		return 0
	}
	return dot / math.Sqrt(qn*xn)
}

// checkSearch compares res with a naive top-k over the rows keep allows.
func checkSearch(t *testing.T, res *SearchResult, c column.Column, m index.Metric, qs index.Dataset, keep func(i int) bool, n int, pks []int64) {
	t.Helper()
	c = contiguous(c)
	tol := 1e-3
	for q := range res.NQ {
		type hit struct {
			off   int
			score float64
		}
		var ref []hit
		for i := range n {
			if keep(i) {
				ref = append(ref, hit{i, refScore(c, m, qs, q, i)})
			}
		}
		slices.SortFunc(ref, func(a, b hit) int {
			if m.HigherIsBetter() {
				return cmp.Compare(b.score, a.score)
			}
			return cmp.Compare(a.score, b.score)
		})
		want := min(len(ref), res.K)
		seen := map[int64]bool{}
		for j := range res.K {
			slot := q*res.K + j
			off := res.Offsets[slot]
			if j >= want {
				if off != -1 {
					t.Fatalf("q%d slot %d: offset %d, want empty (only %d allowed rows)", q, j, off, len(ref))
				}
				continue
			}
			if off < 0 || int(off) >= n || !keep(int(off)) || seen[off] {
				t.Fatalf("q%d slot %d: bad offset %d (allowed %v, dup %v)", q, j, off, off >= 0 && int(off) < n && keep(int(off)), seen[off])
			}
			seen[off] = true
			got := float64(res.Scores[slot])
			scale := math.Max(1, math.Abs(ref[j].score))
			if math.Abs(got-ref[j].score) > tol*scale {
				t.Fatalf("q%d slot %d: score %g, reference %g (offset %d vs %d)", q, j, got, ref[j].score, off, ref[j].off)
			}
			if own := refScore(c, m, qs, q, int(off)); math.Abs(got-own) > tol*scale {
				t.Fatalf("q%d slot %d: offset %d reported %g, its reference score is %g", q, j, off, got, own)
			}
			if pks != nil && res.IntPKs[slot] != pks[off] {
				t.Fatalf("q%d slot %d: pk %d, want %d", q, j, res.IntPKs[slot], pks[off])
			}
		}
	}
}

// contiguous returns a growing segment's chunked vectors as one column
// (through Take, column.Chunked's own tested copy) for the references.
func contiguous(c column.Column) column.Column {
	ch, ok := c.(*column.Chunked)
	if !ok {
		return c
	}
	all := make([]int, ch.Len())
	for i := range all {
		all[i] = i
	}
	return ch.Take(all)
}
