package coordrpc

import (
	"context"
	"time"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// DataCoordServer serves a datacoord.Server.
type DataCoordServer struct {
	pb.UnimplementedDataCoordServer
	data *datacoord.Server
}

// RegisterDataCoord serves data on g.
func RegisterDataCoord(g *grpc.Server, data *datacoord.Server) {
	pb.RegisterDataCoordServer(g, &DataCoordServer{data: data})
	pb.RegisterDataFaultsServer(g, &DataFaultsServer{data: data})
}

func (s *DataCoordServer) RowCount(ctx context.Context, r *pb.RowCountRequest) (*pb.CountResponse, error) {
	n, err := s.data.RowCount(ctx, r.GetCollectionId(), r.GetPartitionId())
	return &pb.CountResponse{Status: rpc.StatusOf(err), Count: n}, nil
}

func (s *DataCoordServer) Segments(ctx context.Context, r *pb.SegmentsRequest) (*pb.SegmentsResponse, error) {
	segs, err := s.data.Segments(ctx, r.GetCollectionId(), r.GetVchannel())
	return &pb.SegmentsResponse{Status: rpc.StatusOf(err), Segments: pb.FromSegments(segs)}, nil
}

// BinlogSizes answers every collection's binlog bytes by partition in one
// message (the quota center's sample).
func (s *DataCoordServer) BinlogSizes(ctx context.Context, _ *pb.Empty) (*pb.BinlogSizesResponse, error) {
	m, err := s.data.QuotaMetrics(ctx)
	if err != nil {
		return &pb.BinlogSizesResponse{Status: rpc.StatusOf(err)}, nil
	}
	out := &pb.BinlogSizesResponse{Status: rpc.StatusOf(nil), Collections: make(map[int64]*pb.PartitionSizes, len(m.PartitionsBinlogSize))}
	for coll, parts := range m.PartitionsBinlogSize {
		out.Collections[coll] = &pb.PartitionSizes{Partitions: parts}
	}
	return out, nil
}

func (s *DataCoordServer) Flushed(ctx context.Context, r *pb.SegmentIDsRequest) (*pb.BoolResponse, error) {
	ok, err := s.data.Flushed(ctx, r.GetSegmentIds())
	return &pb.BoolResponse{Status: rpc.StatusOf(err), Value: ok}, nil
}

func (s *DataCoordServer) GetCheckpoint(ctx context.Context, r *pb.ChannelRequest) (*pb.CheckpointResponse, error) {
	cp, err := s.data.GetCheckpoint(ctx, r.GetVchannel())
	return &pb.CheckpointResponse{Status: rpc.StatusOf(err), Checkpoint: pb.FromCheckpoint(cp)}, nil
}

func (s *DataCoordServer) UpdateCheckpoint(ctx context.Context, r *pb.UpdateCheckpointRequest) (*pb.Empty, error) {
	return Empty(s.data.UpdateCheckpoint(ctx, r.GetVchannel(), pb.ToCheckpoint(r.GetCheckpoint()))), nil
}

func (s *DataCoordServer) DeltaLogs(ctx context.Context, r *pb.ChannelRequest) (*pb.DeltaLogsResponse, error) {
	dls, err := s.data.DeltaLogs(ctx, r.GetVchannel())
	return &pb.DeltaLogsResponse{Status: rpc.StatusOf(err), DeltaLogs: pb.FromDeltaLogs(dls)}, nil
}

func (s *DataCoordServer) AddDeltaLog(ctx context.Context, r *pb.DeltaLog) (*pb.Empty, error) {
	return Empty(s.data.AddDeltaLog(ctx, pb.ToDeltaLog(r))), nil
}

func (s *DataCoordServer) Segment(ctx context.Context, r *pb.SegmentRequest) (*pb.SegmentResponse, error) {
	seg, ok, err := s.data.Segment(ctx, r.GetSegmentId())
	return &pb.SegmentResponse{Status: rpc.StatusOf(err), Segment: pb.FromSegment(seg), Found: ok}, nil
}

func (s *DataCoordServer) SegmentFlushed(ctx context.Context, r *pb.FlushResult) (*pb.Empty, error) {
	return Empty(s.data.SegmentFlushed(ctx, contract.FlushResult{SegmentID: r.GetSegmentId(), NumRows: r.GetNumRows(), Binlogs: r.GetBinlogs(),
		StatsLog: r.GetStatsLog(), FlushTS: r.GetFlushTs(), SizeBytes: r.GetSizeBytes(), Sorted: r.GetSorted()})), nil
}

func (s *DataCoordServer) NoteBufferedRows(ctx context.Context, r *pb.NoteRowsRequest) (*pb.Empty, error) {
	return Empty(s.data.NoteBufferedRows(ctx, r.GetSegmentId(), r.GetRows())), nil
}

func (s *DataCoordServer) SaveSyncManifest(ctx context.Context, r *pb.SyncManifestRequest) (*pb.Empty, error) {
	return Empty(s.data.SaveSyncManifest(ctx, r.GetSegmentId(), r.GetManifest())), nil
}

func (s *DataCoordServer) AssignSegment(ctx context.Context, r *pb.AssignSegmentRequest) (*pb.AssignSegmentResponse, error) {
	a, err := s.data.AssignSegment(ctx, r.GetCollectionId(), r.GetPartitionId(), r.GetVchannel(), r.GetRows(), r.GetBytes(), r.GetPosition())
	return &pb.AssignSegmentResponse{Status: rpc.StatusOf(err), SegmentId: a.SegmentID, Seal: a.Seal}, nil
}

func (s *DataCoordServer) SealChannel(ctx context.Context, r *pb.SealChannelRequest) (*pb.SegmentIDsResponse, error) {
	ids, err := s.data.SealChannel(ctx, r.GetCollectionId(), r.GetVchannel(), r.GetSealTs())
	return &pb.SegmentIDsResponse{Status: rpc.StatusOf(err), SegmentIds: ids}, nil
}

func (s *DataCoordServer) IdleChannels(ctx context.Context, r *pb.IdleChannelsRequest) (*pb.ChannelsResponse, error) {
	vcs, err := s.data.IdleChannels(ctx, time.Unix(0, r.GetNowUnixNano()))
	return &pb.ChannelsResponse{Status: rpc.StatusOf(err), Vchannels: vcs}, nil
}

func (s *DataCoordServer) SealedSegments(ctx context.Context, _ *pb.SealedSegmentsRequest) (*pb.SegmentsResponse, error) {
	segs, err := s.data.SealedSegments(ctx)
	return &pb.SegmentsResponse{Status: rpc.StatusOf(err), Segments: pb.FromSegments(segs)}, nil
}

func (s *DataCoordServer) DropCollection(ctx context.Context, r *pb.DropCollectionDataRequest) (*pb.Empty, error) {
	return Empty(s.data.DropCollection(ctx, pb.ToCollection(r.GetCollection()))), nil
}

func (s *DataCoordServer) DropPartition(ctx context.Context, r *pb.DropPartitionDataRequest) (*pb.Empty, error) {
	return Empty(s.data.DropPartition(ctx, r.GetCollectionId(), r.GetPartitionId())), nil
}

// DataCoordClient calls a remote data coordinator. It implements the
// dataCoord interfaces of the proxy, querycoord and datanode, indexcoord's
// segments, the channel writer's segments and retention's checkpoints.
type DataCoordClient struct {
	c pb.DataCoordClient
	f pb.DataFaultsClient // datafaults.go
}

// NewDataCoordClient calls the data coordinator over conn.
func NewDataCoordClient(conn grpc.ClientConnInterface) *DataCoordClient {
	return &DataCoordClient{c: pb.NewDataCoordClient(conn), f: pb.NewDataFaultsClient(conn)}
}

const dataName = "datacoord"

func (c *DataCoordClient) RowCount(ctx context.Context, collection, partition int64) (int64, error) {
	r, err := c.c.RowCount(ctx, &pb.RowCountRequest{CollectionId: collection, PartitionId: partition})
	if err := Check(dataName, r, err); err != nil {
		return 0, err
	}
	return r.GetCount(), nil
}

func (c *DataCoordClient) Segments(ctx context.Context, collection int64, vchannel string) ([]model.Segment, error) {
	r, err := c.c.Segments(ctx, &pb.SegmentsRequest{CollectionId: collection, Vchannel: vchannel})
	if err := Check(dataName, r, err); err != nil {
		return nil, err
	}
	return pb.ToSegments(r.GetSegments()), nil
}

// QuotaMetrics is every collection's binlog bytes by partition, in one
// call (datacoord.Server.QuotaMetrics).
func (c *DataCoordClient) QuotaMetrics(ctx context.Context) (*contract.DataCoordQuotaMetrics, error) {
	r, err := c.c.BinlogSizes(ctx, &pb.Empty{})
	if err := Check(dataName, r, err); err != nil {
		return nil, err
	}
	m := &contract.DataCoordQuotaMetrics{CollectionBinlogSize: make(map[int64]int64, len(r.GetCollections())),
		PartitionsBinlogSize: make(map[int64]map[int64]int64, len(r.GetCollections())), CollectionL0RowCount: map[int64]int64{}}
	for coll, parts := range r.GetCollections() {
		var n int64
		for _, b := range parts.GetPartitions() {
			n += b
		}
		p := parts.GetPartitions()
		if p == nil {
			p = map[int64]int64{}
		}
		m.PartitionsBinlogSize[coll], m.CollectionBinlogSize[coll] = p, n
		m.TotalBinlogSize += n
	}
	return m, nil
}

func (c *DataCoordClient) Flushed(ctx context.Context, ids []int64) (bool, error) {
	r, err := c.c.Flushed(ctx, &pb.SegmentIDsRequest{SegmentIds: ids})
	if err := Check(dataName, r, err); err != nil {
		return false, err
	}
	return r.GetValue(), nil
}

func (c *DataCoordClient) GetCheckpoint(ctx context.Context, vchannel string) (contract.Checkpoint, error) {
	r, err := c.c.GetCheckpoint(ctx, &pb.ChannelRequest{Vchannel: vchannel})
	if err := Check(dataName, r, err); err != nil {
		return contract.Checkpoint{}, err
	}
	return pb.ToCheckpoint(r.GetCheckpoint()), nil
}

func (c *DataCoordClient) UpdateCheckpoint(ctx context.Context, vchannel string, cp contract.Checkpoint) error {
	r, err := c.c.UpdateCheckpoint(ctx, &pb.UpdateCheckpointRequest{Vchannel: vchannel, Checkpoint: pb.FromCheckpoint(cp)})
	return Check(dataName, r, err)
}

func (c *DataCoordClient) DeltaLogs(ctx context.Context, vchannel string) ([]model.DeltaLog, error) {
	r, err := c.c.DeltaLogs(ctx, &pb.ChannelRequest{Vchannel: vchannel})
	if err := Check(dataName, r, err); err != nil {
		return nil, err
	}
	return pb.ToDeltaLogs(r.GetDeltaLogs()), nil
}

func (c *DataCoordClient) AddDeltaLog(ctx context.Context, dl model.DeltaLog) error {
	r, err := c.c.AddDeltaLog(ctx, pb.FromDeltaLog(dl))
	return Check(dataName, r, err)
}

func (c *DataCoordClient) Segment(ctx context.Context, id int64) (model.Segment, bool, error) {
	r, err := c.c.Segment(ctx, &pb.SegmentRequest{SegmentId: id})
	if err := Check(dataName, r, err); err != nil {
		return model.Segment{}, false, err
	}
	if !r.GetFound() {
		return model.Segment{}, false, nil
	}
	return pb.ToSegment(r.GetSegment()), true, nil
}

func (c *DataCoordClient) SegmentFlushed(ctx context.Context, f contract.FlushResult) error {
	r, err := c.c.SegmentFlushed(ctx, &pb.FlushResult{SegmentId: f.SegmentID, NumRows: f.NumRows, Binlogs: f.Binlogs, StatsLog: f.StatsLog,
		FlushTs: f.FlushTS, SizeBytes: f.SizeBytes, Sorted: f.Sorted})
	return Check(dataName, r, err)
}

func (c *DataCoordClient) NoteBufferedRows(ctx context.Context, segmentID, rows int64) error {
	r, err := c.c.NoteBufferedRows(ctx, &pb.NoteRowsRequest{SegmentId: segmentID, Rows: rows})
	return Check(dataName, r, err)
}

func (c *DataCoordClient) SaveSyncManifest(ctx context.Context, segmentID int64, manifest string) error {
	r, err := c.c.SaveSyncManifest(ctx, &pb.SyncManifestRequest{SegmentId: segmentID, Manifest: manifest})
	return Check(dataName, r, err)
}

func (c *DataCoordClient) AssignSegment(ctx context.Context, collection, partition int64, vchannel string, rows, bytes int64, position uint64) (contract.Assignment, error) {
	r, err := c.c.AssignSegment(ctx, &pb.AssignSegmentRequest{CollectionId: collection, PartitionId: partition, Vchannel: vchannel, Rows: rows, Bytes: bytes, Position: position})
	if err := Check(dataName, r, err); err != nil {
		return contract.Assignment{}, err
	}
	return contract.Assignment{SegmentID: r.GetSegmentId(), Seal: r.GetSeal()}, nil
}

func (c *DataCoordClient) SealChannel(ctx context.Context, collection int64, vchannel string, sealTS uint64) ([]int64, error) {
	r, err := c.c.SealChannel(ctx, &pb.SealChannelRequest{CollectionId: collection, Vchannel: vchannel, SealTs: sealTS})
	if err := Check(dataName, r, err); err != nil {
		return nil, err
	}
	return r.GetSegmentIds(), nil
}

func (c *DataCoordClient) IdleChannels(ctx context.Context, now time.Time) ([]string, error) {
	r, err := c.c.IdleChannels(ctx, &pb.IdleChannelsRequest{NowUnixNano: now.UnixNano()})
	if err := Check(dataName, r, err); err != nil {
		return nil, err
	}
	return r.GetVchannels(), nil
}

func (c *DataCoordClient) SealedSegments(ctx context.Context) ([]model.Segment, error) {
	r, err := c.c.SealedSegments(ctx, &pb.SealedSegmentsRequest{})
	if err := Check(dataName, r, err); err != nil {
		return nil, err
	}
	return pb.ToSegments(r.GetSegments()), nil
}

// DropCollection marks a dropped collection's segments dropped.
func (c *DataCoordClient) DropCollection(ctx context.Context, coll *model.Collection) error {
	r, err := c.c.DropCollection(ctx, &pb.DropCollectionDataRequest{Collection: pb.FromCollection(coll)})
	return Check(dataName, r, err)
}

// DropPartition marks a dropped partition's segments dropped.
func (c *DataCoordClient) DropPartition(ctx context.Context, collection, partition int64) error {
	r, err := c.c.DropPartition(ctx, &pb.DropPartitionDataRequest{CollectionId: collection, PartitionId: partition})
	return Check(dataName, r, err)
}
