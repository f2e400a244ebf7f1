package segment

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
)

// Query implements Segment.
func (c *core) Query(ctx context.Context, req *QueryRequest) (*QueryResult, error) {
	if req.Limit < 0 {
		return nil, fmt.Errorf("segment %d: query: %w", c.id, errs.InvalidParameter("limit %d is negative", req.Limit))
	}
	s := c.snapshot()
	allowed, _, err := c.allowed(ctx, s, req.Filter, req.MVCCTs)
	if err != nil {
		return nil, err
	}
	var order []int32
	if c.sealed {
		order = c.pkSorted.get(s.pkColumn)
	}
	res := &QueryResult{}
	switch pk := s.pkColumn.(type) {
	case *column.Scalar[int64]:
		res.Offsets = queryOrdered(pk.Data, s.ts, allowed, order, req.Limit)
		res.IntPKs = make([]int64, len(res.Offsets))
	case *column.Scalar[string]:
		res.Offsets = queryOrdered(pk.Data, s.ts, allowed, order, req.Limit)
		res.StrPKs = make([]string, len(res.Offsets))
	}
	res.Timestamps = make([]uint64, len(res.Offsets))
	s.fillPKs(res.Offsets, res.IntPKs, res.StrPKs, res.Timestamps)
	return res, ctx.Err()
}

// queryOrdered returns the allowed rows in key order, one per key: the
// one with the highest timestamp, the last appended on a tie. order, when
// not nil, is every row sorted by (key, offset); otherwise the allowed rows
// are sorted here. limit > 0 stops after that many keys.
func queryOrdered[K cmp.Ordered](keys []K, ts []uint64, allowed *bitset.Set, order []int32, limit int) []int64 {
	if order == nil {
		order = make([]int32, 0, allowed.Count())
		allowed.ForEach(func(i int) { order = append(order, int32(i)) })
		slices.SortFunc(order, func(a, b int32) int {
			if c := cmp.Compare(keys[a], keys[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		allowed = nil // every row of order is allowed
	}
	out := []int64{}
	best := int32(-1)
	for _, off := range order {
		if allowed != nil && !allowed.Test(int(off)) {
			continue
		}
		if best >= 0 && keys[off] != keys[best] {
			out = append(out, int64(best))
			best = -1
			if limit > 0 && len(out) == limit {
				return out
			}
		}
		if best < 0 || ts[off] >= ts[best] {
			best = off
		}
	}
	if best >= 0 {
		out = append(out, int64(best))
	}
	return out
}

// pkOrder is every row of a sealed segment sorted by (primary key, offset),
// built on the first query that needs it.
type pkOrder struct {
	once  sync.Once
	order []int32
}

func (o *pkOrder) get(pk column.Column) []int32 {
	o.once.Do(func() {
		n := pk.Len()
		o.order = make([]int32, n)
		for i := range o.order {
			o.order[i] = int32(i)
		}
		switch v := pk.(type) {
		case *column.Scalar[int64]:
			sortByKey(o.order, v.Data)
		case *column.Scalar[string]:
			sortByKey(o.order, v.Data)
		}
	})
	return o.order
}

func sortByKey[K cmp.Ordered](order []int32, keys []K) {
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(keys[a], keys[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
}
