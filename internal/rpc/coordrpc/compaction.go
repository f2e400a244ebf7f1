package coordrpc

import (
	"context"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// Compaction and garbage-collection calls of the data and index
// coordinators.

func (s *DataCoordServer) ManualCompaction(ctx context.Context, r *pb.ManualCompactionRequest) (*pb.ManualCompactionResponse, error) {
	id, plans, err := s.data.ManualCompaction(ctx, r.GetCollectionId(), r.GetClustering())
	return &pb.ManualCompactionResponse{Status: rpc.StatusOf(err), CompactionId: id, Plans: int64(plans)}, nil
}

func (s *DataCoordServer) CompactionJob(ctx context.Context, r *pb.CompactionJobRequest) (*pb.CompactionJobResponse, error) {
	job, ok, err := s.data.CompactionJob(ctx, r.GetCompactionId())
	resp := &pb.CompactionJobResponse{Status: rpc.StatusOf(err), Found: ok, Id: job.ID, CollectionId: job.CollectionID}
	if ok {
		resp.StartedUnixMs = job.Started.UnixMilli()
	}
	for _, p := range job.Plans {
		resp.Plans = append(resp.Plans, &pb.CompactionPlan{PlanId: p.PlanID, Sources: p.Sources, Target: p.Target,
			Done: p.Done, Failed: p.Failed, Reason: p.Reason})
	}
	return resp, nil
}

// ManualCompaction starts a compaction of a collection.
func (c *DataCoordClient) ManualCompaction(ctx context.Context, collectionID int64, clustering bool) (int64, int, error) {
	r, err := c.c.ManualCompaction(ctx, &pb.ManualCompactionRequest{CollectionId: collectionID, Clustering: clustering})
	if err := Check(dataName, r, err); err != nil {
		return 0, 0, err
	}
	return r.GetCompactionId(), int(r.GetPlans()), nil
}

// CompactionJob reports a compaction job.
func (c *DataCoordClient) CompactionJob(ctx context.Context, id int64) (contract.CompactionJob, bool, error) {
	r, err := c.c.CompactionJob(ctx, &pb.CompactionJobRequest{CompactionId: id})
	if err := Check(dataName, r, err); err != nil {
		return contract.CompactionJob{}, false, err
	}
	if !r.GetFound() {
		return contract.CompactionJob{}, false, nil
	}
	job := contract.CompactionJob{ID: r.GetId(), CollectionID: r.GetCollectionId(), Started: time.UnixMilli(r.GetStartedUnixMs())}
	for _, p := range r.GetPlans() {
		job.Plans = append(job.Plans, contract.CompactionPlan{PlanID: p.GetPlanId(), Sources: p.GetSources(), Target: p.GetTarget(),
			Done: p.GetDone(), Failed: p.GetFailed(), Reason: p.GetReason()})
	}
	return job, true, nil
}

func (s *IndexCoordServer) Builds(ctx context.Context, _ *pb.Empty) (*pb.SegmentIndexesResponse, error) {
	bs, err := s.index.Builds(ctx)
	return &pb.SegmentIndexesResponse{Status: rpc.StatusOf(err), Indexes: pb.FromSegmentIndexes(bs)}, nil
}

func (s *IndexCoordServer) DropSegmentIndexes(ctx context.Context, r *pb.SegmentIDsRequest) (*pb.Empty, error) {
	return Empty(s.index.DropSegmentIndexes(ctx, r.GetSegmentIds())), nil
}

// Builds lists every index build record (garbage collection).
func (c *IndexCoordClient) Builds(ctx context.Context) ([]model.SegmentIndex, error) {
	r, err := c.c.Builds(ctx, &pb.Empty{})
	if err := Check(indexName, r, err); err != nil {
		return nil, err
	}
	return pb.ToSegmentIndexes(r.GetIndexes()), nil
}

// DropSegmentIndexes forgets the builds of segments that are gone.
func (c *IndexCoordClient) DropSegmentIndexes(ctx context.Context, segmentIDs []int64) error {
	r, err := c.c.DropSegmentIndexes(ctx, &pb.SegmentIDsRequest{SegmentIds: segmentIDs})
	return Check(indexName, r, err)
}
