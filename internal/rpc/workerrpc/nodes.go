package workerrpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datanode"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
	"github.com/milvago/milvago/internal/streaming"
)

// ---- data node ----

// DataNodeServer serves a datanode.Server.
type DataNodeServer struct {
	pb.UnimplementedDataNodeServer
	node *datanode.Server
}

// RegisterDataNode serves node on g.
func RegisterDataNode(g *grpc.Server, node *datanode.Server) {
	pb.RegisterDataNodeServer(g, &DataNodeServer{node: node})
}

func (s *DataNodeServer) Watch(ctx context.Context, r *pb.Collection) (*pb.Empty, error) {
	return coordrpc.Empty(s.node.Watch(ctx, pb.ToCollection(r))), nil
}

func (s *DataNodeServer) Unwatch(_ context.Context, r *pb.Collection) (*pb.Empty, error) {
	s.node.Unwatch(pb.ToCollection(r))
	return coordrpc.Empty(nil), nil
}

// DataNodeClient tells a remote data node which collections to consume.
type DataNodeClient struct{ c pb.DataNodeClient }

// NewDataNodeClient calls a data node over conn.
func NewDataNodeClient(conn grpc.ClientConnInterface) *DataNodeClient {
	return &DataNodeClient{c: pb.NewDataNodeClient(conn)}
}

// Watch starts consuming a collection's channels.
func (c *DataNodeClient) Watch(ctx context.Context, coll *model.Collection) error {
	r, err := c.c.Watch(ctx, pb.FromCollection(coll))
	return coordrpc.Check("datanode", r, err)
}

// Unwatch stops consuming a dropped collection's channels.
func (c *DataNodeClient) Unwatch(ctx context.Context, coll *model.Collection) error {
	r, err := c.c.Unwatch(ctx, pb.FromCollection(coll))
	return coordrpc.Check("datanode", r, err)
}

// ---- index node ----

// IndexNodeServer serves an indexnode.Server.
type IndexNodeServer struct {
	pb.UnimplementedIndexNodeServer
	node *indexnode.Server
}

// RegisterIndexNode serves node on g.
func RegisterIndexNode(g *grpc.Server, node *indexnode.Server) {
	pb.RegisterIndexNodeServer(g, &IndexNodeServer{node: node})
}

func (s *IndexNodeServer) Build(ctx context.Context, r *pb.BuildTask) (*pb.BuildResult, error) {
	res, err := s.node.Build(ctx, pb.ToBuildTask(r))
	out := pb.FromBuildResult(res)
	out.Status = rpc.StatusOf(err)
	return out, nil
}

func (s *IndexNodeServer) Analyze(ctx context.Context, r *pb.AnalyzeTask) (*pb.AnalyzeResult, error) {
	res, err := s.node.Analyze(ctx, pb.ToAnalyzeTask(r))
	out := pb.FromAnalyzeResult(res)
	out.Status = rpc.StatusOf(err)
	return out, nil
}

// IndexNodeClient builds on a remote index node: indexcoord's builder.
type IndexNodeClient struct{ c pb.IndexNodeClient }

// NewIndexNodeClient calls an index node over conn.
func NewIndexNodeClient(conn grpc.ClientConnInterface) *IndexNodeClient {
	return &IndexNodeClient{c: pb.NewIndexNodeClient(conn)}
}

func (c *IndexNodeClient) Build(ctx context.Context, t contract.BuildTask) (contract.BuildResult, error) {
	r, err := c.c.Build(ctx, pb.FromBuildTask(t))
	if err := coordrpc.Check("indexnode", r, err); err != nil {
		return contract.BuildResult{}, err
	}
	return pb.ToBuildResult(r), nil
}

// Analyze runs an analyze task on a remote index node: indexcoord's
// analyzer.
func (c *IndexNodeClient) Analyze(ctx context.Context, t contract.AnalyzeTask) (contract.AnalyzeResult, error) {
	r, err := c.c.Analyze(ctx, pb.FromAnalyzeTask(t))
	if err := coordrpc.Check("indexnode", r, err); err != nil {
		return contract.AnalyzeResult{}, err
	}
	return pb.ToAnalyzeResult(r), nil
}

// ---- streaming node ----

// StreamingServer serves a streaming.Writer.
type StreamingServer struct {
	pb.UnimplementedStreamingNodeServer
	w *streaming.Writer
}

// RegisterStreamingNode serves w on g.
func RegisterStreamingNode(g *grpc.Server, w *streaming.Writer) {
	pb.RegisterStreamingNodeServer(g, &StreamingServer{w: w})
	pb.RegisterStreamingLogEndServer(g, &logEndServer{w: w})
}

func appendResponse(res contract.AppendResult, err error) *pb.AppendResponse {
	return &pb.AppendResponse{Status: rpc.StatusOf(err), Id: uint64(res.ID), Ts: res.TS, SegmentId: res.SegmentID}
}

func (s *StreamingServer) AppendInsert(ctx context.Context, r *pb.AppendInsertRequest) (*pb.AppendResponse, error) {
	m, err := pb.ToMessage(r.GetMessage())
	if err != nil {
		return appendResponse(contract.AppendResult{}, fmt.Errorf("streaming: decode insert: %w", err)), nil
	}
	return appendResponse(s.w.AppendInsert(ctx, r.GetPchannel(), contract.Insert{CollectionID: r.GetCollectionId(), PartitionID: r.GetPartitionId(),
		VChannel: r.GetVchannel(), Rows: r.GetRows(), Bytes: r.GetBytes(), Message: m})), nil
}

func (s *StreamingServer) AppendDelete(ctx context.Context, r *pb.AppendDeleteRequest) (*pb.AppendResponse, error) {
	m, err := pb.ToMessage(r.GetMessage())
	if err != nil {
		return appendResponse(contract.AppendResult{}, fmt.Errorf("streaming: decode delete: %w", err)), nil
	}
	return appendResponse(s.w.AppendDelete(ctx, r.GetPchannel(), m)), nil
}

func (s *StreamingServer) Seal(ctx context.Context, r *pb.SealRequest) (*pb.SealResponse, error) {
	ids, ts, err := s.w.Seal(ctx, r.GetPchannel(), r.GetVchannel(), r.GetCollectionId())
	return &pb.SealResponse{Status: rpc.StatusOf(err), SegmentIds: ids, Ts: ts}, nil
}

func (s *StreamingServer) FlushAll(ctx context.Context, r *pb.FlushAllRequest) (*pb.AppendResponse, error) {
	vcs := make([]contract.VChannel, len(r.GetVchannels()))
	for i, vc := range r.GetVchannels() {
		vcs[i] = contract.VChannel{Name: vc.GetName(), CollectionID: vc.GetCollectionId()}
	}
	return appendResponse(s.w.FlushAll(ctx, r.GetPchannel(), vcs)), nil
}

func (s *StreamingServer) SyncTo(ctx context.Context, r *pb.SyncToRequest) (*pb.Empty, error) {
	return coordrpc.Empty(s.w.SyncTo(ctx, r.GetPchannel(), r.GetTs())), nil
}

// StreamingClient appends through a remote streaming node: the proxy's
// writer and the query node's syncer. With several streaming nodes each
// call goes to its pchannel's current writer (its route), and is retried
// while the pchannel changes hands: on a refusal ("channel misrouted", a
// writer whose session expired or that is not the one addressed) and on a
// writer that cannot be reached. A call that may have reached a writer
// that then failed is retried only if it is idempotent (SyncTo, Seal: a
// Seal logged twice is harmless), never an append, which could then be
// logged twice: its caller gets the error.
type StreamingClient struct {
	route    func(ctx context.Context, pchannel string) (grpc.ClientConnInterface, error)
	retryFor time.Duration
}

// NewStreamingClient calls the streaming node(s) behind conn.
func NewStreamingClient(conn grpc.ClientConnInterface) *StreamingClient {
	return NewRoutedStreamingClient(func(context.Context, string) (grpc.ClientConnInterface, error) { return conn, nil }, 0)
}

// NewRoutedStreamingClient calls, for each pchannel, the connection route
// returns (its writer's), retrying for up to retryFor as the type says.
// route fails with errs.ErrChannelNotAvailable while the pchannel has no
// writer and errs.ErrNodeNotFound while its writer has no live session.
func NewRoutedStreamingClient(route func(ctx context.Context, pchannel string) (grpc.ClientConnInterface, error), retryFor time.Duration) *StreamingClient {
	return &StreamingClient{route: route, retryFor: retryFor}
}

const streamingName = "streamingnode"

// do calls f on pchannel's writer, retrying as StreamingClient says.
func (c *StreamingClient) do(ctx context.Context, pchannel string, idempotent bool, f func(pb.StreamingNodeClient) error) error {
	return c.doConn(ctx, pchannel, idempotent, func(conn grpc.ClientConnInterface) error { return f(pb.NewStreamingNodeClient(conn)) })
}

// doConn is do for calls of other services the streaming node serves.
func (c *StreamingClient) doConn(ctx context.Context, pchannel string, idempotent bool, f func(grpc.ClientConnInterface) error) error {
	deadline := time.Now().Add(c.retryFor)
	delay := 20 * time.Millisecond
	for {
		conn, err := c.route(ctx, pchannel)
		if err == nil {
			err = f(conn)
		}
		if err == nil || !retryable(err, idempotent) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// retryable reports whether a failed streaming call may be sent again:
// it was refused or never sent, or it is idempotent.
func retryable(err error, idempotent bool) bool {
	switch {
	case errors.Is(err, errs.ErrChannelMisrouted), errors.Is(err, errs.ErrChannelNotAvailable),
		errors.Is(err, errs.ErrNodeNotMatch), errors.Is(err, errs.ErrNodeOffline), errors.Is(err, errs.ErrNodeNotFound):
		return true
	case errors.Is(err, errs.ErrServiceUnavailable):
		return idempotent || neverSent(err)
	}
	return false
}

// neverSent reports whether a transport failure happened before the
// request left: the connection could not be made.
func neverSent(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Error while dialing") || strings.Contains(s, "connection refused")
}

func toAppendResult(r *pb.AppendResponse) contract.AppendResult {
	return contract.AppendResult{ID: logbroker.MessageID(r.GetId()), TS: r.GetTs(), SegmentID: r.GetSegmentId()}
}

func (c *StreamingClient) AppendInsert(ctx context.Context, pchannel string, in contract.Insert) (contract.AppendResult, error) {
	m, err := pb.FromMessage(in.Message)
	if err != nil {
		return contract.AppendResult{}, fmt.Errorf("streaming: encode insert: %w", err)
	}
	req := &pb.AppendInsertRequest{Pchannel: pchannel, CollectionId: in.CollectionID, PartitionId: in.PartitionID,
		Vchannel: in.VChannel, Rows: in.Rows, Bytes: in.Bytes, Message: m}
	var res contract.AppendResult
	err = c.do(ctx, pchannel, false, func(sc pb.StreamingNodeClient) error {
		r, err := sc.AppendInsert(ctx, req)
		if err := coordrpc.Check(streamingName, r, err); err != nil {
			return err
		}
		res = toAppendResult(r)
		return nil
	})
	return res, err
}

func (c *StreamingClient) AppendDelete(ctx context.Context, pchannel string, m *msg.Message) (contract.AppendResult, error) {
	pm, err := pb.FromMessage(m)
	if err != nil {
		return contract.AppendResult{}, fmt.Errorf("streaming: encode delete: %w", err)
	}
	req := &pb.AppendDeleteRequest{Pchannel: pchannel, Message: pm}
	var res contract.AppendResult
	err = c.do(ctx, pchannel, false, func(sc pb.StreamingNodeClient) error {
		r, err := sc.AppendDelete(ctx, req)
		if err := coordrpc.Check(streamingName, r, err); err != nil {
			return err
		}
		res = toAppendResult(r)
		return nil
	})
	return res, err
}

func (c *StreamingClient) Seal(ctx context.Context, pchannel, vchannel string, collection int64) ([]int64, uint64, error) {
	var (
		ids []int64
		ts  uint64
	)
	err := c.do(ctx, pchannel, true, func(sc pb.StreamingNodeClient) error {
		r, err := sc.Seal(ctx, &pb.SealRequest{Pchannel: pchannel, Vchannel: vchannel, CollectionId: collection})
		if err := coordrpc.Check(streamingName, r, err); err != nil {
			return err
		}
		ids, ts = r.GetSegmentIds(), r.GetTs()
		return nil
	})
	return ids, ts, err
}

// FlushAll is idempotent as a Seal is: a FlushAll logged twice seals
// nothing more the second time.
func (c *StreamingClient) FlushAll(ctx context.Context, pchannel string, vchannels []contract.VChannel) (contract.AppendResult, error) {
	req := &pb.FlushAllRequest{Pchannel: pchannel, Vchannels: make([]*pb.FlushAllChannel, len(vchannels))}
	for i, vc := range vchannels {
		req.Vchannels[i] = &pb.FlushAllChannel{Name: vc.Name, CollectionId: vc.CollectionID}
	}
	var res contract.AppendResult
	err := c.do(ctx, pchannel, true, func(sc pb.StreamingNodeClient) error {
		r, err := sc.FlushAll(ctx, req)
		if err := coordrpc.Check(streamingName, r, err); err != nil {
			return err
		}
		res = toAppendResult(r)
		return nil
	})
	return res, err
}

func (c *StreamingClient) SyncTo(ctx context.Context, pchannel string, ts uint64) error {
	return c.do(ctx, pchannel, true, func(sc pb.StreamingNodeClient) error {
		r, err := sc.SyncTo(ctx, &pb.SyncToRequest{Pchannel: pchannel, Ts: ts})
		return coordrpc.Check(streamingName, r, err)
	})
}
