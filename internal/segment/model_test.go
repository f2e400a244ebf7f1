package segment

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// TestRandomOpsAgainstModel applies random inserts, deletes and upserts in
// timestamp order to a growing segment (and a sealed copy of it) and
// compares Query and Count at random read timestamps with a naive model.
func TestRandomOpsAgainstModel(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 77))
		type del struct {
			pk int64
			ts uint64
		}
		var (
			rowPK []int64
			rowTS []uint64
			dels  []del
		)
		g := newGrowingWith(t, schemapb.DataType_Int64)
		ts := uint64(10)
		for range 40 {
			ts += uint64(rng.IntN(3)) // several operations may share a timestamp
			switch rng.IntN(3) {
			case 0, 1: // insert (keys may repeat), or upsert: delete + insert at one ts
				upsert := rng.IntN(2) == 0
				r := genRows(rng, schemapb.DataType_Int64, 0, 1+rng.IntN(5), ts)
				keys := r.cols[fPK].(*column.Scalar[int64]).Data
				for i := range keys {
					keys[i] = int64(rng.IntN(30))
				}
				if upsert {
					g.Delete(keys, nil, r.ts)
					for _, k := range keys {
						dels = append(dels, del{k, ts})
					}
				}
				if err := g.Append(r.ts, r.cols); err != nil {
					t.Fatal(err)
				}
				rowPK = append(rowPK, keys...)
				rowTS = append(rowTS, r.ts...)
			case 2:
				k := int64(rng.IntN(30))
				g.Delete([]int64{k}, nil, []uint64{ts})
				dels = append(dels, del{k, ts})
			}
		}
		visible := func(i int, read uint64) bool {
			if rowTS[i] > read {
				return false
			}
			for _, d := range dels {
				if d.pk == rowPK[i] && rowTS[i] < d.ts && d.ts <= read {
					return false
				}
			}
			return true
		}
		cts, ccols := g.Columns()
		s, err := NewSealed(9, 1, g.Schema(), cts, ccols, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dels {
			s.Delete([]int64{d.pk}, nil, []uint64{d.ts})
		}
		for range 30 {
			read := 9 + uint64(rng.IntN(int(ts-5)))
			// Model: count and per-key winner.
			count := 0
			best := map[int64]int{}
			for i := range rowPK {
				if !visible(i, read) {
					continue
				}
				count++
				if b, ok := best[rowPK[i]]; !ok || rowTS[i] >= rowTS[b] {
					best[rowPK[i]] = i
				}
			}
			var keys []int64
			for k := range best {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			limit := rng.IntN(4) * 3
			if limit > 0 && len(keys) > limit {
				keys = keys[:limit]
			}
			for name, seg := range map[string]Segment{"growing": g, "sealed": s} {
				n, err := seg.Count(context.Background(), nil, read)
				if err != nil || int(n) != count {
					t.Fatalf("seed %d %s read %d: count %d (%v), model %d", seed, name, read, n, err, count)
				}
				res, err := seg.Query(context.Background(), &QueryRequest{MVCCTs: read, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(res.IntPKs, keys) {
					t.Fatalf("seed %d %s read %d limit %d: keys %v, model %v", seed, name, read, limit, res.IntPKs, keys)
				}
				for i, k := range keys {
					if res.Offsets[i] != int64(best[k]) {
						t.Fatalf("seed %d %s read %d: key %d at row %d, model row %d", seed, name, read, k, res.Offsets[i], best[k])
					}
				}
			}
		}
	}
}
