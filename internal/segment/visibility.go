package segment

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/errs"
)

// visCacheSize is how many visibility bitsets a segment keeps. Reads at one
// service time come in bursts, so a handful covers the live read timestamps.
const visCacheSize = 4

// visCache remembers the visibility bitsets of recent reads, keyed by
// (row count, read timestamp, delete version). Cached sets are shared and
// must never be modified.
type visCache struct {
	mu      sync.Mutex
	entries [visCacheSize]visEntry
	next    int
}

type visEntry struct {
	n   int
	ts  uint64
	ver uint64
	set *bitset.Set
}

func (v *visCache) get(n int, ts, ver uint64) *bitset.Set {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.entries {
		if e.set != nil && e.n == n && e.ts == ts && e.ver == ver {
			return e.set
		}
	}
	return nil
}

// prefix returns the largest cached set for (ts, ver) over fewer than n
// rows: a growing segment that only appended since can extend it instead
// of recomputing every row.
func (v *visCache) prefix(n int, ts, ver uint64) *bitset.Set {
	v.mu.Lock()
	defer v.mu.Unlock()
	var best *bitset.Set
	for _, e := range v.entries {
		if e.set != nil && e.n < n && e.ts == ts && e.ver == ver && (best == nil || e.n > best.Len()) {
			best = e.set
		}
	}
	return best
}

func (v *visCache) put(n int, ts, ver uint64, set *bitset.Set) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.entries[v.next] = visEntry{n: n, ts: ts, ver: ver, set: set}
	v.next = (v.next + 1) % visCacheSize
}

// visible returns the rows among the first n that a read at mvccTs sees:
// inserted at or before mvccTs and not hidden by a delete at or before it.
// The result is shared: the caller must not modify it.
func (c *core) visible(n int, mvccTs uint64) *bitset.Set {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ver := c.delVersion
	if mvccTs >= c.maxTs && mvccTs >= c.maxDelTs {
		// Every insert and delete is at or before mvccTs: the answer is
		// the same for any later read, so reads at an advancing service
		// time share one cache entry.
		mvccTs = math.MaxUint64
	}
	if s := c.vis.get(n, mvccTs, ver); s != nil {
		return s
	}
	var s *bitset.Set
	if c.numDeleted == 0 && mvccTs >= c.maxTsOf(n) {
		s = bitset.NewFull(n)
	} else {
		s = bitset.New(n)
		lo := 0
		if p := c.vis.prefix(n, mvccTs, ver); p != nil {
			// Rows below p.Len() are unchanged (same delete version), and a
			// prefix's last word holds no bits past its length.
			copy(s.Words(), p.Words())
			lo = p.Len()
		}
		ts := c.ts[:n]
		w := s.Words()
		if c.deletedAt == nil {
			for i := lo; i < n; i++ {
				if ts[i] <= mvccTs {
					w[i>>6] |= 1 << (uint(i) & 63)
				}
			}
		} else {
			del := c.deletedAt[:n]
			for i := lo; i < n; i++ {
				if t := ts[i]; t <= mvccTs && (del[i] == 0 || del[i] > mvccTs) {
					w[i>>6] |= 1 << (uint(i) & 63)
				}
			}
		}
	}
	c.vis.put(n, mvccTs, ver, s)
	return s
}

// maxTsOf is the largest insert timestamp among the first n rows when n is
// the whole segment, else a value that forces the slow path. Caller holds mu.
func (c *core) maxTsOf(n int) uint64 {
	if n == c.n {
		return c.maxTs
	}
	return ^uint64(0)
}

// match evaluates filter over snapshot s. A nil result means every row
// matches. The result is owned by the caller.
func (c *core) match(ctx context.Context, s *snapshot, filter Filter) (*bitset.Set, error) {
	if filter == nil {
		return nil, nil
	}
	if ints, strs, ok := filter.PrimaryKeyIn(); ok {
		return c.matchPKs(s.n, ints, strs), nil
	}
	m, err := filter.Eval(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("segment %d: filter: %w", c.id, err)
	}
	if m == nil || m.Len() != s.n {
		l := -1
		if m != nil {
			l = m.Len()
		}
		return nil, fmt.Errorf("segment %d: filter returned %d bits for %d rows: %w", c.id, l, s.n, errs.ErrServiceInternal)
	}
	return m, nil
}

// matchPKs marks the rows among the first n holding one of the keys.
func (c *core) matchPKs(n int, ints []int64, strs []string) *bitset.Set {
	m := bitset.New(n)
	set := func(off int32) {
		if int(off) < n {
			m.Set(int(off))
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	keys := len(strs)
	if c.intPK() {
		keys = len(ints)
	}
	for i := range keys {
		c.eachRow(ints, strs, i, set)
	}
	return m
}

// allowed returns the rows a request may return: visible at mvccTs and
// matching filter. owned reports whether the caller may modify the set.
func (c *core) allowed(ctx context.Context, s *snapshot, filter Filter, mvccTs uint64) (set *bitset.Set, owned bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if c.pruned(filter) {
		prunedReads.Add(1)
		return bitset.New(s.n), true, nil
	}
	if c.fullyMatched(filter) {
		fullReads.Add(1)
		return c.visible(s.n, mvccTs), false, nil
	}
	scannedReads.Add(1)
	m, err := c.match(ctx, s, filter)
	if err != nil {
		return nil, false, err
	}
	vis := c.visible(s.n, mvccTs)
	if m == nil {
		return vis, false, nil
	}
	m.And(vis)
	return m, true, nil
}

// Count implements Segment.
func (c *core) Count(ctx context.Context, filter Filter, mvccTs uint64) (int64, error) {
	s := c.snapshot()
	set, _, err := c.allowed(ctx, s, filter, mvccTs)
	if err != nil {
		return 0, err
	}
	return int64(set.Count()), nil
}
