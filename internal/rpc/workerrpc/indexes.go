package workerrpc

// A loaded collection's index definitions after one was created or
// dropped (querycoord.Server.IndexChanged -> the query nodes).

import (
	"context"

	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

func (s *QueryNodeServer) UpdateIndexes(ctx context.Context, r *pb.UpdateIndexesRequest) (*pb.Empty, error) {
	defs := pb.ToIndexDefs(r.GetIndexes())
	if defs == nil {
		defs = []model.IndexDef{}
	}
	return coordrpc.Empty(s.node.UpdateIndexes(ctx, r.GetCollectionId(), defs)), nil
}

// UpdateIndexes gives the query node a loaded collection's index
// definitions.
func (c *QueryNodeClient) UpdateIndexes(ctx context.Context, collectionID int64, defs []model.IndexDef) error {
	r, err := c.c.UpdateIndexes(ctx, &pb.UpdateIndexesRequest{CollectionId: collectionID, Indexes: pb.FromIndexDefs(defs)})
	return coordrpc.Check(queryNodeName, r, err)
}
