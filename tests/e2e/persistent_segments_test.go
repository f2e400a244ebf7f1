package e2e

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestGetPersistentSegmentInfo lists a collection's flushed segments
// through the SDK's GetPersistentSegmentInfo: growing rows are not
// listed, flushed ones are, with their rows, partition and state.
func TestGetPersistentSegmentInfo(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "persist", 4
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim)))
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	parts, err := cli.ListPartitions(ctx, milvusclient.NewListPartitionOption(name))
	must(t, err)
	if len(parts) != 1 {
		t.Fatalf("partitions %v", parts)
	}
	r := rand.New(rand.NewPCG(1, 2))
	insert := func(n int) {
		rows := make([]any, n)
		for i, v := range randomVectors(r, n, dim) {
			rows[i] = map[string]any{"vector": v}
		}
		_, err := cli.Insert(ctx, milvusclient.NewRowBasedInsertOption(name, rows...))
		must(t, err)
	}
	insert(120)
	segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	if len(segs) != 0 {
		t.Fatalf("segments before flush: %+v, want none (growing)", segs)
	}
	flush := func() {
		ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
		must(t, err)
		must(t, ft.Await(ctx))
	}
	flush()
	insert(30)
	flush()
	insert(5) // growing again: not listed
	segs, err = cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	var rows int64
	for _, s := range segs {
		if s.CollectionID != coll.ID || s.State != commonpb.SegmentState_Flushed || s.NumRows <= 0 || s.ID == 0 {
			t.Errorf("segment %+v", s)
		}
		rows += s.NumRows
	}
	if rows != 150 || len(segs) < 2 {
		t.Fatalf("%d flushed segments with %d rows, want >= 2 with 150", len(segs), rows)
	}
	// The raw response carries the level (L1) and the partition.
	resp, err := cli.GetService().GetPersistentSegmentInfo(ctx, &milvuspb.GetPersistentSegmentInfoRequest{CollectionName: name})
	must(t, err)
	for _, in := range resp.GetInfos() {
		if in.GetLevel() != commonpb.SegmentLevel_L1 || in.GetPartitionID() == 0 {
			t.Errorf("raw info %v", in)
		}
	}

	if _, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption("nope")); err == nil ||
		!strings.Contains(err.Error(), "collection not found") {
		t.Fatalf("unknown collection: %v", err)
	}
}
