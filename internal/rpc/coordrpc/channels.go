package coordrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// DataChannelsServer serves the data coordinator's channel assignment.
type DataChannelsServer struct {
	pb.UnimplementedDataChannelsServer
	ch *datacoord.Channels
}

// RegisterDataChannels serves ch on g.
func RegisterDataChannels(g *grpc.Server, ch *datacoord.Channels) {
	pb.RegisterDataChannelsServer(g, &DataChannelsServer{ch: ch})
}

func (s *DataChannelsServer) WatchCollection(ctx context.Context, r *pb.Collection) (*pb.Empty, error) {
	return Empty(s.ch.WatchCollection(ctx, pb.ToCollection(r))), nil
}

func (s *DataChannelsServer) UnwatchCollection(ctx context.Context, r *pb.Collection) (*pb.Empty, error) {
	return Empty(s.ch.UnwatchCollection(ctx, pb.ToCollection(r))), nil
}

func (s *DataChannelsServer) Assignments(context.Context, *pb.ChannelAssignmentsRequest) (*pb.ChannelAssignmentsResponse, error) {
	out := &pb.ChannelAssignmentsResponse{Status: rpc.StatusOf(nil)}
	for pc, node := range s.ch.Assignments() {
		out.Assignments = append(out.Assignments, &pb.ChannelAssignment{Pchannel: pc, NodeId: node})
	}
	return out, nil
}

// DataChannelsClient reaches the data coordinator's channel assignment.
type DataChannelsClient struct{ c pb.DataChannelsClient }

// NewDataChannelsClient calls the data coordinator over conn.
func NewDataChannelsClient(conn grpc.ClientConnInterface) *DataChannelsClient {
	return &DataChannelsClient{c: pb.NewDataChannelsClient(conn)}
}

// WatchCollection has a new collection's vchannels consumed.
func (c *DataChannelsClient) WatchCollection(ctx context.Context, coll *model.Collection) error {
	r, err := c.c.WatchCollection(ctx, pb.FromCollection(coll))
	return Check("datacoord", r, err)
}

// UnwatchCollection stops a dropped collection's consumption.
func (c *DataChannelsClient) UnwatchCollection(ctx context.Context, coll *model.Collection) error {
	r, err := c.c.UnwatchCollection(ctx, pb.FromCollection(coll))
	return Check("datacoord", r, err)
}

// Assignments lists every pchannel's owning data node.
func (c *DataChannelsClient) Assignments(ctx context.Context) (map[string]int64, error) {
	r, err := c.c.Assignments(ctx, &pb.ChannelAssignmentsRequest{})
	if err := Check("datacoord", r, err); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, a := range r.GetAssignments() {
		out[a.GetPchannel()] = a.GetNodeId()
	}
	return out, nil
}
