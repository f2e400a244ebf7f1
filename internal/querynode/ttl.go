package querynode

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/tso"
)

// collectionTTLKey is Milvus's collection TTL property, in seconds.
const collectionTTLKey = "collection.ttl.seconds"

// withTTL restricts a read to the rows that have not expired under the
// collection's TTL: inserted at or after now less the TTL, as Milvus's
// proxy computes its TTL timestamp from the request's (taken at arrival,
// see ttlNow), whatever the read's MVCC timestamp (an Eventually read of an idle shard
// reads at an old one). Rows compaction has not removed yet are hidden at
// once.
func (dl *delegator) withTTL(f segment.Filter, now time.Time) segment.Filter {
	ttl := collectionTTL(dl.coll().Properties)
	if ttl <= 0 {
		return f
	}
	phys := now.Add(-ttl)
	if phys.UnixMilli() <= 0 {
		return f
	}
	return &ttlFilter{inner: f, expire: tso.Compose(phys, 0)}
}

// ttlNow is the time a read evaluates the collection TTL at: the request's
// TTLNow (a hybrid timestamp the proxy took when the search arrived, the
// same for all its phases), or the shard's clock without one.
func ttlNow(ts uint64) time.Time {
	if ts == 0 {
		return time.Now()
	}
	return tso.Physical(ts)
}

// collectionTTL is a collection's TTL, 0 when it has none.
func collectionTTL(props []*commonpb.KeyValuePair) time.Duration {
	for _, p := range props {
		if p.GetKey() == collectionTTLKey {
			n, err := strconv.ParseInt(p.GetValue(), 10, 64)
			if err != nil || n <= 0 {
				return 0
			}
			return time.Duration(n) * time.Second
		}
	}
	return 0
}

// ttlFilter keeps the rows inserted at or after expire that inner keeps.
type ttlFilter struct {
	inner  segment.Filter
	expire uint64
}

// Eval implements segment.Filter.
func (t *ttlFilter) Eval(ctx context.Context, b column.Batch) (*bitset.Set, error) {
	c, err := b.Column(segment.TimestampFieldID)
	if err != nil {
		return nil, fmt.Errorf("ttl: %w", err)
	}
	ts, ok := c.(*column.Scalar[int64])
	if !ok {
		return nil, fmt.Errorf("ttl: timestamps are a %s column", c.DataType())
	}
	set := bitset.New(b.Len())
	for i, v := range ts.Data[:b.Len()] {
		if uint64(v) >= t.expire {
			set.Set(i)
		}
	}
	if t.inner == nil {
		return set, nil
	}
	m, err := t.inner.Eval(ctx, b)
	if err != nil {
		return nil, err
	}
	m.And(set)
	return m, nil
}

// PrimaryKeyIn implements segment.Filter: never, so that Eval runs.
func (t *ttlFilter) PrimaryKeyIn() ([]int64, []string, bool) { return nil, nil, false }

// MayMatch implements segment.Pruner by asking inner.
func (t *ttlFilter) MayMatch(stats func(fieldID int64) (min, max any, ok bool)) bool {
	if p, ok := t.inner.(segment.Pruner); ok {
		return p.MayMatch(stats)
	}
	return true
}
