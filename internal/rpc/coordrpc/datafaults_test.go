package coordrpc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
)

// TestChannelFailedRoundTrip reports a channel failure over the wire and
// checks that Flushed answers its cause with Milvus's code, and that a
// flush of a dropped segment comes back as "segment not found".
func TestChannelFailedRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCoords(t)
	coll, err := c.root.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: schema(), ShardsNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	vc := coll.VChannels[0]
	a, err := c.dataC.AssignSegment(ctx, coll.ID, coll.Partitions[0].ID, vc, 3, 300, 7)
	if err != nil {
		t.Fatal(err)
	}
	f := contract.ChannelFailure{CollectionID: coll.ID, VChannel: vc, Position: 8, Cause: "field \"id\" has 0 rows, message says 3"}
	if err := c.dataC.ChannelFailed(ctx, f); err != nil {
		t.Fatal(err)
	}
	if fs := c.data.ChannelFailures(ctx); len(fs) != 1 || fs[0] != f {
		t.Fatalf("failures: %+v, want %+v", fs, f)
	}
	_, direct := c.data.Flushed(ctx, []int64{a.SegmentID})
	_, remote := c.dataC.Flushed(ctx, []int64{a.SegmentID})
	sameErr(t, direct, remote, errs.ErrServiceInternal)

	if err := c.data.DropCollection(ctx, coll); err != nil {
		t.Fatal(err)
	}
	err = c.dataC.SegmentFlushed(ctx, contract.FlushResult{SegmentID: a.SegmentID, NumRows: 3})
	if !errors.Is(err, errs.ErrSegmentNotFound) {
		t.Fatalf("flush of a dropped segment over the wire: %v", err)
	}
}
