package workerrpc

// The workers' part of the Milvus 2.6 DDL: a collection's new schema
// (AddCollectionField, AlterCollectionField) and a truncated collection's
// dropped segments.

import (
	"context"

	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

func (s *QueryNodeServer) UpdateCollection(_ context.Context, r *pb.Collection) (*pb.Empty, error) {
	return coordrpc.Empty(s.node.UpdateCollection(pb.ToCollection(r))), nil
}

func (s *QueryNodeServer) DropSegmentIDs(_ context.Context, r *pb.DropSegmentIDsRequest) (*pb.Empty, error) {
	s.node.DropSegmentIDs(r.GetCollectionId(), r.GetSegmentIds())
	return coordrpc.Empty(nil), nil
}

// UpdateCollection gives the query node a collection's new definition; it
// serves the new schema when the call returns.
func (c *QueryNodeClient) UpdateCollection(ctx context.Context, coll *model.Collection) error {
	r, err := c.c.UpdateCollection(ctx, pb.FromCollection(coll))
	return coordrpc.Check(queryNodeName, r, err)
}

// DropSegmentIDs stops serving a truncated collection's segments.
func (c *QueryNodeClient) DropSegmentIDs(ctx context.Context, collectionID int64, ids []int64) error {
	r, err := c.c.DropSegmentIDs(ctx, &pb.DropSegmentIDsRequest{CollectionId: collectionID, SegmentIds: ids})
	return coordrpc.Check(queryNodeName, r, err)
}

func (s *DataNodeServer) UpdateCollection(_ context.Context, r *pb.Collection) (*pb.Empty, error) {
	s.node.UpdateCollection(pb.ToCollection(r))
	return coordrpc.Empty(nil), nil
}

// UpdateCollection gives the data node a collection's new definition; its
// channels buffer and flush under it from their next message on.
func (c *DataNodeClient) UpdateCollection(ctx context.Context, coll *model.Collection) error {
	r, err := c.c.UpdateCollection(ctx, pb.FromCollection(coll))
	return coordrpc.Check("datanode", r, err)
}
