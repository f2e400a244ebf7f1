package segment

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/index"
)

// TestRowScorerMatchesRowKernels checks the batched scoring of the interim
// probes and the exact scan against the single-row kernels the scan used
// before (distance.L2Sq / Dot on a row read or converted on its own), bit
// for bit: float, float16, bfloat16 and int8 rows in a chunked column of
// several chunks (the last partial), scattered and dense batches, batches
// cut by chunk ends and by the batch size, every metric.
func TestRowScorerMatchesRowKernels(t *testing.T) {
	const dim, chunkRows, n = 37, 64, 1000 // an odd dim exercises the kernels' tails
	rng := rand.New(rand.NewPCG(3, 4))
	q := make([]float32, dim)
	for i := range q {
		q[i] = rng.Float32()*2 - 1
	}
	for _, typ := range []schemapb.DataType{schemapb.DataType_FloatVector, schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector, schemapb.DataType_Int8Vector} {
		var rowsIn column.Column
		if typ == schemapb.DataType_FloatVector {
			v := &column.FloatVector{Dim: dim, Data: make([]float32, n*dim)}
			for i := range v.Data {
				v.Data[i] = rng.Float32()*2 - 1
			}
			rowsIn = v
		} else {
			v := &column.ByteVector{Type: typ, Dim: dim}
			switch typ {
			case schemapb.DataType_Float16Vector:
				for range n * dim {
					v.Data = binary.LittleEndian.AppendUint16(v.Data, distance.Float32ToFloat16(rng.Float32()*2-1))
				}
			case schemapb.DataType_BFloat16Vector:
				for range n * dim {
					v.Data = binary.LittleEndian.AppendUint16(v.Data, distance.Float32ToBFloat16(rng.Float32()*2-1))
				}
			default:
				for range n * dim {
					v.Data = append(v.Data, byte(rng.IntN(256)))
				}
			}
			rowsIn = v
		}
		col := column.NewChunked(rowsIn.Empty(), chunkRows)
		col.Append(rowsIn.Slice(0, 300))
		col.Append(rowsIn.Slice(300, n))
		one := func(r int) []float32 {
			if v, ok := rowsIn.(*column.FloatVector); ok {
				return v.Row(r)
			}
			out := make([]float32, dim)
			convertRow(rowsIn.(*column.ByteVector), r, out)
			return out
		}
		norms := make([]float32, n)
		for r := range norms {
			norms[r] = distance.Norm(one(r))
		}
		want := func(m index.Metric, r int) float32 {
			switch m {
			case index.L2:
				return distance.L2Sq(q, one(r))
			case index.IP:
				return -distance.Dot(q, one(r))
			}
			return -cosine(distance.Dot(q, one(r)), norms[r])
		}
		for _, m := range []index.Metric{index.L2, index.IP, index.Cosine} {
			for _, pick := range []struct {
				name string
				keep func(r int) bool
			}{
				{"every row", func(int) bool { return true }},
				{"one in 7", func(r int) bool { return r%7 == 3 }},
				{"random half", func(int) bool { return rng.IntN(2) == 0 }},
			} {
				var rows []int
				for r := range n {
					if pick.keep(r) {
						rows = append(rows, r)
					}
				}
				got := map[int]float32{}
				sc := newRowScorer(col, m, dim, norms)
				score := func() {
					if len(sc.ids) == 0 {
						return
					}
					sc.convert()
					for j, k := range sc.score(q) {
						got[sc.base+int(sc.ids[j])] = k
					}
					sc.ids = sc.ids[:0]
				}
				for _, r := range rows {
					if !sc.in(r) {
						score()
						sc.setRun(r)
					}
					sc.ids = append(sc.ids, uint32(r-sc.base))
				}
				score()
				if len(got) != len(rows) {
					t.Fatalf("%s %s %s: scored %d rows of %d", typ, m, pick.name, len(got), len(rows))
				}
				for _, r := range rows {
					if w := want(m, r); math.Float32bits(got[r]) != math.Float32bits(w) {
						t.Fatalf("%s %s %s: row %d key %v, the row kernel gives %v", typ, m, pick.name, r, got[r], w)
					}
				}
				// Through collect, with the batch bound and the run ends
				// cutting batches: the collector's top 5 are the best 5 keys.
				coll := newCollector(5)
				sc.reset()
				for _, r := range rows {
					sc.add(r, q, []*collector{coll}, index.RangeWindow{})
				}
				sc.collect(q, []*collector{coll}, index.RangeWindow{})
				keys, offs := make([]float32, 5), make([]int64, 5)
				coll.drain(keys, offs)
				best := slices.Clone(rows)
				slices.SortStableFunc(best, func(a, b int) int { return cmp.Compare(want(m, a), want(m, b)) })
				for i := range 5 {
					if int(offs[i]) != best[i] || keys[i] != want(m, best[i]) {
						t.Fatalf("%s %s %s: top %d is row %d key %v, want row %d key %v", typ, m, pick.name, i, offs[i], keys[i], best[i], want(m, best[i]))
					}
				}
			}
		}
	}
}

// TestRadixSortRankOrdersAsCompare checks the ranking's radix sort against
// a comparison sort by (key, offset) with cmp.Compare: ties, zeros of both
// signs, infinities, NaN, negative keys (negated similarities), and keys
// sharing their high bytes.
func TestRadixSortRankOrdersAsCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1, -1, 1e-40, -1e-40}
	for _, n := range []int{0, 1, 100, 255, 256, 5000} {
		for _, gen := range []func() float32{
			func() float32 { return rng.Float32() },
			func() float32 { return -rng.Float32() * 1000 },
			func() float32 { return special[rng.IntN(len(special))] },
			func() float32 { return float32(rng.IntN(4)) }, // many ties
			func() float32 { return 1 + float32(rng.IntN(100))*1e-6 },
		} {
			pairs := make([]rankPair, n)
			for i := range pairs {
				pairs[i] = rankPair{gen(), int32(i)}
			}
			want := slices.Clone(pairs)
			slices.SortFunc(want, func(a, b rankPair) int {
				if c := cmp.Compare(a.key, b.key); c != 0 {
					return c
				}
				return cmp.Compare(a.off, b.off)
			})
			radixSortRank(pairs)
			for i := range pairs {
				if pairs[i].off != want[i].off {
					t.Fatalf("n=%d: position %d holds row %d (key %v), want row %d (key %v)", n, i, pairs[i].off, pairs[i].key, want[i].off, want[i].key)
				}
			}
		}
	}
}
