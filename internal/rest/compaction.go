package rest

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// compactionRoutes are Milvus 2.6's compaction endpoints.
func (h *Handler) compactionRoutes() map[string]endpoint {
	return map[string]endpoint{
		"/collections/compact":              h.compact,
		"/collections/get_compaction_state": h.compactionState,
	}
}

type compactReq struct {
	CollectionName string `json:"collectionName"`
	IsClustering   bool   `json:"isClustering"`
}

// compact answers {"compactionID": id}, as Milvus's REST v2;
// "isClustering" asks for a clustering compaction.
func (h *Handler) compact(ctx context.Context, c *call) (any, error) {
	var r compactReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	resp, err := h.p.ManualCompaction(ctx, &milvuspb.ManualCompactionRequest{DbName: c.db, CollectionName: r.CollectionName,
		MajorCompaction: r.IsClustering})
	if err != nil {
		return nil, err
	}
	return map[string]any{"compactionID": resp.GetCompactionID()}, nil
}

type compactionStateReq struct {
	JobID int64 `json:"jobID"`
}

// compactionState answers Milvus's REST v2 fields for GetCompactionState.
func (h *Handler) compactionState(ctx context.Context, c *call) (any, error) {
	var r compactionStateReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	resp, err := h.p.GetCompactionState(ctx, &milvuspb.GetCompactionStateRequest{CompactionID: r.JobID})
	if err != nil {
		return nil, err
	}
	return map[string]any{"compactionID": r.JobID, "state": resp.GetState().String(), "executingPlanNumber": resp.GetExecutingPlanNo(),
		"timeoutPlanNumber": resp.GetTimeoutPlanNo(), "completedPlanNumber": resp.GetCompletedPlanNo()}, nil
}
