package coordrpc

import (
	"context"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// DataFaultsServer serves a datacoord.Server's fault reports
// (proto/milvago/faults.proto); RegisterDataCoord registers it.
type DataFaultsServer struct {
	pb.UnimplementedDataFaultsServer
	data *datacoord.Server
}

func (s *DataFaultsServer) ChannelFailed(ctx context.Context, r *pb.ChannelFailure) (*pb.Empty, error) {
	return Empty(s.data.ChannelFailed(ctx, contract.ChannelFailure{CollectionID: r.GetCollectionId(),
		VChannel: r.GetVchannel(), Position: r.GetPosition(), Cause: r.GetCause()})), nil
}

// ChannelFailed reports a channel the data node cannot flush.
func (c *DataCoordClient) ChannelFailed(ctx context.Context, f contract.ChannelFailure) error {
	r, err := c.f.ChannelFailed(ctx, &pb.ChannelFailure{CollectionId: f.CollectionID, Vchannel: f.VChannel,
		Position: f.Position, Cause: f.Cause})
	return Check(dataName, r, err)
}
