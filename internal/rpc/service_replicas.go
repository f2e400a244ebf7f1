package rpc

import (
	"context"
	"errors"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
)

// replicaSource describes a loaded collection's replicas (the query
// coordinator, or its client).
type replicaSource interface {
	Replicas(ctx context.Context, collectionID int64) ([]contract.Replica, error)
}

// WithReplicas serves GetReplicas from src.
func (s *Service) WithReplicas(src replicaSource) *Service {
	s.replicas = src
	return s
}

// GetReplicas lists a collection's replicas: their nodes and each shard's
// leader node and address. A collection that is not loaded has none.
func (s *Service) GetReplicas(ctx context.Context, req *milvuspb.GetReplicasRequest) (*milvuspb.GetReplicasResponse, error) {
	return reply(ctx, req, s.getReplicas, func() *milvuspb.GetReplicasResponse { return &milvuspb.GetReplicasResponse{} })
}

func (s *Service) getReplicas(ctx context.Context, req *milvuspb.GetReplicasRequest) (*milvuspb.GetReplicasResponse, error) {
	if s.replicas == nil {
		return nil, errs.ErrServiceUnimplemented
	}
	id := req.GetCollectionID()
	if req.GetCollectionName() != "" {
		d, err := s.p.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{DbName: req.GetDbName(), CollectionName: req.GetCollectionName()})
		if err != nil {
			return nil, err
		}
		id = d.GetCollectionID()
	}
	rs, err := s.replicas.Replicas(ctx, id)
	if errors.Is(err, errs.ErrCollectionNotLoaded) {
		return &milvuspb.GetReplicasResponse{Replicas: []*milvuspb.ReplicaInfo{}}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &milvuspb.GetReplicasResponse{Replicas: make([]*milvuspb.ReplicaInfo, 0, len(rs))}
	for _, r := range rs {
		ri := &milvuspb.ReplicaInfo{ReplicaID: r.ID, CollectionID: r.CollectionID, NodeIds: r.Nodes, ResourceGroupName: r.ResourceGroup,
			NumOutboundNode: map[string]int32{}}
		for _, sh := range r.Shards {
			sr := &milvuspb.ShardReplica{LeaderID: sh.NodeID, LeaderAddr: sh.Addr, DmChannelName: sh.VChannel}
			if req.GetWithShardNodes() && sh.NodeID != 0 {
				sr.NodeIds = []int64{sh.NodeID}
			}
			ri.ShardReplicas = append(ri.ShardReplicas, sr)
		}
		out.Replicas = append(out.Replicas, ri)
	}
	return out, nil
}
