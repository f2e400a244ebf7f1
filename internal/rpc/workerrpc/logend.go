package workerrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
	"github.com/milvago/milvago/internal/streaming"
)

// logEndServer serves a writer's durable end of each channel
// (proto/milvago/logend.proto); RegisterStreamingNode registers it.
type logEndServer struct {
	pb.UnimplementedStreamingLogEndServer
	w *streaming.Writer
}

func (s *logEndServer) LogEnd(ctx context.Context, r *pb.LogEndRequest) (*pb.LogEndResponse, error) {
	ts, err := s.w.LogEnd(ctx, r.GetPchannel())
	return &pb.LogEndResponse{Status: rpc.StatusOf(err), Ts: ts}, nil
}

// LogEnd is the timestamp of the last message the streaming node appended
// to pchannel (0: none since it started).
func (c *StreamingClient) LogEnd(ctx context.Context, pchannel string) (uint64, error) {
	var ts uint64
	err := c.doConn(ctx, pchannel, true, func(conn grpc.ClientConnInterface) error {
		r, err := pb.NewStreamingLogEndClient(conn).LogEnd(ctx, &pb.LogEndRequest{Pchannel: pchannel})
		if err := coordrpc.Check(streamingName, r, err); err != nil {
			return err
		}
		ts = r.GetTs()
		return nil
	})
	return ts, err
}
