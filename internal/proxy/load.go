package proxy

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/quota"
)

// LoadCollection makes a collection searchable; loading continues in the
// background (GetLoadingProgress / GetLoadState report it).
func (s *Server) LoadCollection(ctx context.Context, req *milvuspb.LoadCollectionRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLCollection, c.DBName, c.ID, 1); err != nil {
		return err
	}
	if req.GetRefresh() {
		return s.refreshLoad(ctx, c)
	}
	if err := checkLoadFields(c.Schema, req.GetLoadFields(), req.GetSkipLoadDynamicField()); err != nil {
		return err
	}
	replicas, rgs := s.loadConfig(ctx, c, req.GetReplicaNumber(), req.GetResourceGroups())
	return s.d.Query.LoadCollection(ctx, c, nil, replicas, rgs...)
}

// ReleaseCollection stops serving a collection.
func (s *Server) ReleaseCollection(ctx context.Context, req *milvuspb.ReleaseCollectionRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLCollection, c.DBName, c.ID, 1); err != nil {
		return err
	}
	return s.d.Query.ReleaseCollection(ctx, c.ID)
}

// LoadPartitions makes some partitions searchable.
func (s *Server) LoadPartitions(ctx context.Context, req *milvuspb.LoadPartitionsRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLPartition, c.DBName, c.ID, 1); err != nil {
		return err
	}
	if hasPartitionKey(c.Schema) { // Milvus 2.6 loadPartitionsTask.PreExecute: errors.New
		return errPlain("disable load partitions if partition key mode is used")
	}
	if len(req.GetPartitionNames()) == 0 { // Milvus 2.6 loadPartitionsTask.Execute (task.go:2663): errors.New
		return errPlain("failed to load partition, due to no partition specified")
	}
	ids, err := partitionIDs(c, req.GetPartitionNames())
	if err != nil {
		return err
	}
	if req.GetRefresh() {
		return s.refreshLoad(ctx, c)
	}
	if err := checkLoadFields(c.Schema, req.GetLoadFields(), req.GetSkipLoadDynamicField()); err != nil {
		return err
	}
	replicas, rgs := s.loadConfig(ctx, c, req.GetReplicaNumber(), req.GetResourceGroups())
	return s.d.Query.LoadCollection(ctx, c, ids, replicas, rgs...)
}

// ReleasePartitions stops serving some partitions.
func (s *Server) ReleasePartitions(ctx context.Context, req *milvuspb.ReleasePartitionsRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLPartition, c.DBName, c.ID, 1); err != nil {
		return err
	}
	if hasPartitionKey(c.Schema) { // Milvus 2.6 releasePartitionsTask.PreExecute: errors.New
		return errPlain("disable release partitions if partition key mode is used")
	}
	ids, err := partitionIDs(c, req.GetPartitionNames())
	if err != nil {
		return err
	}
	return s.d.Query.ReleasePartitions(ctx, c, ids)
}

// GetLoadingProgress reports how far a load is.
func (s *Server) GetLoadingProgress(ctx context.Context, req *milvuspb.GetLoadingProgressRequest) (*milvuspb.GetLoadingProgressResponse, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	ids, err := partitionIDs(c, req.GetPartitionNames())
	if err != nil {
		return nil, err
	}
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	// Milvus asks the query coordinator about the partitions named, not
	// the collection: ShowLoadPartitions answers the first one not loaded
	// (querycoordv2/services.go:156-172), even when none is.
	for _, id := range ids {
		if len(req.GetPartitionNames()) > 0 && (!st.Loaded || st.Partitions != nil && !containsID(st.Partitions, id)) {
			return nil, errs.PartitionNotLoaded(id)
		}
	}
	if !st.Loaded {
		return nil, errs.CollectionNotLoaded(c.Name)
	}
	if st.Failure != nil {
		// A segment cannot load (corrupt or missing file): say why rather
		// than report a progress that never moves.
		return nil, st.Failure
	}
	return &milvuspb.GetLoadingProgressResponse{Progress: st.Progress, RefreshProgress: st.Progress}, nil
}

// GetLoadState reports whether a collection is loaded.
func (s *Server) GetLoadState(ctx context.Context, req *milvuspb.GetLoadStateRequest) (*milvuspb.GetLoadStateResponse, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	ids, err := partitionIDs(c, req.GetPartitionNames())
	if err != nil {
		return nil, err
	}
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	state := commonpb.LoadState_LoadStateNotLoad
	if st.Loaded {
		state = commonpb.LoadState_LoadStateLoading
		if st.Progress >= 100 {
			state = commonpb.LoadState_LoadStateLoaded
		}
		for _, id := range ids {
			if st.Partitions != nil && !containsID(st.Partitions, id) {
				state = commonpb.LoadState_LoadStateNotLoad
			}
		}
		if state == commonpb.LoadState_LoadStateLoading && st.Failure != nil {
			return nil, st.Failure
		}
	}
	return &milvuspb.GetLoadStateResponse{State: state}, nil
}
