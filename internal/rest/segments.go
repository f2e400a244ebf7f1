package rest

import (
	"context"

	"github.com/milvus-io/milvus/pkg/v2/proto/internalpb"
)

type segmentsInfoReq struct {
	DbName       string  `json:"dbName"`
	CollectionID int64   `json:"collectionID"`
	SegmentIDs   []int64 `json:"segmentIDs"`
}

// segmentsDescribe is Milvus 2.6's segments/describe: the proxy's
// GetSegmentsInfo, answered as {"segmentInfos": [...]} with Milvus's keys
// (state and level as their enum numbers, as Milvus's JSON encoding gives).
func (h *Handler) segmentsDescribe(ctx context.Context, c *call) (any, error) {
	var r segmentsInfoReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	resp, err := h.p.GetSegmentsInfo(ctx, &internalpb.GetSegmentsInfoRequest{DbName: r.DbName, CollectionID: r.CollectionID, SegmentIDs: r.SegmentIDs})
	if err != nil {
		return nil, err
	}
	logs := func(bls []*internalpb.FieldBinlog) []any {
		out := make([]any, 0, len(bls))
		for _, b := range bls {
			out = append(out, map[string]any{"fieldID": b.GetFieldID(), "logIDs": b.GetLogIDs()})
		}
		return out
	}
	infos := make([]map[string]any, 0, len(resp.GetSegmentInfos()))
	for _, s := range resp.GetSegmentInfos() {
		infos = append(infos, map[string]any{
			"segmentID": s.GetSegmentID(), "collectionID": s.GetCollectionID(), "partitionID": s.GetPartitionID(),
			"vChannel": s.GetVChannel(), "numRows": s.GetNumRows(), "state": int32(s.GetState()), "level": int32(s.GetLevel()),
			"isSorted": s.GetIsSorted(), "insertLogs": logs(s.GetInsertLogs()), "deltaLogs": logs(s.GetDeltaLogs()),
			"statsLogs": logs(s.GetStatsLogs()),
		})
	}
	return map[string]any{"segmentInfos": infos}, nil
}
