package coordrpc

import (
	"context"

	"github.com/milvago/milvago/internal/rpc/pb"
)

// IndexChanged: the index coordinator tells the query coordinator that a
// collection's index definitions changed (indexcoord.Listener).
func (s *QueryCoordServer) IndexChanged(ctx context.Context, r *pb.IndexChangedEvent) (*pb.Empty, error) {
	return Empty(s.query.IndexChanged(ctx, r.GetCollectionId())), nil
}

// IndexChanged tells the query coordinator that a collection's index
// definitions changed, so that it hands them to the query nodes.
func (c *QueryCoordClient) IndexChanged(ctx context.Context, collectionID int64) error {
	r, err := c.c.IndexChanged(ctx, &pb.IndexChangedEvent{CollectionId: collectionID})
	return Check(queryName, r, err)
}
