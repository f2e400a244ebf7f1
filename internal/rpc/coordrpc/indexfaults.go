package coordrpc

import (
	"context"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/indexcoord"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// IndexFaultsServer serves an indexcoord.Server's fault reports
// (proto/milvago/faults.proto); RegisterIndexCoord registers it.
type IndexFaultsServer struct {
	pb.UnimplementedIndexFaultsServer
	index *indexcoord.Server
}

func (s *IndexFaultsServer) IndexFileBad(ctx context.Context, r *pb.BadIndexFile) (*pb.Empty, error) {
	return Empty(s.index.IndexFileBad(ctx, contract.BadIndexFile{CollectionID: r.GetCollectionId(), SegmentID: r.GetSegmentId(),
		BuildID: r.GetBuildId(), File: r.GetFile(), Cause: r.GetCause()})), nil
}

// IndexFileBad reports a missing or corrupt index file (a query node's
// report; the index coordinator rebuilds it).
func (c *IndexCoordClient) IndexFileBad(ctx context.Context, b contract.BadIndexFile) error {
	r, err := c.f.IndexFileBad(ctx, &pb.BadIndexFile{CollectionId: b.CollectionID, SegmentId: b.SegmentID,
		BuildId: b.BuildID, File: b.File, Cause: b.Cause})
	return Check(indexName, r, err)
}
