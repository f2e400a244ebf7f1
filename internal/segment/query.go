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

// sortedScanRatio: a sealed query walks its presorted rows when at least
// 1/sortedScanRatio of them are allowed, else sorts the allowed rows.
const sortedScanRatio = 16

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
	if c.sealed && allowed.Count()*sortedScanRatio >= s.n {
		// Walking the presorted rows beats sorting the allowed ones
		// unless very few are allowed (a "pk in" filter, say).
		order = c.sorted().order
	}
	dups := c.duplicates(s.n)
	res := &QueryResult{}
	switch pk := s.pkColumn.(type) {
	case *column.Scalar[int64]:
		res.Offsets = queryOrdered(pk.Data, s.ts, allowed, order, req.Limit, dups)
		res.IntPKs = make([]int64, len(res.Offsets))
	case *column.Scalar[string]:
		res.Offsets = queryOrdered(pk.Data, s.ts, allowed, order, req.Limit, dups)
		res.StrPKs = make([]string, len(res.Offsets))
	}
	res.Timestamps = make([]uint64, len(res.Offsets))
	s.fillPKs(res.Offsets, res.IntPKs, res.StrPKs, res.Timestamps)
	return res, ctx.Err()
}

// queryOrdered returns the allowed rows in key order, one per key: the
// one with the highest timestamp, the last appended on a tie. order, when
// not nil, is every row sorted by (key, offset); otherwise the allowed rows
// are sorted here. limit > 0 stops after that many keys. dups is how many
// rows of the segment repeat an earlier key (an upper bound is fine).
func queryOrdered[K cmp.Ordered](keys []K, ts []uint64, allowed *bitset.Set, order []int32, limit, dups int) []int64 {
	if order == nil {
		rows := sortedAllowed(keys, allowed, limit, dups)
		order = make([]int32, len(rows))
		for i, r := range rows {
			order[i] = r.off
		}
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

type keyedRow[K cmp.Ordered] struct {
	k   K
	off int32
}

func compareKeyed[K cmp.Ordered](a, b keyedRow[K]) int {
	if c := cmp.Compare(a.k, b.k); c != 0 {
		return c
	}
	return cmp.Compare(a.off, b.off)
}

// sortedAllowed returns the allowed rows sorted by (key, offset). With a
// small limit it keeps only the limit+dups+1 smallest rows: they hold at
// least limit+1 distinct keys, so every key but the largest is complete
// (all its rows present), and the walk stops before the largest.
func sortedAllowed[K cmp.Ordered](keys []K, allowed *bitset.Set, limit, dups int) []keyedRow[K] {
	count := allowed.Count()
	keep := limit + dups + 1
	if limit <= 0 || keep*4 > count {
		rows := make([]keyedRow[K], 0, count)
		allowed.ForEach(func(i int) { rows = append(rows, keyedRow[K]{keys[i], int32(i)}) })
		slices.SortFunc(rows, compareKeyed[K])
		return rows
	}
	// Bounded max-heap of the keep smallest rows.
	h := make([]keyedRow[K], 0, keep)
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && compareKeyed(h[r], h[l]) > 0 {
				m = r
			}
			if compareKeyed(h[m], h[i]) <= 0 {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	allowed.ForEach(func(i int) {
		r := keyedRow[K]{keys[i], int32(i)}
		if len(h) < keep {
			h = append(h, r)
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if compareKeyed(h[j], h[p]) <= 0 {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
			return
		}
		if compareKeyed(r, h[0]) < 0 {
			h[0] = r
			down(0)
		}
	})
	slices.SortFunc(h, compareKeyed[K])
	return h
}

// pkOrder is every row of a sealed segment sorted by (primary key,
// offset), built on first use. It serves as the sealed segment's key index
// (binary search) and as the order of Query's results.
type pkOrder struct {
	once  sync.Once
	order []int32
	dups  int // rows whose key equals the previous row's in order
}

func (o *pkOrder) get(pk column.Column) *pkOrder {
	o.once.Do(func() {
		switch v := pk.(type) {
		case *column.Scalar[int64]:
			o.order, o.dups = sortByKey(v.Data)
		case *column.Scalar[string]:
			o.order, o.dups = sortByKey(v.Data)
		}
	})
	return o
}

// sortByKey returns the offsets of keys sorted by (key, offset) and how
// many repeat the key before them. Keys already in order (segments that
// compaction sorted by key) skip the sort.
func sortByKey[K cmp.Ordered](keys []K) ([]int32, int) {
	order := make([]int32, len(keys))
	if slices.IsSorted(keys) {
		for i := range order {
			order[i] = int32(i)
		}
	} else {
		rows := make([]keyedRow[K], len(keys))
		for i, k := range keys {
			rows[i] = keyedRow[K]{k, int32(i)}
		}
		if ints, ok := any(rows).([]keyedRow[int64]); ok {
			radixSortInt64(ints)
		} else {
			slices.SortFunc(rows, compareKeyed[K])
		}
		for i, r := range rows {
			order[i] = r.off
		}
	}
	dups := 0
	for i := 1; i < len(order); i++ {
		if keys[order[i]] == keys[order[i-1]] {
			dups++
		}
	}
	return order, dups
}

// sortedEach calls fn for every offset in order (sorted by key) whose key
// is k.
func sortedEach[K cmp.Ordered](keys []K, order []int32, k K, fn func(off int32)) {
	p, _ := slices.BinarySearchFunc(order, k, func(off int32, k K) int { return cmp.Compare(keys[off], k) })
	for ; p < len(order) && keys[order[p]] == k; p++ {
		fn(order[p])
	}
}
