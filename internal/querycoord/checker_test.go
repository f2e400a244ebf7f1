package querycoord

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// flakyNode fails its first fails loads, as a query node that cannot be
// reached for a moment.
type flakyNode struct {
	QueryNode
	fails atomic.Int32
}

func (f *flakyNode) LoadCollection(ctx context.Context, coll *model.Collection, partitions []int64, plans []contract.ChannelPlan) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("connection refused")
	}
	return f.QueryNode.LoadCollection(ctx, coll, partitions, plans)
}

// TestCheckerRetriesAFailedLoad: a load the query node failed once is sent
// again by the checker a second later (Milvus's checkers' interval), with
// no balancer running (standalone, or queryCoord.autoBalance off). Before,
// nothing retried it: the collection stayed loading at 0% for ever.
func TestCheckerRetriesAFailedLoad(t *testing.T) {
	c := newCluster(t)
	c.createIndex(t)
	c.insertRange(t, 0, 30)
	flaky := &flakyNode{}
	flaky.fails.Store(1)
	c.stopQuery()
	c.startQueryVia(t, func(n QueryNode) QueryNode { flaky.QueryNode = n; return flaky })
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	go c.qcoord.RunChecker(ctx, CheckInterval)
	start := time.Now()
	if err := c.qcoord.LoadCollection(c.ctx, c.coll, nil, 1); err == nil {
		t.Fatal("the first load did not fail")
	}
	c.waitLoaded(t)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("loaded after %v", took)
	}
	if err := c.read(c.ctx, c.now(t)); err != nil {
		t.Fatal(err)
	}
}
