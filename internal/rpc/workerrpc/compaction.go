package workerrpc

import (
	"context"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// Compact executes a compaction on the data node.
func (s *DataNodeServer) Compact(ctx context.Context, r *pb.CompactionTask) (*pb.CompactionResult, error) {
	t := contract.CompactionTask{PlanID: r.GetPlanId(), Collection: pb.ToCollection(r.GetCollection()),
		Segments: pb.ToSegments(r.GetSegments()), ExpireTS: r.GetExpireTs(), TargetID: r.GetTargetId(), CountOnly: r.GetCountOnly(),
		ClusteringField: r.GetClusteringField(), TargetIDs: r.GetTargetIds(), PreferRows: r.GetPreferRows(),
		NumClusters: r.GetNumClusters(), MinClusterRatio: r.GetMinClusterRatio(), AnalyzeFile: r.GetAnalyzeFile(), AnalyzeMappings: r.GetAnalyzeMappings()}
	for _, d := range r.GetDeltaLogs() {
		t.DeltaLogs = append(t.DeltaLogs, pb.ToDeltaLog(d))
	}
	res, err := s.node.Compact(ctx, t)
	seg := res.Segment
	out := &pb.CompactionResult{Status: rpc.StatusOf(err), PlanId: res.PlanID, SegmentId: seg.SegmentID, Deleted: res.Deleted,
		Expired: res.Expired, NumRows: seg.NumRows, Binlogs: seg.Binlogs, StatsLog: seg.StatsLog, FlushTs: seg.FlushTS,
		SizeBytes: seg.SizeBytes}
	for _, c := range res.Clustered {
		out.Clustered = append(out.Clustered, &pb.ClusteredSegment{SegmentId: c.SegmentID, NumRows: c.NumRows, Binlogs: c.Binlogs,
			StatsLog: c.StatsLog, FlushTs: c.FlushTS, SizeBytes: c.SizeBytes})
	}
	return out, nil
}

// Compact executes a compaction on a remote data node.
func (c *DataNodeClient) Compact(ctx context.Context, t contract.CompactionTask) (contract.CompactionResult, error) {
	r, err := c.c.Compact(ctx, &pb.CompactionTask{PlanId: t.PlanID, Collection: pb.FromCollection(t.Collection),
		Segments: pb.FromSegments(t.Segments), DeltaLogs: pb.FromDeltaLogs(t.DeltaLogs), ExpireTs: t.ExpireTS,
		TargetId: t.TargetID, CountOnly: t.CountOnly, ClusteringField: t.ClusteringField, TargetIds: t.TargetIDs,
		PreferRows: t.PreferRows, NumClusters: t.NumClusters, MinClusterRatio: t.MinClusterRatio, AnalyzeFile: t.AnalyzeFile, AnalyzeMappings: t.AnalyzeMappings})
	if err := coordrpc.Check("datanode", r, err); err != nil {
		return contract.CompactionResult{}, err
	}
	res := contract.CompactionResult{PlanID: r.GetPlanId(), Deleted: r.GetDeleted(), Expired: r.GetExpired(),
		Segment: contract.FlushResult{SegmentID: r.GetSegmentId(), NumRows: r.GetNumRows(), Binlogs: r.GetBinlogs(),
			StatsLog: r.GetStatsLog(), FlushTS: r.GetFlushTs(), SizeBytes: r.GetSizeBytes()}}
	for _, c := range r.GetClustered() {
		res.Clustered = append(res.Clustered, contract.FlushResult{SegmentID: c.GetSegmentId(), NumRows: c.GetNumRows(),
			Binlogs: c.GetBinlogs(), StatsLog: c.GetStatsLog(), FlushTS: c.GetFlushTs(), SizeBytes: c.GetSizeBytes()})
	}
	return res, nil
}
