package e2e

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestPersistentSegmentInfo: GetPersistentSegmentInfo (the Node SDK's
// getPersistentSegmentInfo) lists the sealed and flushed segments, not the
// growing ones, and a missing collection is Milvus's collection not found.
func TestPersistentSegmentInfo(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	f := newSemanticsFixture(t, cli, "persistent_segs", 2, 200) // 100 rows flushed, 100 growing
	rows := func() int64 {
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(f.name))
		must(t, err)
		var n int64
		for _, s := range segs {
			if s.State != commonpb.SegmentState_Flushed && s.State != commonpb.SegmentState_Sealed {
				t.Fatalf("segment %d in state %v", s.ID, s.State)
			}
			n += s.NumRows
		}
		return n
	}
	if n := rows(); n != 100 {
		t.Fatalf("persistent rows before flush = %d, want 100", n)
	}
	flush(t, ctx, cli, f.name)
	if n := rows(); n != 200 {
		t.Fatalf("persistent rows after flush = %d, want 200", n)
	}
	_, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption("no_such_collection"))
	wantCode(t, err, 100)
}
