package proxy

import (
	"context"
	"fmt"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/quota"
)

// ManualCompaction starts a compaction of a collection (by name, else by
// ID, as Milvus 2.6's proxy resolves it): every flushed segment with
// deleted or expired rows is rewritten without them, and small segments
// are merged. With MajorCompaction (the SDKs' IsClustering) it is a
// clustering compaction instead (docs/compaction.md). As in Milvus, a
// collection with nothing to compact answers compaction ID -1 and no plan.
func (s *Server) ManualCompaction(ctx context.Context, req *milvuspb.ManualCompactionRequest) (*milvuspb.ManualCompactionResponse, error) {
	var c *model.Collection
	var err error
	if req.GetCollectionName() != "" {
		c, err = s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	} else {
		c, err = s.d.Root.DescribeCollection(ctx, "", "", req.GetCollectionID())
	}
	if err != nil {
		return nil, err
	}
	if err := s.admit(ctx, quota.Compaction, c.DBName, c.ID, 1); err != nil {
		return nil, err
	}
	id, plans, err := s.d.Data.ManualCompaction(ctx, c.ID, req.GetMajorCompaction())
	if err != nil {
		return nil, err
	}
	return &milvuspb.ManualCompactionResponse{CompactionID: id, CompactionPlanCount: int32(plans)}, nil
}

// GetCompactionState reports a compaction job; an unknown job (also -1,
// a compaction with no plan) is Completed with no plan, as in Milvus.
func (s *Server) GetCompactionState(ctx context.Context, req *milvuspb.GetCompactionStateRequest) (*milvuspb.GetCompactionStateResponse, error) {
	job, err := s.compactionJob(ctx, req.GetCompactionID())
	if err != nil {
		return nil, err
	}
	executing, completed, failed := job.Counts()
	return &milvuspb.GetCompactionStateResponse{State: compactionState(job), ExecutingPlanNo: executing,
		CompletedPlanNo: completed, FailedPlanNo: failed}, nil
}

// GetCompactionStateWithPlans reports a compaction job with each plan's
// sources and target.
func (s *Server) GetCompactionStateWithPlans(ctx context.Context, req *milvuspb.GetCompactionPlansRequest) (*milvuspb.GetCompactionPlansResponse, error) {
	job, err := s.compactionJob(ctx, req.GetCompactionID())
	if err != nil {
		return nil, err
	}
	resp := &milvuspb.GetCompactionPlansResponse{State: compactionState(job)}
	for _, p := range job.Plans {
		resp.MergeInfos = append(resp.MergeInfos, &milvuspb.CompactionMergeInfo{Sources: p.Sources, Target: p.Target})
	}
	return resp, nil
}

func (s *Server) compactionJob(ctx context.Context, id int64) (contract.CompactionJob, error) {
	job, ok, err := s.d.Data.CompactionJob(ctx, id)
	if err != nil {
		return contract.CompactionJob{}, fmt.Errorf("compaction %d: %w", id, err)
	}
	if !ok {
		return contract.CompactionJob{ID: id}, nil
	}
	return job, nil
}

func compactionState(j contract.CompactionJob) commonpb.CompactionState {
	if j.Completed() {
		return commonpb.CompactionState_Completed
	}
	return commonpb.CompactionState_Executing
}

// ttlAltered hands a collection whose collection.ttl.seconds was set or
// dropped to the query nodes, which hide expired rows at read time.
func (s *Server) ttlAltered(ctx context.Context, c *model.Collection, req *milvuspb.AlterCollectionRequest) error {
	touched := slices.Contains(req.GetDeleteKeys(), collectionTTLKey)
	for _, kv := range req.GetProperties() {
		touched = touched || kv.GetKey() == collectionTTLKey
	}
	if !touched {
		return nil
	}
	next, err := s.d.Root.DescribeCollection(ctx, c.DBName, c.Name, 0)
	if err != nil {
		return err
	}
	return s.schemaChanged(ctx, next)
}
