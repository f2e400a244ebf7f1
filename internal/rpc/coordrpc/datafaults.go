package coordrpc

import (
	"context"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/rpc"
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
		VChannel: r.GetVchannel(), Position: r.GetPosition(), Cause: r.GetCause(), Retrying: r.GetRetrying()})), nil
}

func (s *DataFaultsServer) ChannelRecovered(ctx context.Context, r *pb.ChannelRecovery) (*pb.Empty, error) {
	return Empty(s.data.ChannelRecovered(ctx, r.GetVchannel())), nil
}

func (s *DataFaultsServer) ChannelsFlushed(ctx context.Context, r *pb.ChannelsFlushedRequest) (*pb.BoolResponse, error) {
	ok, err := s.data.ChannelsFlushed(ctx, r.GetVchannels(), r.GetFlushTs())
	return &pb.BoolResponse{Status: rpc.StatusOf(err), Value: ok}, nil
}

// ChannelFailed reports a channel the data node cannot flush.
func (c *DataCoordClient) ChannelFailed(ctx context.Context, f contract.ChannelFailure) error {
	r, err := c.f.ChannelFailed(ctx, &pb.ChannelFailure{CollectionId: f.CollectionID, Vchannel: f.VChannel,
		Position: f.Position, Cause: f.Cause, Retrying: f.Retrying})
	return Check(dataName, r, err)
}

// ChannelRecovered reports that a flush of a failing channel succeeded.
func (c *DataCoordClient) ChannelRecovered(ctx context.Context, vchannel string) error {
	r, err := c.f.ChannelRecovered(ctx, &pb.ChannelRecovery{Vchannel: vchannel})
	return Check(dataName, r, err)
}

// ChannelsFlushed asks whether every channel's checkpoint reached ts (a
// failed channel: its cause).
func (c *DataCoordClient) ChannelsFlushed(ctx context.Context, vchannels []string, ts uint64) (bool, error) {
	r, err := c.f.ChannelsFlushed(ctx, &pb.ChannelsFlushedRequest{Vchannels: vchannels, FlushTs: ts})
	if err := Check(dataName, r, err); err != nil {
		return false, err
	}
	return r.GetValue(), nil
}
